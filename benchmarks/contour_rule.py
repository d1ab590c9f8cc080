"""How well RGZ's contour rule (rgz.contours) reproduces real RGZ labels, for a grid of its free settings.

    python benchmarks/contour_rule.py [--levels 3 4 5 5.196 6] [--factors 1.732 1.414 2] [--json out.json]

Real FIRST pixels with RGZ labels, in two sets:
- ``dr1``: the RGZ DR1 sources (``claran-labels/rgz_dr1_claran_catalogue.csv``) inside a ``mirabest-fields``
  image, none near the judged set (``benchmarks/real_sky.py`` finds them). The islands under each
  catalogued component position are the source's components; their count and their peaks give its class
  (against ``num_cpnts``, ``num_peaks``), and for the sources with a ClaRAN box their contour box is
  compared with that box (IoU and side ratio).
- ``dev``: the 18 labelled dev cutouts (20 sources), each truth box classified as ``claran detect`` would
  classify a detected box. The previous rule was chosen with this set, so it is reported, not chosen on.
Prints, per setting, the component and class agreement and the box agreement. The settings the project
uses are chosen on the ``dr1`` columns (docs/NOTES.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.real_sky import DATA, dr1_sources, iou, islands_under, truth_in_field  # noqa: E402
from rgz import RGZ_CLASSES  # noqa: E402
from rgz.contours import (  # noqa: E402
    LabelRules,
    class_id,
    classify_boxes,
    count_peaks,
    find_islands,
    label_above,
    marginal_classes,
    source_box,
)
from rgz.coords import astropy_to_detector  # noqa: E402
from rgz.fits_io import pixel_scale_arcsec  # noqa: E402


def dev_sources(dev: Path) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """(image, detector-convention box, RGZ class) of each labelled dev source."""
    from astropy.io import fits

    truth = json.loads((dev / "truth.json").read_text())
    out = []
    for name, v in truth.items():
        img = np.squeeze(fits.getdata(dev / "fits" / name)).astype(np.float64)
        for o in v["objects"]:
            out.append((img, astropy_to_detector(np.asarray(o["box"], dtype=np.float64)), o["class"]))
    return out


def load_dr1(data: Path) -> list[dict]:
    """Each DR1 source with its field's pixels, component pixel positions and ClaRAN box (detector px)."""
    from astropy.io import fits
    from astropy.wcs import WCS

    out = []
    for s in dr1_sources(data):
        cls = f"{s['num_cpnts']}C_{min(s['num_peaks'], 3)}P"
        if cls not in RGZ_CLASSES:
            continue
        with fits.open(s["field"]) as h:
            img = np.squeeze(h[0].data).astype(np.float64)
            w = WCS(h[0].header).celestial
        px, py = w.world_to_pixel_values(s["cpnt_ra"], s["cpnt_dec"])
        box = None
        if s["png_boxes"]:
            objs = truth_in_field(s, w)
            cx, cy = float(np.mean(px)), float(np.mean(py))
            o = min(objs, key=lambda o: np.hypot((o["box"][0] + o["box"][2]) / 2 - cx, (o["box"][1] + o["box"][3]) / 2 - cy))
            box = astropy_to_detector(np.asarray(o["box"], dtype=np.float64))
        out.append({"image": img, "pos": np.stack([px, py], 1), "cls": cls, "box": box, "ang_extent": s["ang_extent"],
                    "arcsec_per_px": pixel_scale_arcsec(w), "centre": w.world_to_pixel_values(s["ra"], s["dec"]),
                    "wcs": w, "ra": s["ra"], "dec": s["dec"], "cpnt_ra": s["cpnt_ra"], "cpnt_dec": s["cpnt_dec"],
                    "first_id": s["first_id"]})
    return out


def count_peaks_conrec(image: np.ndarray, mask: np.ndarray, levels: np.ndarray) -> int:
    """``rgz.contours.count_peaks`` with regions joined as CONREC joins them (measured, not adopted)."""
    img = np.where(mask, np.nan_to_num(image, nan=-np.inf), -np.inf)
    leaves = 0
    for k, level in enumerate(levels):
        lab, n = label_above(img, level, "conrec")
        if not n:
            break
        above = np.unique(lab[img >= levels[k + 1]]) if k + 1 < len(levels) else np.array([0])
        leaves += n - np.count_nonzero(above)
    return leaves


def _bbox(line: np.ndarray) -> tuple[float, float, float, float]:
    return float(line[:, 0].min()), float(line[:, 1].min()), float(line[:, 0].max()), float(line[:, 1].max())


class ContourNode:
    """One contour line of RGZ's per-component contour tree, built as RGZ's catalogue code builds it
    (``Node.insert`` of rgz-analysis ``contour_node.py``, also afgaron/rg-contours): a contour one level up is a
    child without any test; a deeper one goes into every child whose bounding box strictly encloses its own."""

    def __init__(self, k: int, line: np.ndarray) -> None:
        self.k, self.line, self.box, self.children = k, line, _bbox(line), []

    def insert(self, node: ContourNode) -> None:
        if node.k == self.k + 1:
            self.children.append(node)
        elif node.k > self.k + 1:
            i = node.box
            for c in self.children:
                o = c.box
                if o[0] < i[0] and o[1] < i[1] and o[2] > i[2] and o[3] > i[3]:
                    c.insert(node)

    def leaves(self) -> int:
        """RGZ's peaks: one per innermost contour (``getPeaks``), repeated where a contour went into two parents."""
        return 1 if not self.children else sum(c.leaves() for c in self.children)


def rgz_contour_trees(image: np.ndarray, levels: np.ndarray) -> list[ContourNode]:
    """RGZ's contour trees of a whole image: CONREC lines (contourpy's quads as four triangles about the cell
    centre, CONREC's construction) at every level; each higher line joins the first lowest-level line whose
    bounding box holds its first point (as RGZ's contour files group them), then that tree (``insert``)."""
    import contourpy

    gen = contourpy.contour_generator(z=np.nan_to_num(image, nan=0.0), name="serial", quad_as_tri=True,
                                      line_type="Separate")
    roots = [ContourNode(0, a) for a in gen.lines(float(levels[0]))]
    for k in range(1, len(levels)):
        for a in gen.lines(float(levels[k])):
            x, y = a[0]
            root = next((r for r in roots if r.box[0] <= x <= r.box[2] and r.box[1] <= y <= r.box[3]), None)
            if root is not None:
                root.insert(ContourNode(k, a))
    return roots


def count_peaks_rgz_tree(image: np.ndarray, mask: np.ndarray, levels: np.ndarray) -> int:
    """Peaks of the islands in ``mask`` counted on RGZ's contour trees (``rgz_contour_trees``): the leaves of the
    innermost lowest-level line around each island's brightest pixel (measured, not adopted)."""
    from matplotlib.path import Path as MplPath
    from scipy import ndimage

    roots = rgz_contour_trees(image, levels)
    lab, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    img = np.where(mask, np.nan_to_num(image, nan=-np.inf), -np.inf)
    chosen = set()
    for k in range(1, n + 1):
        y, x = np.unravel_index(np.argmax(np.where(lab == k, img, -np.inf)), img.shape)
        inside = [i for i, r in enumerate(roots) if MplPath(r.line).contains_point((x, y))]
        if inside:  # the innermost: a hole's line lies inside its island's outer line
            chosen.add(min(inside, key=lambda i: np.ptp(roots[i].line[:, 0]) * np.ptp(roots[i].line[:, 1])))
    return sum(roots[i].leaves() for i in chosen)


def count_local_maxima(image: np.ndarray, mask: np.ndarray, levels: np.ndarray) -> int:
    """Pixels of ``mask`` brighter than or equal to their 8 neighbours (an image-based peak count; measured, not
    adopted: RGZ's code counts innermost contours)."""
    from scipy import ndimage

    img = np.where(mask, np.nan_to_num(image, nan=-np.inf), -np.inf)
    return int(np.count_nonzero(mask & (img == ndimage.maximum_filter(img, size=3))))


PEAK_COUNTERS = {"leaves": count_peaks, "conrec": count_peaks_conrec, "rgz-tree": count_peaks_rgz_tree,
                 "localmax": count_local_maxima}


def on_rgz_grid(src: dict, order: int) -> dict:
    """``src`` as RGZ's volunteers saw it: its field resampled onto RGZ's 132 px, 1.3748"/px grid centred on the
    FIRST position (RGZ's FITS files are FIRST cutouts regridded by Miriad onto the WISE image's grid) with
    spline interpolation of ``order``; the noise stays the native pixels' (RGZ's contour files use a given rms,
    not one measured on the regridded image), and noise specks are judged on the 132 px width."""
    from astropy.coordinates import SkyCoord
    from scipy.ndimage import map_coordinates

    from rgz.contours import noise_sigma
    from rgz.frame import FrameSpec, frame_wcs, transform_boxes

    spec = FrameSpec()
    wout = frame_wcs(SkyCoord(src["ra"], src["dec"], unit="deg"), spec)
    yy, xx = np.mgrid[0:spec.size, 0:spec.size].astype(np.float64)
    x, y = src["wcs"].all_world2pix(*wout.all_pix2world(xx, yy, 0), 0)
    img = map_coordinates(src["image"], [y, x], order=order, mode="nearest")
    px, py = wout.world_to_pixel_values(src["cpnt_ra"], src["cpnt_dec"])
    box = None if src["box"] is None else transform_boxes(src["box"][None], src["wcs"], wout)[0]
    return {**src, "image": img, "pos": np.stack([px, py], 1), "box": box, "wcs": wout,
            "sigma": noise_sigma(src["image"]), "speck_width": spec.size,
            "arcsec_per_px": spec.pixel_scale_arcsec}


def rgz_grouping(src: dict, rules: LabelRules, islands_cache: dict) -> tuple:
    """The islands of ``src``'s image (cached per image, lowest level and noise) and RGZ's grouping on them: the
    island under each catalogued component position (``islands_under``)."""
    key = (id(src["image"]), rules.level_sigma, rules.min_diag_fraction, rules.interpolate, rules.island_join,
           src.get("sigma"))
    if key not in islands_cache:
        islands_cache[key] = find_islands(src["image"], rules, src.get("sigma"),
                                          min_diag=rules.min_diag_fraction * src.get("speck_width", 100))
    isl = islands_cache[key]
    return isl, islands_under(isl.labels, src["pos"])


def rule_on_source(src: dict, rules: LabelRules, islands_cache: dict, peaks=count_peaks
                   ) -> tuple[int, int | None, np.ndarray | None]:
    """Components under the catalogued positions (the largest island within 3 px of each), class and box.
    ``src["sigma"]``, when set, is the noise to use instead of the whole image's."""
    isl, ids_l = rgz_grouping(src, rules, islands_cache)
    levels = rules.levels(isl.sigma)  # the cached islands may come from another factor
    if not ids_l:
        return 0, None, None
    n_p = peaks(src["image"], np.isin(isl.labels, ids_l), levels)
    box = source_box(isl, ids_l, src["image"].shape, rules.square_boxes, image=src["image"], rules=rules)
    return len(ids_l), class_id(len(ids_l), n_p), box


def evaluate(rules: LabelRules, dr1: list[dict], dev: list, cache: dict, peaks=count_peaks) -> dict:
    res = [rule_on_source(s, rules, cache, peaks) for s in dr1]
    comp = np.mean([n == int(s["cls"][0]) for (n, _, _), s in zip(res, dr1, strict=True)])
    cls = np.mean([c is not None and RGZ_CLASSES[c - 1] == s["cls"] for (_, c, _), s in zip(res, dr1, strict=True)])
    ious, ratios = [], []
    for (_, _, b), s in zip(res, dr1, strict=True):
        if s["box"] is None:
            continue
        if b is None:
            ious.append(0.0)
            continue
        ious.append(iou(b, s["box"]))
        ratios.append(np.sqrt((b[2] - b[0]) * (b[3] - b[1]) / ((s["box"][2] - s["box"][0]) * (s["box"][3] - s["box"][1]))))
    got = [classify_boxes(img, box[None], rules)[0] for img, box, _ in dev]
    dev_k = np.mean([c is not None and RGZ_CLASSES[c - 1] == t for c, (_, _, t) in zip(got, dev, strict=True)])
    return {"dr1_components": float(comp), "dr1_class": float(cls), "n_dr1": len(dr1), "n_boxes": len(ious),
            "box_iou_median": float(np.median(ious)), "box_iou_ge_0.5": float(np.mean(np.array(ious) >= 0.5)),
            "box_side_ratio_median": float(np.median(ratios)), "dev_class": float(dev_k), "n_dev": len(dev)}


def extent_evidence(data: Path, dr1: list[dict]) -> None:
    """Why RGZ boxes are a component's diagonal wide: (a) on ClaRAN's gt boxes of one-source images, box side
    against RGZ's ``ang_extent`` per class; (b) on the DR1 sources, ``ang_extent`` against the diagonal and the
    longer side of each source's 5.196-sigma contour box (RGZ's lowest contour)."""
    import pandas as pd

    from rgz.builder import read_claran_boxes

    cat = pd.read_csv(data / "claran-labels" / "rgz_dr1_claran_catalogue.csv")
    cat = cat[~cat.first_id.duplicated(keep=False)]  # subjects of one DR1 source: its extent is the box's
    ext = dict(zip(cat.first_id, cat.ang_extent, strict=True))
    boxes, _ = read_claran_boxes(data / "claran-labels" / "claran_gt_boxes.txt")
    rows = np.array([(c, max(x2 - x1 + 1, y2 - y1 + 1) * 1.3748, ext[k]) for k, b in boxes.items()
                     if len(b) == 1 and k in ext for x1, y1, x2, y2, c in b])
    print("(a) ClaRAN gt boxes, one-source images: class n | median side - ang_extent (\") | fit side = a ext + b")
    for c, name in enumerate(RGZ_CLASSES):
        m = rows[:, 0] == c
        a, b = np.polyfit(rows[m, 2], rows[m, 1], 1)
        print(f"    {name} {m.sum():5d} | {np.median(rows[m, 1] - rows[m, 2]):5.1f} | a {a:.2f} b {b:.1f}")
    print("(b) DR1 sources: class n | median contour-box diagonal / ang_extent | longer side / ang_extent")
    rules = LabelRules(square_boxes=False)
    got: dict[str, list] = {}
    for s in dr1:
        _, _, b = rule_on_source(s, rules, {})
        if b is not None:
            w, h = (b[2] - b[0]) * s["arcsec_per_px"], (b[3] - b[1]) * s["arcsec_per_px"]
            got.setdefault(s["cls"], []).append((np.hypot(w, h) / s["ang_extent"], max(w, h) / s["ang_extent"]))
    for name in RGZ_CLASSES:
        if name in got:
            v = np.array(got[name])
            print(f"    {name} {len(v):5d} | {np.median(v[:, 0]):.2f} | {np.median(v[:, 1]):.2f}")


def marginal_evidence(dr1: list[dict], spreads: list[float]) -> None:
    """Class agreement with RGZ (RGZ's grouping, the default ladder) of marginal and of stable classes: the
    ratio is ``LabelRules.marginal_weight``, the factor a marginal source's score is scaled by."""
    for spread in spreads:
        rules = LabelRules(marginal_spread=spread)
        ok, marg, cache = [], [], {}
        for s in dr1:
            isl, ids = rgz_grouping(s, rules, cache)
            cid = rule_on_source(s, rules, cache)[1]
            ok.append(cid is not None and RGZ_CLASSES[cid - 1] == s["cls"])
            marg.append(marginal_classes(s["image"], isl, [ids], [cid], rules,
                                         min_diag=rules.min_diag_fraction * 100)[0])
        ok, marg = np.array(ok), np.array(marg)
        a_m, a_s = ok[marg].mean() if marg.any() else float("nan"), ok[~marg].mean()
        print(f"spread {spread:.3f}: {len(ok)} DR1 sources, class agreement {ok.mean():.3f}; marginal {marg.sum()} "
              f"agree {a_m:.3f}, the others {(~marg).sum()} agree {a_s:.3f}; ratio {a_m / a_s:.2f}")


def ladder_stability(dr1: list[dict], span: float = 0.10, step: float = 0.01) -> None:
    """How far RGZ's whole ladder must move (down or up, in ``step``s up to ``span``) before a source's class by
    the rule changes, for the sources the rule gets right and wrong (RGZ's grouping): whether a class-stability
    score could tell a miscounted source from a right one."""
    rules = LabelRules()
    shifts = np.round(np.arange(-span, span + step / 2, step), 6)
    groups: dict[str, list[bool]] = {}
    cache: dict = {}
    for s in dr1:
        isl, ids = rgz_grouping(s, rules, cache)
        if not ids:
            continue
        mask = np.isin(isl.labels, ids)
        got = class_id(len(ids), count_peaks(s["image"], mask, isl.levels))
        moved = [class_id(len(ids), count_peaks(s["image"], mask, isl.levels * (1 + d))) != got for d in shifts if d]
        name = RGZ_CLASSES[got - 1] if got else "none"
        key = f"RGZ {s['cls']}, rule {'right' if name == s['cls'] else name}"
        groups.setdefault(key, []).append(any(moved))
    print(f"class changes within +-{span:.0%} of RGZ's ladder ({step:.0%} steps), RGZ's grouping:")
    for k, v in sorted(groups.items()):
        print(f"    {k}: {sum(v)} of {len(v)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--levels", type=float, nargs="+", default=[3.0, 4.0, 5.0, 3 * 3**0.5, 6.0])
    ap.add_argument("--factors", type=float, nargs="+", default=[3**0.5, 2**0.5, 2.0])
    ap.add_argument("--local-noise", type=int, default=None, metavar="BOX_PX",
                    help="measure in units of catalogs.noise.rms_map (window BOX_PX) instead of the global MAD sigma")
    ap.add_argument("--sigma-window", type=int, default=None, metavar="PX",
                    help="DR1 noise from the PX x PX window centred on the source's FIRST position (RGZ's cutout) "
                         "instead of the whole field")
    ap.add_argument("--conrec", action="store_true",
                    help="DR1 peaks on regions joined as CONREC joins them (diagonal pixels only through a cell "
                         "centre above the level) instead of 8-connected")
    ap.add_argument("--island-join", choices=("conrec", "eight"), default=LabelRules().island_join,
                    help="islands (components) joined as CONREC's lines join them (the rule's default) or "
                         "8-connected (LabelRules.island_join)")
    ap.add_argument("--peaks", choices=sorted(PEAK_COUNTERS), default="leaves",
                    help="DR1 peak count: leaves of the island contour tree (the project's rule), conrec (as --conrec), "
                         "rgz-tree (RGZ's own contour trees of CONREC lines, count_peaks_rgz_tree) or localmax "
                         "(3x3 local maxima of the image)")
    ap.add_argument("--rgz-grid", type=int, default=None, metavar="ORDER",
                    help="count DR1 sources on RGZ's 132 px, 1.3748\"/px grid (on_rgz_grid), resampled with spline "
                         "interpolation of ORDER (0 nearest, 1 bilinear, 3 cubic)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--extent", action="store_true", help="only print the box-size evidence (extent_evidence)")
    ap.add_argument("--marginal", type=float, nargs="*", default=None, metavar="SPREAD",
                    help="only measure how often the default rule's class agrees with RGZ where it is marginal "
                         "(changes as the ladder moves by SPREAD; default the rule's) and where it is not")
    ap.add_argument("--speck-fractions", type=float, nargs="+", default=None, metavar="F",
                    help="only evaluate the adopted rule with each noise-speck cut (LabelRules.min_diag_fraction: "
                         "the diagonal under which an island is dropped, as a fraction of a 3' cutout's width)")
    ap.add_argument("--stability", action="store_true",
                    help="only print how often each source's class changes within 10 %% of RGZ's ladder "
                         "(ladder_stability)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # SkyView headers without beams, FITS keyword chatter
    dev_dir = args.data / "rgz-real-dev"
    if not (dev_dir / "truth.json").is_file():
        sys.exit(f"{dev_dir}: no truth.json (this benchmark needs ../shared/data)")
    dev = dev_sources(dev_dir)
    dr1 = load_dr1(args.data)
    if args.extent:
        extent_evidence(args.data, dr1)
        return
    if args.stability:
        ladder_stability(dr1)
        return
    if args.speck_fractions:
        print("speck cut (fraction, arcsec on FIRST) | DR1: comps class | box IoU med, >=0.5 | dev class")
        for f in args.speck_fractions:
            r = evaluate(LabelRules(min_diag_fraction=f), dr1, dev, {})
            print(f"{f:.4f} {f * 180:5.1f}\" | {r['dr1_components']:.3f} {r['dr1_class']:.3f} | "
                  f"{r['box_iou_median']:.3f} {r['box_iou_ge_0.5']:.3f} | {r['dev_class']:.3f}", flush=True)
        return
    if args.marginal is not None:
        marginal_evidence(dr1, args.marginal or [LabelRules().marginal_spread])
        return
    if args.local_noise:  # the image over its local rms map, rescaled so the global sigma keeps its meaning
        from catalogs.noise import rms_map

        def local(img: np.ndarray) -> np.ndarray:
            m = rms_map(img, box_px=args.local_noise)
            return img / m * np.nanmedian(m)

        dr1 = [{**s, "image": local(s["image"])} for s in dr1]
        dev = [(local(img), box, cls) for img, box, cls in dev]
    if args.sigma_window:
        from catalogs.noise import mad_sigma

        def window_sigma(s: dict) -> float:
            x0, y0 = (int(round(float(v) - args.sigma_window / 2)) for v in s["centre"])
            return mad_sigma(s["image"][max(0, y0):y0 + args.sigma_window, max(0, x0):x0 + args.sigma_window])

        dr1 = [{**s, "sigma": window_sigma(s)} for s in dr1]
    if args.rgz_grid is not None:
        dr1 = [on_rgz_grid(s, args.rgz_grid) for s in dr1]
    peaks = count_peaks_conrec if args.conrec else PEAK_COUNTERS[args.peaks]
    print(f"{len(dr1)} DR1 sources in MiraBest fields ({sum(s['box'] is not None for s in dr1)} with a ClaRAN box); "
          f"{len(dev)} dev sources (reported, not chosen on)")
    print("lowest factor interp side square | DR1: comps class | box IoU med, >=0.5, side ratio | dev class")
    cache: dict = {}
    rows = []
    shapes = [(False, "longer", False), (False, "longer", True), (True, "longer", True), (True, "diagonal", True)]
    for lv, fac, (interp, side, sq) in itertools.product(args.levels, args.factors, shapes):
        rules = LabelRules(level_sigma=lv, level_factor=fac, n_levels=int(np.ceil(14 * np.log(2) / np.log(fac))),
                           interpolate=interp, box_side=side, square_boxes=sq, island_join=args.island_join)
        r = evaluate(rules, dr1, dev, cache, peaks)
        rows.append({"level": lv, "factor": fac, "interpolate": interp, "box_side": side, "square": sq, **r})
        print(f"{lv:5.2f} x{fac:5.3f} {interp!s:5} {side:8} {sq!s:5} | {r['dr1_components']:.3f} {r['dr1_class']:.3f} | "
              f"{r['box_iou_median']:.3f} {r['box_iou_ge_0.5']:.3f} {r['box_side_ratio_median']:.3f} | {r['dev_class']:.3f}",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
