"""RGZ / ClaRAN labels measured on an image: components, peaks, class and box.

The simulator labels its cutouts with these rules, and ``Detector`` classifies each detected source with
them (``classify_boxes``): the network finds and groups a source, the contours count its parts.

- noise sigma = MAD / 0.6745 over the image (ClaRAN); contours at 3 sqrt 3 sigma, each level x sqrt 3 (RGZ's);
- a component is an island above the lowest contour, joined as RGZ's CONREC lines join pixels (diagonal
  neighbours only through a cell whose centre is above the level); islands whose bounding-box diagonal
  is under 8/301 of the image width are dropped, as RGZ's make_contours.py does (noise specks);
- peaks = leaves of the contour tree: closed contours that enclose no higher contour (what RGZ volunteers saw
  as separate peaks); classes cap peaks at 3 and need 1..3 components;
- box = union of the source's islands' contour boxes (pixel i covers [i, i+1); the line interpolated between
  pixel centres), made square about its centre as ClaRAN's boxes are (median w/h 0.94-0.98 per class in
  claran_gt_boxes.txt), with a side of at least the longest island diagonal (``LabelRules.box_side``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from catalogs.noise import mad_sigma
from rgz import RGZ_CLASSES

__all__ = ["LabelRules", "Islands", "Source", "noise_sigma", "find_islands", "count_peaks", "class_id", "source_box",
           "contour_extent", "classify_boxes", "assign_sources", "owned_islands", "speck_diag", "marginal_classes",
           "group_class", "label_above"]

_EIGHT = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True, kw_only=True)
class LabelRules:
    # RGZ's own contour ladder (make_radio_zoo_images.py: 3 sigma x sqrt 3, then x sqrt 3 per level; 13 levels
    # as make_contours.py draws them), noise = MAD sigma. Chosen over ClaRAN's 5 sigma x 2 and the previous
    # 5 sigma x sqrt 2 on 151 RGZ DR1 sources in mirabest-fields (167 with every source of each RGZ subject: the same
    # choice; benchmarks/contour_rule.py, docs/NOTES.md)
    level_sigma: float = 3.0 * 3.0**0.5
    level_factor: float = 3.0**0.5
    n_levels: int = 13
    # noise specks: islands whose contour-box diagonal is at most this fraction of a 3' cutout's width are dropped
    # (4.8"). RGZ's make_contours.py reads THRESHOLD * (width / 301) with THRESHOLD = 8, which Python 2 (its
    # language) evaluates as 0 for RGZ's 132 px images: RGZ dropped nothing, and DR1 counts 1-3 px cores as
    # components. Without the cut the rule agrees with RGZ's DR1 classes more (0.907 vs 0.887 on 151 sources), but
    # in the detector a box then owns the noise specks volunteers ignored, which costs as much as it gains
    # (docs/NOTES.md, issue 12 sessions 7 and 9), so the cut stays
    min_diag_fraction: float = 8.0 / 301.0
    # which pixels above the lowest contour are one island (one RGZ component): "conrec", as RGZ's CONREC lines
    # close them (edge neighbours, and diagonal neighbours only where their cell's centre, the mean of its four
    # pixels, is above the level too), or "eight" (any 8-connected neighbours). On 167 DR1 sources "conrec" agrees
    # with RGZ's components 0.964 against 0.958 (issue 12 session 11: two RGZ doubles joined by one diagonal pixel
    # pair). Peaks stay 8-connected at every level: CONREC there measured one source worse (sessions 5 and 11)
    island_join: str = "conrec"
    square_boxes: bool = True
    # the contour line runs between pixel centres where linear interpolation reaches the level (CONREC),
    # not around whole pixels
    interpolate: bool = True
    # side of the square box: "diagonal", the larger of the islands' joint box's longer side and the longest
    # diagonal of one island's contour box (RGZ's angular extent of a component is that diagonal, and ClaRAN's
    # boxes of one-component sources have the extent as their side); "longer": the joint box's longer side
    box_side: str = "diagonal"
    # a class is "marginal" when it changes as the whole ladder moves by this fraction down or up (5.0-5.4 sigma:
    # the width of the peak of agreement with RGZ in the lowest-level scan); 0 turns the check off. On 167 RGZ DR1
    # sources, marginal classes (35) agree with RGZ 69 % of the time, the others 94 %; a marginal source's score is
    # scaled by their ratio, ``marginal_weight`` (``benchmarks/contour_rule.py --marginal``, docs/NOTES.md)
    marginal_spread: float = 0.04
    marginal_weight: float = 0.73
    # a compact source (1C_1P) whose nearest other source is d arcsec away is, in RGZ's labels, part of one source
    # with it with probability P(d) (interpolated between these bin centres; no factor beyond
    # ``companion_max_arcsec``: farther pairs do not fit whole in RGZ's 3' images, so the labels cannot say): its
    # score is scaled by 1 - P(d) and it is flagged a possible component. P measured on ClaRAN's 6,142 labelled
    # images and their DR1 sources (``benchmarks/companions.py``, docs/NOTES.md issue 12 session 10); empty: off
    companion_arcsec: tuple[float, ...] = (10.0, 25.0, 35.0, 45.0, 55.0, 65.0, 75.0, 85.0)
    companion_one_source: tuple[float, ...] = (0.99, 0.95, 0.92, 0.79, 0.70, 0.63, 0.49, 0.32)
    companion_max_arcsec: float = 90.0

    def levels(self, sigma: float) -> np.ndarray:
        """The contour ladder in image units: ``sigma`` x ``level_sigma`` x ``level_factor``^k, k < ``n_levels``."""
        return sigma * self.level_sigma * self.level_factor ** np.arange(self.n_levels)

    def __post_init__(self) -> None:
        for name in ("companion_arcsec", "companion_one_source"):  # lists from JSON: kept hashable
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))
        d, p = np.asarray(self.companion_arcsec), np.asarray(self.companion_one_source)
        if len(d) != len(p) or np.any(np.diff(d) <= 0) or np.any((p < 0) | (p > 1)):
            raise ValueError(f"companion_arcsec={self.companion_arcsec}, companion_one_source="
                             f"{self.companion_one_source}: expected equal lengths, increasing separations and "
                             "probabilities in [0, 1]")
        if self.island_join not in ("conrec", "eight"):
            raise ValueError(f"island_join={self.island_join!r}: expected 'conrec' or 'eight'")
        if self.box_side not in ("diagonal", "longer"):
            raise ValueError(f"box_side={self.box_side!r}: expected 'diagonal' or 'longer'")
        if not (0.0 <= self.marginal_spread < 1.0 and 0.0 < self.marginal_weight <= 1.0):
            raise ValueError(f"marginal_spread={self.marginal_spread}, marginal_weight={self.marginal_weight}: "
                             "expected 0 <= spread < 1 and 0 < weight <= 1")


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
    dropped (default: ``rules.min_diag_fraction`` of the image width, RGZ's rule for a 3' cutout); with
    ``rules.interpolate`` the diagonal is the contour's, as RGZ measured it."""
    sigma = noise_sigma(image) if sigma is None else sigma
    levels = rules.levels(sigma)
    img = np.nan_to_num(image, nan=-np.inf)
    lab, n = label_above(img, levels[0], rules.island_join)
    slices = ndimage.find_objects(lab)
    min_diag = rules.min_diag_fraction * image.shape[1] if min_diag is None else min_diag
    keep = [k + 1 for k, s in enumerate(slices) if _not_speck(img, lab, k + 1, s, levels[0], rules.interpolate, min_diag)]
    remap = np.zeros(n + 1, dtype=np.int32)
    remap[keep] = np.arange(1, len(keep) + 1)
    lab = remap[lab]
    return Islands(lab, [slices[k - 1] for k in keep], levels, sigma)


def label_above(image: np.ndarray, level: float, join: str = "conrec") -> tuple[np.ndarray, int]:
    """Connected regions of ``image >= level`` (labels 1..n, ``ndimage.label``'s order): ``join`` "eight" joins any
    8-connected pixels; "conrec" joins edge neighbours, and diagonal neighbours only where their 2 x 2 cell's mean
    (CONREC's cell centre) is above the level too, so each region is what one closed CONREC line encloses."""
    if join == "eight":
        return ndimage.label(image >= level, structure=_EIGHT)
    lab, n = ndimage.label(image >= level)
    if n < 2:
        return lab, n
    with np.errstate(invalid="ignore"):
        centre = (image[:-1, :-1] + image[:-1, 1:] + image[1:, :-1] + image[1:, 1:]) / 4 >= level
    pairs = [(p[m], q[m]) for p, q in ((lab[:-1, :-1], lab[1:, 1:]), (lab[:-1, 1:], lab[1:, :-1]))
             for m in [centre & (p > 0) & (q > 0) & (p != q)]]
    a, b = np.concatenate([p for p, _ in pairs]), np.concatenate([q for _, q in pairs])
    if not len(a):
        return lab, n
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    _, comp = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n + 1, n + 1)), directed=False)
    # renumber 1..m in the order of each region's smallest 4-connected label (ndimage.label's raster order)
    c = comp[1:]
    smallest = np.full(c.max() + 1, n + 1)
    np.minimum.at(smallest, c, np.arange(1, n + 1))
    new = np.zeros(n + 1, dtype=np.int32)
    new[1:] = np.unique(smallest[c], return_inverse=True)[1] + 1
    return new[lab], int(new.max())


def _not_speck(img: np.ndarray, lab: np.ndarray, k: int, s: tuple, level: float, interpolate: bool,
               min_diag: float) -> bool:
    """Whether island ``k``'s box diagonal exceeds ``min_diag``: its contour's (RGZ drops contours by it) or
    its whole pixels'."""
    d = float(np.hypot(s[0].stop - s[0].start, s[1].stop - s[1].start))
    if not interpolate or d - 2**0.5 > min_diag:  # the contour's box is at most 1 px shorter on each axis
        return d > min_diag
    e = _island_contour(img, lab, k, s, level)
    return float(np.hypot(e[2] - e[0], e[3] - e[1])) > min_diag


def _island_contour(image: np.ndarray, labels: np.ndarray, k: int, s: tuple, level: float) -> np.ndarray:
    """``contour_extent`` of island ``k`` (bounding slices ``s``) in image coordinates, measured on its window
    grown by the one pixel its contour can reach, not on the whole image (a mosaic has thousands of islands)."""
    grow = (slice(max(0, s[0].start - 1), s[0].stop + 1), slice(max(0, s[1].start - 1), s[1].stop + 1))
    e = contour_extent(image[grow], labels[grow] == k, level)
    return e + np.array([grow[1].start, grow[0].start, grow[1].start, grow[0].start], dtype=np.float64)


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


def contour_extent(image: np.ndarray, mask: np.ndarray, level: float) -> np.ndarray:
    """x1, y1, x2, y2 (detector convention) of the contour at ``level`` around the pixels ``mask`` (all at or
    above it): the line crosses between a pixel and its neighbour below the level where linear interpolation
    between their centres reaches the level (CONREC on the pixel grid), so it can lie anywhere from the outer
    pixel's centre to its neighbour's. At the image edge (or a blank pixel) the line stops at the pixel edge."""
    ys, xs = np.nonzero(mask)
    img = np.nan_to_num(image, nan=-np.inf)
    h, w = mask.shape
    v = img[ys, xs]
    ext = []
    for axis, step in ((1, -1), (0, -1), (1, 1), (0, 1)):  # left, bottom, right, top
        pos = (xs if axis == 1 else ys).astype(np.float64)
        n = (xs if axis == 1 else ys) + step
        inside = (n >= 0) & (n < (w if axis == 1 else h))
        vn = np.full(v.shape, -np.inf)
        nn = np.clip(n, 0, (w if axis == 1 else h) - 1)
        vn[inside] = img[ys, nn][inside] if axis == 1 else img[nn, xs][inside]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(np.isfinite(vn), (v - level) / (v - vn), 0.5)
        frac = np.where(vn < level, np.clip(frac, 0.0, 1.0), 0.0)  # only crossings count
        edge = pos + step * frac + 0.5  # pixel centre i + 0.5 in the detector convention
        ext.append(edge.min() if step < 0 else edge.max())
    return np.array(ext, dtype=np.float64)


def source_box(islands: Islands, ids: list[int], shape: tuple[int, int], square: bool = True, *,
               image: np.ndarray | None = None, rules: LabelRules | None = None) -> np.ndarray:
    """x1, y1, x2, y2 (detector convention) of the union of islands ``ids`` (1-based), optionally squared.

    With ``image`` and ``rules`` each island's box follows its contour (``rules.interpolate``) and the square's
    side follows ``rules.box_side``; otherwise the box is the islands' whole-pixel bounding box squared by its
    longer side."""
    if image is not None and rules is not None and rules.interpolate:
        parts = np.array([_island_contour(image, islands.labels, i, islands.slices[i - 1], islands.levels[0])
                          for i in ids])
    else:
        parts = np.array([[t[1].start, t[0].start, t[1].stop, t[0].stop] for t in (islands.slices[i - 1] for i in ids)],
                         dtype=np.float64)
    x1, y1 = parts[:, 0].min(), parts[:, 1].min()
    x2, y2 = parts[:, 2].max(), parts[:, 3].max()
    box = np.array([x1, y1, x2, y2], dtype=np.float64)
    if square:
        side = max(x2 - x1, y2 - y1)
        if rules is not None and rules.box_side == "diagonal" and image is not None:
            side = max(side, float(np.hypot(parts[:, 2] - parts[:, 0], parts[:, 3] - parts[:, 1]).max()))
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        box = np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2])
        box[[0, 2]] = np.clip(box[[0, 2]], 0, shape[1])
        box[[1, 3]] = np.clip(box[[1, 3]], 0, shape[0])
    return box


def speck_diag(rules: LabelRules, pixel_scale_arcsec: float | None) -> float | None:
    """The diagonal (pixels) under which an island is a noise speck: judged on the sky (RGZ's threshold on its
    3' cutouts) when the pixel scale is known, else by the image width (``find_islands``' default)."""
    return rules.min_diag_fraction * 180.0 / pixel_scale_arcsec if pixel_scale_arcsec else None


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
    isl = find_islands(image, rules, min_diag=speck_diag(rules, pixel_scale_arcsec))
    return [group_class(image, isl, ids) for ids in owned_islands(isl.labels, boxes, min_inside=min_inside, pad=pad)]


def _island_at_peak(image: np.ndarray, labels: np.ndarray, box: np.ndarray) -> list[int]:
    """The island under the brightest pixel inside ``box`` (detector convention), if that pixel is on one."""
    rows, cols = _window(box, labels.shape)
    win = np.nan_to_num(image[rows, cols], nan=-np.inf)
    if not win.size:
        return []
    r, c = np.unravel_index(np.argmax(win), win.shape)
    k = int(labels[rows.start + r, cols.start + c])
    return [k] if k else []


def _group_window(isl: Islands, ids: list[int]) -> tuple[slice, slice]:
    """The bounding window (rows, columns) of islands ``ids``."""
    s = [isl.slices[i - 1] for i in ids]
    return (slice(min(t[0].start for t in s), max(t[0].stop for t in s)),
            slice(min(t[1].start for t in s), max(t[1].stop for t in s)))


def _peaks(image: np.ndarray, isl: Islands, ids: list[int]) -> tuple[int, float]:
    """(contour-tree peaks, brightest pixel) of islands ``ids``, counted on their own window, not the image."""
    win = _group_window(isl, ids)
    mask = np.isin(isl.labels[win], ids)
    return count_peaks(image[win], mask, isl.levels), float(np.nanmax(np.where(mask, image[win], -np.inf)))


def group_class(image: np.ndarray, isl: Islands, ids: list[int]) -> int | None:
    """RGZ class id (1..6) of the islands ``ids`` of ``isl`` taken as one source: their number and the peaks of
    their contour tree at ``isl.levels``. None for no island or more than 3."""
    return class_id(len(ids), _peaks(image, isl, ids)[0]) if ids else None


@dataclass
class Source:
    """One catalogue source as RGZ's rule sees a detection: the islands it owns, their class and contour box."""

    index: int  # the detection it comes from (row of the ``boxes`` given to ``assign_sources``)
    islands: tuple[int, ...]  # 1-based island ids of ``Islands.labels``
    class_id: int | None  # 1..6, None when the rule gives none (more than 3 components)
    n_components: int
    n_peaks: int
    box: np.ndarray  # x1, y1, x2, y2 (detector convention): the islands' contour box
    peak_snr: float  # brightest pixel of the islands over the noise sigma
    blended: bool = False  # its box overlaps another source's box (they share no island)
    marginal: bool = False  # its class changes when the contour ladder moves by ``rules.marginal_spread``


def _window(box: np.ndarray, shape: tuple[int, ...], pad: float = 0.0) -> tuple[slice, slice]:
    """The pixels (rows, columns) a box (detector convention) grown by ``pad`` touches, clipped to ``shape``."""
    x1, y1, x2, y2 = box
    return (slice(max(0, int(np.floor(y1 - pad))), min(shape[0], int(np.ceil(y2 + pad)))),
            slice(max(0, int(np.floor(x1 - pad))), min(shape[1], int(np.ceil(x2 + pad)))))


def owned_islands(labels: np.ndarray, boxes: np.ndarray, *, min_inside: float = 0.5, pad: float = 1.0
                  ) -> list[list[int]]:
    """For each box (detector convention), the islands with more than ``min_inside`` of their pixels inside it
    grown by ``pad`` pixels: the islands a detection owns."""
    sizes = np.bincount(labels.ravel())
    out = []
    for box in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
        u, n = np.unique(labels[_window(box, labels.shape, pad)], return_counts=True)
        out.append([int(i) for i, k in zip(u, n, strict=True) if i and k > min_inside * sizes[i]])
    return out


def marginal_classes(image: np.ndarray, isl: Islands, groups: list[list[int]], class_ids: list[int | None],
                     rules: LabelRules = LabelRules(), *, min_diag: float | None = None) -> list[bool]:
    """Whether each group of islands (ids of ``isl``) would get another class than ``class_ids`` if the whole
    contour ladder were ``rules.marginal_spread`` lower or higher (same noise sigma): at the other ladder the
    group is the islands on its pixels. A group without a class is not marginal. ``min_diag``: as the islands
    were found with (``find_islands``)."""
    out = [False] * len(groups)
    if not rules.marginal_spread or not groups:
        return out
    for f in (1.0 - rules.marginal_spread, 1.0 + rules.marginal_spread):
        alt = find_islands(image, replace(rules, level_sigma=rules.level_sigma * f), isl.sigma, min_diag=min_diag)
        for j, (ids, cid) in enumerate(zip(groups, class_ids, strict=True)):
            if out[j] or cid is None or not ids:
                continue
            win = _group_window(isl, ids)
            on = alt.labels[win][np.isin(isl.labels[win], ids)]
            alt_ids = [int(k) for k in np.unique(on) if k]
            out[j] = group_class(image, alt, alt_ids) != cid
    return out


def assign_sources(image: np.ndarray, boxes: np.ndarray, scores: np.ndarray, rules: LabelRules = LabelRules(), *,
                   min_inside: float = 0.5, pad: float = 1.0, pixel_scale_arcsec: float | None = None,
                   blend_overlap: float = 0.25, islands: Islands | None = None) -> list[Source]:
    """One source per group of islands: detections (``boxes`` in the detector convention, best ``scores``
    first) take the islands above the lowest contour that lie mostly inside them (or, for a box smaller than
    half its island, the island under its brightest pixel); an island belongs to the
    best-scoring detection that claims it, so nested and overlapping detections of one source (a double and
    its own lobes) become one row. A detection left with no island (no emission above the lowest contour) is
    no source. Each source gets RGZ's class from its islands and peaks and the contour box of its islands
    (``rules.interpolate``, ``rules.box_side``, ``rules.square_boxes``). Sources whose boxes overlap by more
    than ``blend_overlap`` of the smaller box are flagged ``blended``. Returned in the order of ``scores``.
    ``islands``: ``find_islands`` of the image, when the caller has it already. (Letting a detection that holds
    all of another's islands go first regardless of score was measured and scored lower: docs/NOTES.md.)"""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not len(boxes):
        return []
    isl = islands if islands is not None else find_islands(image, rules, min_diag=speck_diag(rules, pixel_scale_arcsec))
    owned = owned_islands(isl.labels, boxes, min_inside=min_inside, pad=pad)
    # a box smaller than half its island (a bright core of an extended source) still sits on it: it takes the
    # island under its brightest pixel
    owned = [o or _island_at_peak(image, isl.labels, b) for o, b in zip(owned, boxes, strict=True)]
    taken: set[int] = set()
    out: list[Source] = []
    for i in np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable"):
        ids = [k for k in owned[i] if k not in taken]
        if not ids:
            continue
        taken.update(ids)
        n_p, peak = _peaks(image, isl, ids)
        cid = class_id(len(ids), n_p)
        out.append(Source(index=int(i), islands=tuple(ids), class_id=cid, n_components=len(ids),
                          n_peaks=max(len(ids), min(n_p, 3)) if cid is not None else n_p,
                          box=source_box(isl, ids, image.shape, rules.square_boxes, image=image, rules=rules),
                          peak_snr=peak / isl.sigma if isl.sigma > 0 else float("inf")))
    min_diag = speck_diag(rules, pixel_scale_arcsec)
    for s, m in zip(out, marginal_classes(image, isl, [list(s.islands) for s in out], [s.class_id for s in out],
                                           rules, min_diag=min_diag), strict=True):
        s.marginal = m
    if len(out) > 1:  # blended: boxes overlapping by more than blend_overlap of the smaller (in chunks: mosaics)
        b = np.array([s.box for s in out])
        area = np.prod(b[:, 2:] - b[:, :2], axis=1)
        for a0 in range(0, len(b), 512):
            a = b[a0:a0 + 512]
            ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
            iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
            small = np.minimum(area[a0:a0 + 512, None], area[None, :])
            hit = (ix * iy > blend_overlap * small) & (small > 0)
            hit[np.arange(len(a)), a0 + np.arange(len(a))] = False
            for k in np.flatnonzero(hit.any(axis=1)):
                out[a0 + k].blended = True
    return out
