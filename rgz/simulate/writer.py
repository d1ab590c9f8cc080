"""Write simulated cutouts in the RGZ dataset layout (docs/ARCHITECTURE.md): radio/*.fits, ir/*.fits,
annotations.json (COCO, category ids 1..6, boxes in the radio file's pixels, continuous convention)."""

from __future__ import annotations

import json
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from claran.errors import UserError
from claran.fileio import atomic_write
from rgz import RGZ_CLASSES

from ..surveys import get_survey
from .ir import WISE_MAGZP, WISE_PIXEL_SCALE, simulate_ir
from .noise import RealBackgrounds
from .real import RealSources
from .sky import BALANCED_CLASS_WEIGHTS, RANDOMISED, Field, SimConfig, simulate_field

__all__ = ["radio_header", "ir_header", "write_dataset", "prepare_outdir"]


def _celestial(ra: float, dec: float, size: int, pixel_scale: float) -> WCS:
    """SIN, north up, east left, the cutout centre at (ra, dec)."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    w.wcs.crval = [ra, dec]
    w.wcs.crpix = [(size + 1) / 2, (size + 1) / 2]  # FITS 1-based: the centre of the array
    w.wcs.cdelt = [-pixel_scale / 3600.0, pixel_scale / 3600.0]
    w.wcs.cunit = ["deg", "deg"]
    w.wcs.radesys = "FK5"
    w.wcs.equinox = 2000.0
    return w


def radio_header(field: Field, cfg: SimConfig, name: str) -> fits.Header:
    """A header like the FIRST cutout server's: 2-D data with FREQ/STOKES axis cards, BMAJ/BMIN/BPA, JY/BEAM
    (frequency, bandwidth and telescope those of ``cfg.survey``)."""
    survey = get_survey(cfg.survey)
    h = fits.Header()
    h["BUNIT"] = ("JY/BEAM", "")
    h["BTYPE"] = "Intensity"
    h.update(_celestial(field.ra, field.dec, cfg.size, cfg.pixel_scale).to_header())
    for k, v, c in (("CTYPE3", "FREQ", ""), ("CRVAL3", survey.frequency_hz, "Hz"),
                    ("CDELT3", survey.bandwidth_hz, "Hz"),
                    ("CRPIX3", 1.0, ""), ("CUNIT3", "Hz", ""), ("CTYPE4", "STOKES", ""), ("CRVAL4", 1.0, ""),
                    ("CDELT4", 1.0, ""), ("CRPIX4", 1.0, "")):
        h[k] = (v, c)
    h["RESTFRQ"] = (survey.frequency_hz, "[Hz] observing frequency")
    h["BMAJ"] = (field.beam.bmaj / 3600.0, "Beam major axis (deg)")
    h["BMIN"] = (field.beam.bmin / 3600.0, "Beam minor axis (deg)")
    h["BPA"] = (field.beam.bpa, "Beam position angle (deg)")
    h["TELESCOP"] = survey.telescope
    h["OBJECT"] = name
    h["SIMRMS"] = (field.rms, "[Jy/beam] simulated noise rms")
    h["SIMKIND"] = (field.kind, "target morphology")
    h["SIMREAL"] = (field.real_background, "noise is a real FIRST background")
    h["CREATOR"] = f"claran simulate ({survey.name.upper()}-like simulated sky)"
    return h


def ir_header(field: Field, size: int) -> fits.Header:
    h = _celestial(field.ra, field.dec, size, WISE_PIXEL_SCALE).to_header()
    h["BUNIT"] = "DN"
    h["MAGZP"] = (WISE_MAGZP, "W1 zero point: mag = MAGZP - 2.5 log10(DN)")
    h["TELESCOP"] = "WISE"
    h["BAND"] = "W1"
    h["CREATOR"] = "claran simulate (WISE W1-like)"
    return h


def _atomic_fits(path: Path, data: np.ndarray, header: fits.Header) -> None:
    atomic_write(path, lambda tmp: fits.PrimaryHDU(data=data, header=header).writeto(tmp, overwrite=True))


def _atomic_json(path: Path, obj) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(obj)))


def prepare_outdir(outdir: str | Path, *, overwrite: bool, ir: bool) -> Path:
    """Create OUTDIR/radio (and ir); refuse a non-empty OUTDIR unless ``overwrite`` (then remove only our files)."""
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise UserError(f"OUTDIR {out}: exists and is not a folder; give a folder path")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise UserError(f"OUTDIR {out}: not empty; use --overwrite or give an empty folder")
        for sub in ("radio", "ir"):
            for p in (out / sub).glob("*.fits") if (out / sub).is_dir() else []:
                p.unlink()
        (out / "annotations.json").unlink(missing_ok=True)
    try:
        (out / "radio").mkdir(parents=True, exist_ok=True)
        if ir:
            (out / "ir").mkdir(exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out / "radio", prefix=".probe", delete=True)
        probe.close()
    except OSError as e:
        raise UserError(f"OUTDIR {out}: cannot write there ({e.strerror or e}); choose a writable folder") from e
    return out


_BG_CACHE: dict = {}


def _pool(spec: tuple | None, cfg: SimConfig) -> RealBackgrounds | RealSources | None:
    """The real-sky pool ``spec`` = (kind, folder, excluded names) names, loaded once per process."""
    if spec is None:
        return None
    if spec not in _BG_CACHE:
        kind, folder, exclude = spec
        _BG_CACHE[spec] = (RealBackgrounds(folder, exclude=frozenset(exclude), pixel_scale=cfg.pixel_scale)
                           if kind == "backgrounds" else
                           RealSources(folder, exclude=frozenset(exclude), pixel_scale=cfg.pixel_scale, rules=cfg.rules))
    return _BG_CACHE[spec]


def coco_annotation(label: dict, image_id: int) -> dict:
    """A label of ``rgz.simulate.sky.label_source`` (with its ``target`` flag) as a COCO annotation (no id)."""
    x1, y1, x2, y2 = (float(v) for v in label["box"])
    return {"image_id": image_id, "category_id": label["category_id"], "bbox": [x1, y1, x2 - x1, y2 - y1],
            "area": (x2 - x1) * (y2 - y1), "iscrowd": 0, "n_components": label["n_components"],
            "n_peaks": label["n_peaks"], "component_peaks": label["peaks"], "target": label["target"]}


def _one(args) -> tuple[int, dict, list[dict]]:
    """Simulate and write cutout ``index`` (its own seed, so results do not depend on the worker count)."""
    index, seed, out, cfg, with_ir, bg_spec, real_spec = args
    bg, real = _pool(bg_spec, cfg), _pool(real_spec, cfg)
    rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
    field = simulate_field(rng, cfg, bg, real)
    name = f"sim{seed}_{index:06d}"
    out = Path(out)
    _atomic_fits(out / "radio" / f"{name}.fits", field.image, radio_header(field, cfg, name))
    image = {"id": index + 1, "file_name": f"radio/{name}.fits", "width": cfg.size, "height": cfg.size,
             "ra": field.ra, "dec": field.dec, "rms": field.rms}
    if with_ir:
        n_ir = int(round(cfg.size * cfg.pixel_scale / WISE_PIXEL_SCALE))
        scale = cfg.pixel_scale / WISE_PIXEL_SCALE  # both grids share their centre
        hosts = [((x - (cfg.size - 1) / 2) * scale + (n_ir - 1) / 2, (y - (cfg.size - 1) / 2) * scale + (n_ir - 1) / 2,
                  t) for x, y, t in field.hosts]
        _atomic_fits(out / "ir" / f"{name}.fits", simulate_ir(rng, n_ir, hosts), ir_header(field, n_ir))
        image["ir_file"] = f"ir/{name}.fits"
    return index, image, [coco_annotation(lab, index + 1) for lab in field.labels]


def write_dataset(outdir: str | Path, *, count: int, seed: int, cfg: SimConfig = SimConfig(), ir: bool = False,
                  backgrounds: str | Path | None = None, exclude_backgrounds: tuple[str, ...] = (),
                  overwrite: bool = False, workers: int = 1, progress: bool = False, class_balance: bool = False,
                  randomise: bool = False, real_sources: str | Path | None = None,
                  exclude_real: tuple[str, ...] = ()) -> Path:
    """Simulate ``count`` cutouts with ``seed`` into ``outdir``; returns the annotations.json path.

    ``class_balance`` draws target classes from BALANCED_CLASS_WEIGHTS instead of ``cfg.class_weights``;
    ``randomise`` applies the stronger domain randomisation of RANDOMISED on top of ``cfg``. ``real_sources``
    (a mirabest-fields folder) makes ``cfg.real_source_fraction`` of the targets real FIRST galaxies, leaving
    out the fields named in ``exclude_real``.
    """
    if count < 1:
        raise UserError(f"--count {count}: must be at least 1")
    if class_balance:
        cfg = replace(cfg, class_weights=BALANCED_CLASS_WEIGHTS)
    if randomise:
        cfg = replace(cfg, **RANDOMISED)
    bg_spec = None if backgrounds is None else ("backgrounds", str(backgrounds), tuple(sorted(exclude_backgrounds)))
    real_spec = None if real_sources is None else ("real", str(real_sources), tuple(sorted(exclude_real)))
    _pool(bg_spec, cfg), _pool(real_spec, cfg)  # load (and validate) before writing anything
    out = prepare_outdir(outdir, overwrite=overwrite, ir=ir)
    jobs = [(i, seed, str(out), cfg, ir, bg_spec, real_spec) for i in range(count)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as ex:
            results = list(ex.map(_one, jobs, chunksize=16))
    else:
        results = []
        it = jobs
        if progress:
            from tqdm import tqdm

            it = tqdm(jobs, desc="simulate", unit="img")
        results = [_one(j) for j in it]
    images, anns = [], []
    for _, image, a in sorted(results, key=lambda r: r[0]):
        images.append(image)
        anns.extend(a)
    for k, a in enumerate(anns):
        a["id"] = k + 1
    coco = {"info": {"description": "claran simulate: FIRST-like sky with RGZ labels", "seed": seed,
                     "config": {k: v for k, v in asdict(cfg).items()}},
            "images": images, "annotations": anns,
            "categories": [{"id": i + 1, "name": n} for i, n in enumerate(RGZ_CLASSES)]}
    path = out / "annotations.json"
    _atomic_json(path, coco)
    return path
