"""Detections with sky coordinates -> an astropy Table with units, UCDs and descriptions."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from astropy.table import Column as TableColumn
from astropy.table import Table
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales

from .measure import beam_area_pixels, infrared_peaks, measure_box
from .naming import iau_name
from .noise import box_px_for, rms_at, rms_map
from .schema import RGZ_CLASS_NAMES, columns

__all__ = ["ImageDetections", "build_catalog", "empty_catalog"]

_XC_YP = re.compile(r"^(\d+)C_(\d+)P$")


@dataclass
class ImageDetections:
    """The detections in one input image.

    ``boxes`` are ``x_min, y_min, x_max, y_max`` in the image's astropy pixel convention (0-based, pixel
    centres at integers; convert detector boxes with ``rgz.coords.detector_to_astropy``). ``class_scores``
    holds one probability per object class (N x K, in ``class_names`` order); ``labels`` are class names.
    """

    image: str
    data: np.ndarray
    wcs: WCS
    boxes: np.ndarray
    labels: Sequence[str]
    scores: np.ndarray
    class_scores: np.ndarray | None = None
    beam: tuple[float, float] | None = None  # BMAJ, BMIN FWHM in degrees
    ir_data: np.ndarray | None = None
    ir_wcs: WCS | None = None
    rms: np.ndarray | None = None  # local background rms map (image shape); default catalogs.noise.rms_map


def empty_catalog(class_names: Sequence[str] = RGZ_CLASS_NAMES) -> Table:
    """A catalogue with every column and no rows."""
    return _assemble({c.name: [] for c in columns(tuple(class_names))}, class_names)


def build_catalog(images: Iterable[ImageDetections], *, class_names: Sequence[str] = RGZ_CLASS_NAMES) -> Table:
    """One row per detection, measured on its image. Rows keep the input order (image, then score)."""
    class_names = tuple(class_names)
    rows: dict[str, list] = {c.name: [] for c in columns(class_names)}
    for det in images:
        n = len(det.boxes)
        if n == 0:
            continue
        rms_img = det.rms if det.rms is not None else local_rms(det.data, det.wcs, det.beam)
        bpix = beam_area_pixels(det.wcs, det.beam)
        ir_peaks = infrared_peaks(det.ir_data, det.ir_wcs) if det.ir_data is not None else None
        probs = det.class_scores if det.class_scores is not None else np.full((n, len(class_names)), np.nan)
        for i in range(n):
            box = np.asarray(det.boxes[i], dtype=np.float64)
            rms = rms_at(rms_img, 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3]))  # the local noise at the source
            m = measure_box(det.data, det.wcs, box, rms=rms, beam_pixels=bpix)
            label = str(det.labels[i])
            k = _XC_YP.match(label)
            ir_ra, ir_dec = _ir_host(ir_peaks, det.wcs, box, m.ra, m.dec) if ir_peaks is not None else (math.nan,) * 2
            rows["name"].append(iau_name(m.ra, m.dec))
            rows["ra"].append(m.ra)
            rows["dec"].append(m.dec)
            rows["ra_box"].append(m.ra_box)
            rows["dec_box"].append(m.dec_box)
            rows["morphology"].append(label)
            rows["score"].append(float(det.scores[i]))
            for j, c in enumerate(class_names):
                rows[f"score_{c}"].append(float(probs[i, j]))
            rows["n_components"].append(int(k.group(1)) if k else -1)
            rows["n_peaks"].append(int(k.group(2)) if k else -1)
            rows["image"].append(det.image)
            for key, v in zip(("x_min", "y_min", "x_max", "y_max"), box):
                rows[key].append(float(v))
            rows["size"].append(m.size_arcsec)
            rows["peak_flux"].append(m.peak_flux)
            rows["int_flux"].append(m.int_flux)
            rows["rms"].append(rms)
            rows["ir_ra"].append(ir_ra)
            rows["ir_dec"].append(ir_dec)
    return _assemble(rows, class_names)


def local_rms(data: np.ndarray, wcs: WCS, beam: tuple[float, float] | None = None) -> np.ndarray:
    """The catalogue's background rms map of an image (window from its pixel scale and beam in degrees)."""
    scale = float(np.mean(proj_plane_pixel_scales(wcs)[:2])) * 3600.0
    return rms_map(data, box_px=box_px_for(scale, beam[0] * 3600.0 if beam else None))


def _ir_host(peaks: np.ndarray, wcs: WCS, box: np.ndarray, ra: float, dec: float) -> tuple[float, float]:
    """The infrared peak inside the box nearest the radio centroid (small-angle distance is enough here)."""
    if not len(peaks):
        return math.nan, math.nan
    x, y = wcs.world_to_pixel_values(peaks[:, 0], peaks[:, 1])
    inside = (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])
    if not inside.any():
        return math.nan, math.nan
    cand = peaks[inside]
    d2 = (((cand[:, 0] - ra + 180.0) % 360.0 - 180.0) * math.cos(math.radians(dec))) ** 2 + (cand[:, 1] - dec) ** 2
    best = cand[int(np.argmin(d2))]
    return float(best[0]), float(best[1])


def _assemble(rows: dict[str, list], class_names: Sequence[str]) -> Table:
    t = Table()
    for c in columns(tuple(class_names)):
        values = rows[c.name]
        if c.dtype is str:
            data = np.array(values, dtype=f"U{max([len(v) for v in values] + [1])}")
        else:
            data = np.array(values, dtype=c.dtype)
        col = TableColumn(data, name=c.name, unit=c.unit, description=c.description, format=c.format)
        col.meta["ucd"] = c.ucd
        t.add_column(col)
    t.meta["description"] = "claran radio source catalogue: one row per detected radio source"
    return t
