"""Detections with sky coordinates -> the source table and the component table (astropy Tables with units,
UCDs and descriptions), linked by ``source_id`` (``meta.id.parent`` in the components, as Selavy does)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from astropy.table import Column as TableColumn
from astropy.table import Table
from astropy.wcs import WCS

from .measure import (
    beam_area_pixels,
    deconvolve,
    flux_errors,
    infrared_peaks,
    measure_box,
    measure_pixels,
    position_error,
)
from .naming import iau_name
from .noise import box_px_for, rms_at, rms_map
from .schema import FLAGS, ClassScheme, Column, columns, component_columns
from .sky import icrs_to_pixel, pixel_scale_arcsec

__all__ = ["ImageDetections", "build_catalog", "build_tables", "empty_catalog", "empty_components", "local_rms",
           "renumber"]


@dataclass
class ImageDetections:
    """The detections in one input image, and what the detector knows about them.

    ``boxes`` are ``x_min, y_min, x_max, y_max`` in the image's astropy pixel convention (0-based, pixel
    centres at integers; convert detector boxes with ``rgz.coords.detector_to_astropy``). ``class_scores``
    holds one probability per class (N x K, in the scheme's order); ``labels`` are class names.
    ``islands`` (int label image, 0 = no emission) and ``components`` (per detection, the island labels it
    owns) give the component table; ``n_components``/``n_peaks`` are what the class says (-1: nothing);
    ``flags`` maps ``blended``/``out_of_domain`` (and optionally ``edge``/``low_snr``) to one bool per row.
    """

    image: str
    data: np.ndarray
    wcs: WCS
    boxes: np.ndarray
    labels: Sequence[str]
    scores: np.ndarray
    class_scores: np.ndarray | None = None
    beam: tuple[float, ...] | None = None  # BMAJ, BMIN FWHM (and BPA) in degrees
    ir_data: np.ndarray | None = None
    ir_wcs: WCS | None = None
    rms: np.ndarray | None = None  # local background rms map (image shape); default catalogs.noise.rms_map
    n_components: Sequence[int] | None = None
    n_peaks: Sequence[int] | None = None
    islands: np.ndarray | None = None
    components: Sequence[Sequence[int]] | None = None
    flags: Mapping[str, Sequence[bool]] | None = None
    low_snr: float = 5.0  # peak/rms under this sets flag_low_snr (the lowest contour the classes use)
    clean_bias: float = 0.0  # Jy/beam, in the position errors' S/N (FIRST: 0.25 mJy)
    survey: str = ""
    frequency_hz: float = math.nan


def local_rms(data: np.ndarray, wcs: WCS, beam: tuple[float, ...] | None = None) -> np.ndarray:
    """The catalogue's background rms map of an image (window from its pixel scale and beam in degrees)."""
    return rms_map(data, box_px=box_px_for(pixel_scale_arcsec(wcs), beam[0] * 3600.0 if beam else None))


def empty_catalog(scheme: ClassScheme | Sequence[str] = ClassScheme()) -> Table:
    """A source table with every column and no rows."""
    return _assemble({c.name: [] for c in columns(_scheme(scheme))}, columns(_scheme(scheme)))


def empty_components() -> Table:
    return _assemble({c.name: [] for c in component_columns()}, component_columns(), kind="components")


def build_catalog(images: Iterable[ImageDetections], *, scheme: ClassScheme | Sequence[str] = ClassScheme()) -> Table:
    """The source table: one row per detection, measured on its image, in input order (image, then score)."""
    return build_tables(images, scheme=scheme)[0]


def build_tables(images: Iterable[ImageDetections], *, scheme: ClassScheme | Sequence[str] = ClassScheme()
                 ) -> tuple[Table, Table]:
    """The source table and the component table (``source_id`` numbers rows from 1 in input order)."""
    scheme = _scheme(scheme)
    cols = columns(scheme)
    rows: dict[str, list] = {c.name: [] for c in cols}
    comp: dict[str, list] = {c.name: [] for c in component_columns()}
    metas = []
    for det in images:
        metas.append(det)
        if len(det.boxes):
            _add_image(det, scheme, rows, comp)
    t = _assemble(rows, cols)
    c = _assemble(comp, component_columns(), kind="components")
    _image_meta(t, metas)
    return t, c


def _scheme(s: ClassScheme | Sequence[str]) -> ClassScheme:
    return s if isinstance(s, ClassScheme) else ClassScheme(names=tuple(s))


def _add_image(det: ImageDetections, scheme: ClassScheme, rows: dict[str, list], comp: dict[str, list]) -> None:
    n = len(det.boxes)
    k = len(scheme.names)
    rms_img = det.rms if det.rms is not None else local_rms(det.data, det.wcs, det.beam)
    bpix = beam_area_pixels(det.wcs, det.beam)
    beam_arcsec = det.beam[0] * 3600.0 if det.beam else math.nan
    ir_peaks = infrared_peaks(det.ir_data, det.ir_wcs) if det.ir_data is not None else None
    probs = det.class_scores if det.class_scores is not None else np.full((n, k), np.nan)
    flags = {f: np.zeros(n, bool) for f in FLAGS}
    for key, vals in (det.flags or {}).items():
        flags["flag_" + key.removeprefix("flag_")] = np.asarray(vals, bool).reshape(n)
    edge_given, snr_given = "edge" in (det.flags or {}), "low_snr" in (det.flags or {})
    for i in range(n):
        sid = len(rows["source_id"]) + 1
        box = np.asarray(det.boxes[i], dtype=np.float64)
        rms = rms_at(rms_img, 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3]))  # the local noise at the source
        m = measure_box(det.data, det.wcs, box, rms=rms, beam_pixels=bpix)
        dmaj, dmin = deconvolve(m.maj, m.min, m.pa, det.beam)
        perr = position_error(m.peak_flux, rms, dmaj, beam_arcsec, det.clean_bias)
        pe, te = flux_errors(m.peak_flux, m.int_flux, rms, m.n_pix, bpix)
        ir_ra, ir_dec = _ir_host(ir_peaks, det.wcs, box, m.ra, m.dec) if ir_peaks is not None else (math.nan,) * 2
        ids = list(det.components[i]) if det.components is not None else None
        vals = {
            "source_id": sid, "name": iau_name(m.ra, m.dec), "ra": m.ra, "dec": m.dec, "ra_err": perr,
            "dec_err": perr, "ra_box": m.ra_box, "dec_box": m.dec_box, "morphology": str(det.labels[i]),
            "score": float(det.scores[i]),
            "n_components": int(det.n_components[i]) if det.n_components is not None else -1,
            "n_peaks": int(det.n_peaks[i]) if det.n_peaks is not None else -1,
            "n_islands": len(ids) if ids is not None else -1, "image": det.image,
            "x_min": box[0], "y_min": box[1], "x_max": box[2], "y_max": box[3], "size": m.size_arcsec,
            "maj_axis": m.maj, "min_axis": m.min, "pos_ang": m.pa, "maj_axis_deconv": dmaj, "min_axis_deconv": dmin,
            "peak_flux": m.peak_flux, "peak_flux_err": pe, "int_flux": m.int_flux, "int_flux_err": te, "rms": rms,
            "ir_ra": ir_ra, "ir_dec": ir_dec,
        }
        for j, c in enumerate(scheme.names):
            vals[f"score_{c}"] = float(probs[i, j])
        if not edge_given:
            flags["flag_edge"][i] = _touches_edge(det.data, box)
        if not snr_given:
            flags["flag_low_snr"][i] = not (m.peak_flux >= det.low_snr * rms)
        for f in FLAGS:
            vals[f] = bool(flags[f][i])
        for key, v in vals.items():
            rows[key].append(v)
        for lab in ids or []:
            _add_component(det, int(lab), sid, vals["name"], rms_img, bpix, beam_arcsec, comp)


def _add_component(det: ImageDetections, lab: int, sid: int, name: str, rms_img: np.ndarray, bpix: float,
                   beam_arcsec: float, comp: dict[str, list]) -> None:
    from scipy import ndimage

    sl = ndimage.find_objects((det.islands == lab).astype(np.int8))
    if not sl or sl[0] is None:
        return
    window = sl[0]
    mask = det.islands[window] == lab
    yc = 0.5 * (window[0].start + window[0].stop - 1)
    xc = 0.5 * (window[1].start + window[1].stop - 1)
    rms = rms_at(rms_img, xc, yc)
    m = measure_pixels(det.data, det.wcs, window, mask, rms=rms, beam_pixels=bpix)
    dmaj, dmin = deconvolve(m.maj, m.min, m.pa, det.beam)
    perr = position_error(m.peak_flux, rms, dmaj, beam_arcsec, det.clean_bias)
    pe, te = flux_errors(m.peak_flux, m.int_flux, rms, m.n_pix, bpix)
    vals = {"component_id": len(comp["component_id"]) + 1, "source_id": sid, "source_name": name, "ra": m.ra,
            "dec": m.dec, "ra_err": perr, "dec_err": perr, "x_peak": m.x_peak, "y_peak": m.y_peak,
            "n_pixels": int(mask.sum()), "maj_axis": m.maj, "min_axis": m.min, "pos_ang": m.pa,
            "maj_axis_deconv": dmaj, "min_axis_deconv": dmin, "peak_flux": m.peak_flux, "peak_flux_err": pe,
            "int_flux": m.int_flux, "int_flux_err": te, "rms": rms, "image": det.image}
    for key, v in vals.items():
        comp[key].append(v)


def _touches_edge(data: np.ndarray, box: np.ndarray) -> bool:
    """The box reaches within a pixel of the image edge, or holds blank pixels."""
    h, w = data.shape
    if box[0] < 0.5 or box[1] < 0.5 or box[2] > w - 1.5 or box[3] > h - 1.5:
        return True
    r0, r1 = max(0, math.ceil(box[1])), min(h, math.floor(box[3]) + 1)
    c0, c1 = max(0, math.ceil(box[0])), min(w, math.floor(box[2]) + 1)
    return bool(r1 > r0 and c1 > c0 and not np.isfinite(data[r0:r1, c0:c1]).all())


def _ir_host(peaks: np.ndarray, wcs: WCS, box: np.ndarray, ra: float, dec: float) -> tuple[float, float]:
    """The infrared peak inside the box nearest the radio centroid (small-angle distance is enough here)."""
    if not len(peaks):
        return math.nan, math.nan
    x, y = icrs_to_pixel(wcs, peaks[:, 0], peaks[:, 1])
    inside = (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])
    if not inside.any():
        return math.nan, math.nan
    cand = peaks[inside]
    d2 = (((cand[:, 0] - ra + 180.0) % 360.0 - 180.0) * math.cos(math.radians(dec))) ** 2 + (cand[:, 1] - dec) ** 2
    best = cand[int(np.argmin(d2))]
    return float(best[0]), float(best[1])


def _image_meta(t: Table, images: list[ImageDetections]) -> None:
    """Survey, frequency and beam in the table metadata: one value where the images agree, else the sorted list of
    the different values (the ``image`` column's rows say which is which through the image headers)."""
    def one(values: list) -> object:
        uniq = sorted({v for v in values if v not in ("", None) and not (isinstance(v, float) and math.isnan(v))})
        if len(uniq) > 1 and all(isinstance(v, str) for v in uniq):
            return "; ".join(uniq)
        return uniq[0] if len(uniq) == 1 else (uniq or None)  # a list where the images differ

    meta = {
        "SURVEY": one([d.survey for d in images]),
        "FREQ": one([float(d.frequency_hz) for d in images]),
        "BMAJ": one([round(d.beam[0] * 3600.0, 3) if d.beam else None for d in images]),
        "BMIN": one([round(d.beam[1] * 3600.0, 3) if d.beam else None for d in images]),
        "BPA": one([round(float(d.beam[2]), 2) if d.beam and len(d.beam) > 2 else None for d in images]),
    }
    t.meta.update({k: v for k, v in meta.items() if v is not None})


def _assemble(rows: dict[str, list], cols: list[Column], kind: str = "sources") -> Table:
    t = Table()
    for c in cols:
        values = rows[c.name]
        if c.dtype is str:
            data = np.array(values, dtype=f"U{max([len(v) for v in values] + [1])}")
        else:
            data = np.array(values, dtype=c.dtype)
        col = TableColumn(data, name=c.name, unit=c.unit, description=c.description, format=c.format)
        col.meta["ucd"] = c.ucd
        t.add_column(col)
    t.meta["description"] = ("claran radio source catalogue: one row per detected radio source" if kind == "sources"
                             else "claran radio components: one row per island of a source (source_id links them)")
    return t


def renumber(sources: Table, components: Table) -> None:
    """Number sources 1..N in row order, and their components' ``source_id`` with them (after a vstack of
    partial catalogues, whose numbers restart in each part). Components must keep their parts' order."""
    if not len(sources):
        return
    old = np.asarray(sources["source_id"])
    new = np.arange(1, len(sources) + 1, dtype=old.dtype)
    if len(components):
        # each part numbered from 1: map (image, old id) -> new id
        key = {(str(im), int(o)): int(n) for im, o, n in zip(sources["image"], old, new, strict=True)}
        components["source_id"] = [key.get((str(im), int(o)), -1)
                                   for im, o in zip(components["image"], components["source_id"], strict=True)]
        components["component_id"] = np.arange(1, len(components) + 1, dtype=np.int32)
    sources["source_id"] = new
