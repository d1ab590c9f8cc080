"""RGZ / ClaRAN labels measured on an image: components, peaks, class and box.

The simulator labels its cutouts with these rules, and ``Detector`` classifies each detected source with
them (``classify_boxes``): the network finds and groups a source, the contours count its parts.

- noise sigma = MAD / 0.6745 over the image (ClaRAN); contours at ``level_sigma`` (5) x sigma, each level x sqrt 2;
- a component is an island (8-connected pixels) above the lowest contour; islands whose bounding-box diagonal
  is under 8/301 of the image width are dropped, as RGZ's make_contours.py does (noise specks);
- peaks = leaves of the contour tree: closed contours that enclose no higher contour (what RGZ volunteers saw
  as separate peaks); classes cap peaks at 3 and need 1..3 components;
- box = union of the source's islands' bounding boxes (pixel i covers [i, i+1)), made square about its centre
  as ClaRAN's boxes are (median w/h 0.94-0.98 per class in claran_gt_boxes.txt, most exactly square).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from catalogs.noise import mad_sigma
from rgz import RGZ_CLASSES

__all__ = ["LabelRules", "Islands", "noise_sigma", "find_islands", "count_peaks", "class_id", "source_box",
           "classify_boxes"]

_EIGHT = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True, kw_only=True)
class LabelRules:
    # lowest contour in units of the MAD noise: 5, ClaRAN's D3 contours (REFERENCE.md); see docs/NOTES.md for
    # 4 vs 5 on real RGZ labels
    level_sigma: float = 5.0
    level_factor: float = 2.0**0.5  # contour spacing; peaks are the contour tree's leaves (NOTES: sqrt 2 vs 2)
    n_levels: int = 28  # up to 5 x 2^13.5 sigma
    min_diag_fraction: float = 8.0 / 301.0  # RGZ make_contours.py THRESHOLD / image width
    square_boxes: bool = True


def noise_sigma(image: np.ndarray) -> float:
    """MAD / 0.6745 over the finite pixels (ClaRAN's noise estimate)."""
    return mad_sigma(image)


@dataclass
class Islands:
    labels: np.ndarray  # int32 (H, W): 0 = below the lowest contour, k = island k
    slices: list  # bounding slices per island (index k-1)
    levels: np.ndarray
    sigma: float

    @property
    def count(self) -> int:
        return len(self.slices)


def find_islands(image: np.ndarray, rules: LabelRules = LabelRules(), sigma: float | None = None, *,
                 min_diag: float | None = None) -> Islands:
    """Islands above the lowest contour. Specks whose bounding-box diagonal is under ``min_diag`` pixels are
    dropped (default: ``rules.min_diag_fraction`` of the image width, RGZ's rule for a 3' cutout)."""
    sigma = noise_sigma(image) if sigma is None else sigma
    levels = sigma * rules.level_sigma * rules.level_factor ** np.arange(rules.n_levels)
    img = np.nan_to_num(image, nan=-np.inf)
    lab, n = ndimage.label(img >= levels[0], structure=_EIGHT)
    slices = ndimage.find_objects(lab)
    min_diag = rules.min_diag_fraction * image.shape[1] if min_diag is None else min_diag
    keep = [k + 1 for k, s in enumerate(slices)
            if np.hypot(s[0].stop - s[0].start, s[1].stop - s[1].start) > min_diag]
    remap = np.zeros(n + 1, dtype=np.int32)
    remap[keep] = np.arange(1, len(keep) + 1)
    lab = remap[lab]
    return Islands(lab, [slices[k - 1] for k in keep], levels, sigma)


def count_peaks(image: np.ndarray, mask: np.ndarray, levels: np.ndarray) -> int:
    """Leaves of the contour tree inside ``mask``: at each level, the regions with nothing above the next level."""
    img = np.where(mask, np.nan_to_num(image, nan=-np.inf), -np.inf)
    leaves = 0
    for k in range(len(levels)):
        above = img >= levels[k]
        if not above.any():
            break
        lab, n = ndimage.label(above, structure=_EIGHT)
        if k + 1 < len(levels):
            has_child = ndimage.maximum(img >= levels[k + 1], lab, index=np.arange(1, n + 1))
            leaves += int(n - np.count_nonzero(has_child))
        else:
            leaves += n
    return leaves


def class_id(n_components: int, n_peaks: int) -> int | None:
    """RGZ class id 1..6 for XC_YP (peaks capped at 3), or None when no class fits (0 or > 3 components)."""
    if not 1 <= n_components <= 3:
        return None
    name = f"{n_components}C_{max(n_components, min(n_peaks, 3))}P"
    return RGZ_CLASSES.index(name) + 1


def source_box(islands: Islands, ids: list[int], shape: tuple[int, int], square: bool = True) -> np.ndarray:
    """x1, y1, x2, y2 (detector convention) of the union of islands ``ids`` (1-based), optionally squared."""
    s = [islands.slices[i - 1] for i in ids]
    x1, x2 = min(t[1].start for t in s), max(t[1].stop for t in s)
    y1, y2 = min(t[0].start for t in s), max(t[0].stop for t in s)
    box = np.array([x1, y1, x2, y2], dtype=np.float64)
    if square:
        side = max(x2 - x1, y2 - y1)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        box = np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2])
        box[[0, 2]] = np.clip(box[[0, 2]], 0, shape[1])
        box[[1, 3]] = np.clip(box[[1, 3]], 0, shape[0])
    return box


def classify_boxes(image: np.ndarray, boxes: np.ndarray, rules: LabelRules = LabelRules(), *,
                   min_inside: float = 0.5, pad: float = 1.0, pixel_scale_arcsec: float | None = None
                   ) -> list[int | None]:
    """RGZ class id (1..6) of each box by RGZ's rule, or None where the rule gives none.

    ``boxes`` are x1, y1, x2, y2 in the detector convention (pixel i covers [i, i+1)) of ``image``. A box owns
    the islands (above the lowest contour) with more than ``min_inside`` of their pixels inside it, grown by
    ``pad`` pixels; its class is XC_YP from their number and their peaks. None: no island (a source fainter
    than the lowest contour) or more than 3. With ``pixel_scale_arcsec``, noise specks are judged on the sky
    (RGZ's threshold on its 3' cutouts: a diagonal under 8/301 of 180") instead of by the image width, so a
    large mosaic keeps its small islands.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not len(boxes):
        return []
    min_diag = None if not pixel_scale_arcsec else rules.min_diag_fraction * 180.0 / pixel_scale_arcsec
    isl = find_islands(image, rules, min_diag=min_diag)
    sizes = np.bincount(isl.labels.ravel(), minlength=isl.count + 1)
    h, w = isl.labels.shape
    out: list[int | None] = []
    for x1, y1, x2, y2 in boxes:
        r0, r1 = max(0, int(np.floor(y1 - pad))), min(h, int(np.ceil(y2 + pad)))
        c0, c1 = max(0, int(np.floor(x1 - pad))), min(w, int(np.ceil(x2 + pad)))
        u, n = np.unique(isl.labels[r0:r1, c0:c1], return_counts=True)
        ids = [int(i) for i, k in zip(u, n, strict=True) if i and k > min_inside * sizes[i]]
        if not ids:
            out.append(None)
            continue
        s = [isl.slices[i - 1] for i in ids]  # peaks are counted on the islands' own window, not the image
        win = (slice(min(t[0].start for t in s), max(t[0].stop for t in s)),
               slice(min(t[1].start for t in s), max(t[1].stop for t in s)))
        mask = np.isin(isl.labels[win], ids)
        out.append(class_id(len(ids), count_peaks(image[win], mask, isl.levels)))
    return out
