"""RGZ DR1 builder (``claran data rgz``): ClaRAN's labels + the user's FIRST (and WISE) FITS -> the RGZ layout.

ClaRAN's box file gives, per image, ``x1,y1,x2,y2,cls`` with 1-based inclusive corners in the 132 x 132 PNG
frame (1.3748"/px, north up, east left, row 0 = north) and cls 0..5. A PNG box covers the continuous frame
range ``[x1 - 1, x2]`` in x and, flipped to FITS order (row 0 = south), ``[S - y2, S - y1 + 1]`` in y. The
frame is centred on the FITS cutout's centre (the cutout server centres it on the FIRST position), and the
box goes frame -> sky -> the FITS file's pixels through the WCS. Checked against rgz-real-dev/truth.json:
within 0.3 px (tests/test_rgz_builder.py).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import shutil
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from claran.errors import UserError
from claran.fileio import atomic_write

from . import FRAME_PIXEL_SCALE, FRAME_SIZE, RGZ_CLASSES
from .coords import detector_to_astropy
from .fits_io import FitsInputError, read_infrared, read_radio
from .frame import FrameSpec, frame_wcs, transform_boxes

__all__ = ["read_claran_boxes", "read_catalogue", "png_boxes_to_frame", "build_rgz", "BuildReport", "find_image"]

logger = logging.getLogger("claran")

_ID_RE = re.compile(r"(FIRSTJ\d{6}(?:\.\d+)?[+-]\d{6}(?:\.\d+)?)")


def read_claran_boxes(path: str | os.PathLike) -> tuple[dict[str, list[tuple[int, int, int, int, int]]], int]:
    """``claran_gt_boxes.txt`` -> {first_id: [(x1, y1, x2, y2, cls), ...]} and the number of bad lines."""
    out: dict[str, list[tuple[int, int, int, int, int]]] = {}
    bad = 0
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read the box file ({type(e).__name__}); give ClaRAN's claran_gt_boxes.txt") from None
    for line in lines:
        parts = line.split()
        if not parts:
            continue
        m = _ID_RE.search(Path(parts[0]).name)
        try:
            if m is None:
                raise ValueError
            boxes = []
            for p in parts[1:]:
                x1, y1, x2, y2, c = (int(float(v)) for v in p.split(","))
                if not (0 <= c < len(RGZ_CLASSES)) or x2 < x1 or y2 < y1:
                    raise ValueError
                boxes.append((x1, y1, x2, y2, c))
        except ValueError:
            bad += 1
            continue
        out.setdefault(m.group(1), []).extend(boxes)
    if not out:
        raise UserError(f"{path}: no line in ClaRAN's box format '<path>/<FIRST id>_logminmax.png x1,y1,x2,y2,cls ...'")
    return out, bad


def read_catalogue(path: str | os.PathLike) -> dict[str, dict]:
    """``rgz_dr1_claran_catalogue.csv`` -> {first_id: row} (first row wins for repeated ids)."""
    need = {"first_id", "num_cpnts", "num_peaks", "training"}
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = need - set(reader.fieldnames or [])
            if missing:
                raise UserError(f"{path}: catalogue lacks column(s) {', '.join(sorted(missing))}; "
                                "give ClaRAN's rgz_dr1_claran_catalogue.csv")
            rows: dict[str, dict] = {}
            for r in reader:
                rows.setdefault(r["first_id"].strip(), r)
    except OSError as e:
        raise UserError(f"{path}: cannot read the catalogue ({e.strerror or e})") from None
    except (csv.Error, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not a CSV catalogue ({type(e).__name__})") from None
    return rows


def png_boxes_to_frame(boxes: np.ndarray, size: int = FRAME_SIZE) -> np.ndarray:
    """ClaRAN PNG boxes (1-based inclusive, row 0 = north) -> frame detector boxes in FITS order."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.stack([b[:, 0] - 1, size - b[:, 3], b[:, 2], size - b[:, 1] + 1], axis=1)


_RADIO_NAMES = ("{id}.fits", "{id}.fits.gz", "{id}.fit", "{id}_radio.fits", "{id}_first.fits", "radio/{id}.fits")
_IR_NAMES = ("{id}_w1.fits", "{id}_ir.fits", "{id}_wise.fits", "{id}_infrared.fits", "ir/{id}.fits",
             "{id}_w1.fits.gz")


def find_image(folder: Path, first_id: str, *, ir: bool = False) -> Path | None:
    for pattern in _IR_NAMES if ir else _RADIO_NAMES:
        p = folder / pattern.format(id=first_id)
        if p.is_file():
            return p
    return None


@dataclass
class BuildReport:
    images: int = 0
    boxes: int = 0
    ir: int = 0
    missing: list[str] = field(default_factory=list)
    fetched: int = 0
    unreadable: list[str] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        lines = [f"wrote {self.images} images ({self.ir} with IR) and {self.boxes} boxes"]
        if self.fetched:
            lines.append(f"fetched {self.fetched} missing cutouts")
        if self.missing:
            lines.append(f"{len(self.missing)} images missing from --images (e.g. {', '.join(self.missing[:3])}); "
                         "give their FIRST cutouts (<FIRST id>.fits) or use --fetch")
        if self.unreadable:
            lines.append(f"{len(self.unreadable)} unreadable FITS skipped (e.g. {self.unreadable[0]})")
        for k, v in sorted(self.skipped.items()):
            lines.append(f"{v} {k}")
        return "\n".join(lines)


def _copy_atomic(src: Path, dst: Path) -> None:
    atomic_write(dst, lambda tmp: shutil.copyfile(src, tmp))


def build_rgz(*, catalogue: str | os.PathLike, boxes: str | os.PathLike, images: str | os.PathLike,
              out: str | os.PathLike, fetch: bool = False, cache: str | os.PathLike | None = None,
              ids: list[str] | None = None, spec: FrameSpec = FrameSpec(FRAME_SIZE, FRAME_PIXEL_SCALE),
              progress: bool = False) -> BuildReport:
    """Write ``out/radio/*.fits``, ``out/ir/*.fits`` and ``out/annotations.json`` (see ARCHITECTURE.md).

    Every image of the box file (restricted to ``ids`` if given) whose FITS is in ``images`` is converted;
    the rest are counted as missing (and fetched into ``cache`` first when ``fetch``).
    """
    images, out = Path(images), Path(out)
    if not images.is_dir():
        raise UserError(f"--images {images}: no such folder")
    cat = read_catalogue(catalogue)
    box_map, bad_lines = read_claran_boxes(boxes)
    report = BuildReport()
    if bad_lines:
        report.skipped["malformed lines in the box file"] += bad_lines
    wanted = list(box_map) if ids is None else [i for i in ids if i in box_map]
    (out / "radio").mkdir(parents=True, exist_ok=True)
    fetcher = None
    if fetch:
        from .fetch import CutoutFetcher

        fetcher = CutoutFetcher(cache or Path.home() / ".cache" / "claran" / "rgz-fits")
    img_entries, ann_entries = [], []
    iterator = wanted
    if progress:
        from tqdm import tqdm

        iterator = tqdm(wanted, desc="rgz", dynamic_ncols=True, disable=None)  # None: off when not a terminal
    for first_id in iterator:
        src = find_image(images, first_id)
        ir_src = find_image(images, first_id, ir=True)
        if src is None and fetcher is not None:
            src, ir_fetched = fetcher.fetch(first_id)
            ir_src = ir_src or ir_fetched
            report.fetched += src is not None
        if src is None:
            report.missing.append(first_id)
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                radio = read_radio(src)
        except FitsInputError as e:
            report.unreadable.append(str(e))
            continue
        png = np.array([b[:4] for b in box_map[first_id]], np.float64)
        fb = png_boxes_to_frame(png, spec.size)
        ib = transform_boxes(fb, frame_wcs(radio.center, spec), radio.wcs)
        h, w = radio.shape
        img_id = len(img_entries) + 1
        entry = {"id": img_id, "file_name": f"radio/{first_id}.fits", "width": w, "height": h, "first_id": first_id}
        row = cat.get(first_id)
        if row is not None and str(row.get("training", "")).strip() in ("0", "1"):
            entry["split"] = "train" if str(row["training"]).strip() == "1" else "test"
        else:
            report.skipped["images not in the catalogue (no split; a deterministic fraction validates)"] += 1
        if ir_src is not None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    read_infrared(ir_src)
                (out / "ir").mkdir(exist_ok=True)
                _copy_atomic(ir_src, out / "ir" / f"{first_id}.fits")
                entry["ir_file"] = f"ir/{first_id}.fits"
                report.ir += 1
            except FitsInputError as e:
                report.unreadable.append(str(e))
        n_in = 0
        for (x1, y1, x2, y2), (*_, c) in zip(ib.tolist(), box_map[first_id]):
            # clip to the file (a frame is 181.5" and a FIRST cutout 180": edges may poke out by < 1 px)
            cx1, cy1, cx2, cy2 = max(x1, 0.0), max(y1, 0.0), min(x2, float(w)), min(y2, float(h))
            if cx2 - cx1 < 1 or cy2 - cy1 < 1:
                report.skipped["boxes outside their FITS image"] += 1
                continue
            ncomp, npk = int(RGZ_CLASSES[c][0]), int(RGZ_CLASSES[c][3])
            ann_entries.append({
                "id": len(ann_entries) + 1, "image_id": img_id, "category_id": c + 1,
                "bbox": [round(cx1, 4), round(cy1, 4), round(cx2 - cx1, 4), round(cy2 - cy1, 4)],
                "area": round((cx2 - cx1) * (cy2 - cy1), 4), "iscrowd": 0, "n_components": ncomp, "n_peaks": npk,
            })
            n_in += 1
        _copy_atomic(src, out / "radio" / f"{first_id}.fits")
        img_entries.append(entry)
        report.images += 1
        report.boxes += n_in
    if not img_entries:
        raise UserError(f"--images {images}: none of the {len(wanted)} labelled images was found "
                        f"(expected files like {wanted[0] if wanted else 'FIRSTJ000224.9+120548'}.fits)")
    doc = {"info": {"description": "RGZ DR1 (ClaRAN labels) built by `claran data rgz`",
                    "box_convention": "bbox [x, y, w, h] in the radio file's pixels, pixel i covers [i, i+1), "
                                      "row 0 = first row of the FITS data array"},
           "images": img_entries, "annotations": ann_entries,
           "categories": [{"id": i + 1, "name": n} for i, n in enumerate(RGZ_CLASSES)]}
    atomic_write(out / "annotations.json", lambda tmp: Path(tmp).write_text(json.dumps(doc)))
    return report


def box_astropy_corners(bbox_xywh: list[float]) -> np.ndarray:
    """A layout bbox -> astropy-convention corners [x_min, y_min, x_max, y_max] (as truth.json uses)."""
    x, y, w, h = bbox_xywh
    return detector_to_astropy(np.array([x, y, x + w, y + h]))
