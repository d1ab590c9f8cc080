"""Real FIRST fields themselves as training scenes, mixed into a simulated set (issue 12, item 2).

    python benchmarks/real_fields.py SIM_DIR OUT_DIR [--crops 3] [--seed 0]

Each ``mirabest-fields`` image that ``benchmarks/real_split.py`` does not hold out gives ``--crops`` random
3' x 3' windows (an RGZ cutout: 100 x 100 px at FIRST's 1.8"/px; the pixel scale is read from each field) that
hold its centre galaxy whole. Labels are measured on the window
by RGZ's rule: the centre galaxy grouped as ``rgz.simulate.real.centre_source`` groups it (the islands reaching
within half MiraBest's size plus a beam of its position), every other island that peaks above two lowest
contours and does not touch the window's edge as a source of its own (the simulator's rule for neighbours,
``rgz.simulate.sky.neighbour_label``), or with ``--group-arcsec`` the islands whose peaks lie that close as one;
``--pair-arcsec`` leaves out windows where two of those other islands are close enough to be one double.
OUT_DIR gets SIM_DIR's cutouts (linked) and the real windows in one ``annotations.json``, for
``claran train --dataset rgz --data OUT_DIR``.

``--dr1-folds K ...`` adds windows around the RGZ DR1 sources of those folds (``real_split.dr1_folds``; their
fields are otherwise held out), ``--dr1-crops`` per source, each centred on the source's FIRST position as an
RGZ cutout is, shifted by up to ``--dr1-jitter`` arcsec and kept inside its field with the source whole: every
DR1 source in the window is labelled with RGZ's own grouping (the islands under its catalogued components) and
RGZ's own class (``num_cpnts``, ``num_peaks``), boxed by the rule; the field's MiraBest galaxy, where DR1 does not
list it, and the other islands as above. For cross-validation (``benchmarks/dr1_crossval.py``) only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.real_split import DATA, heldout_fields  # noqa: E402


def _near_pair(labels: np.ndarray, ids: list[int], max_px: float) -> bool:
    """Whether two of the islands ``ids`` come within ``max_px`` of each other (nearest pixels)."""
    from scipy import ndimage

    for n, i in enumerate(ids[:-1]):
        dist = ndimage.distance_transform_edt(labels != i)
        if any(dist[labels == j].min() <= max_px for j in ids[n + 1 :]):
            return True
    return False


def peak_groups(image: np.ndarray, labels: np.ndarray, ids: list[int], max_px: float) -> list[list[int]]:
    """Islands ``ids`` joined into groups where their brightest pixels lie within ``max_px`` of each other (chains
    join: single linkage); each island alone when ``max_px`` is 0."""
    from scipy import ndimage
    from scipy.sparse.csgraph import connected_components

    if not max_px or len(ids) < 2:
        return [[i] for i in ids]
    pk = np.array(ndimage.maximum_position(np.nan_to_num(image, nan=-np.inf), labels, ids), dtype=np.float64)
    near = np.hypot(*(pk[:, None, :] - pk[None, :, :]).transpose(2, 0, 1)) <= max_px
    _, comp = connected_components(near, directed=False)
    return [[i for i, c in zip(ids, comp, strict=True) if c == k] for k in range(comp.max() + 1)]


def real_windows(out: Path, *, crops: int, seed: int, window_arcsec: float = 180.0,
                 pair_arcsec: float = 0.0, group_arcsec: float = 0.0) -> tuple[list[dict], list[list[dict]]]:
    import pandas as pd
    from astropy.io import fits
    from astropy.nddata import Cutout2D
    from astropy.wcs import WCS

    from catalogs.sky import pixel_scale_arcsec
    from rgz.contours import LabelRules, find_islands
    from rgz.simulate.real import GALAXY_MARGIN_ARCSEC, centre_source
    from rgz.simulate.sky import label_source, neighbour_label

    rules = LabelRules()
    labels = pd.read_csv(DATA / "mirabest-fields" / "labels.csv")
    held = heldout_fields(DATA)
    rng = np.random.default_rng(seed)
    (out / "real").mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    for rec in labels.itertuples():
        if rec.file in held:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(DATA / "mirabest-fields" / "fits" / rec.file) as h:
                data = np.squeeze(h[0].data).astype(np.float64)
                wcs = WCS(h[0].header).celestial
        x, y = wcs.world_to_pixel_values(rec.ra, rec.dec)
        scale = pixel_scale_arcsec(wcs)
        size = round(window_arcsec / scale)
        radius = (rec.size_arcsec / 2 + GALAXY_MARGIN_ARCSEC) / scale
        found = centre_source(data, (float(x), float(y)), radius)
        if found is None:
            continue
        isl, ids, _ = found
        ys, xs = np.nonzero(np.isin(isl.labels, ids))
        lo_x, hi_x = xs.max() - size + 3, xs.min() - 2  # window origins that keep the galaxy whole
        lo_y, hi_y = ys.max() - size + 3, ys.min() - 2
        lo_x, lo_y = max(lo_x, 0), max(lo_y, 0)
        hi_x, hi_y = min(hi_x, data.shape[1] - size), min(hi_y, data.shape[0] - size)
        if lo_x > hi_x or lo_y > hi_y:
            continue  # larger than a cutout
        for k in range(crops):
            x0, y0 = int(rng.integers(lo_x, hi_x + 1)), int(rng.integers(lo_y, hi_y + 1))
            cut = Cutout2D(data, (x0 + (size - 1) / 2, y0 + (size - 1) / 2), size, wcs=wcs, mode="strict")
            img = cut.data
            w_isl = find_islands(img, rules)
            found_w = centre_source(img, (float(x) - x0, float(y) - y0), radius)
            if found_w is None:
                continue
            _, gids, _ = found_w
            target = label_source(img, w_isl, gids, img.shape, rules)
            if target is None:
                continue
            others = [i for i in range(1, w_isl.count + 1) if i not in gids]
            if pair_arcsec and _near_pair(w_isl.labels, others, pair_arcsec / scale):
                continue  # two neighbouring islands may be one double: its grouping is unknown, so no window
            groups = peak_groups(img, w_isl.labels, others, group_arcsec / scale)
            labs = [dict(target, target=True)] + [a for a in (neighbour_label(img, w_isl, g, rules, 2.0)
                                                              for g in groups) if a is not None]
            name = f"real/{Path(rec.file).stem}_{k}.fits"
            hdr = cut.wcs.to_header()
            hdr["BUNIT"], hdr["BMAJ"], hdr["BMIN"], hdr["BPA"] = "JY/BEAM", 5.4 / 3600, 5.4 / 3600, 0.0
            fits.PrimaryHDU(img.astype(np.float32), hdr).writeto(out / name, overwrite=True)
            images.append({"file_name": name, "width": size, "height": size, "split": "train"})
            anns.append(labs)
    return images, anns


def dr1_windows(out: Path, *, folds: list[int], n_folds: int, crops: int, seed: int, window_arcsec: float = 180.0,
                jitter_arcsec: float = 18.0, only: set[str] | None = None) -> tuple[list[dict], list[list[dict]]]:
    """Windows around the DR1 sources of ``folds`` (``only``: of these FIRST ids) labelled with RGZ's grouping and
    class (module docstring)."""
    import pandas as pd
    from astropy.io import fits
    from astropy.wcs import WCS

    from benchmarks.real_sky import dr1_sources, islands_under
    from benchmarks.real_split import dr1_folds
    from catalogs.sky import pixel_scale_arcsec
    from rgz import RGZ_CLASSES
    from rgz.contours import LabelRules, find_islands
    from rgz.simulate.real import GALAXY_MARGIN_ARCSEC, centre_source
    from rgz.simulate.sky import label_source, neighbour_label

    rules = LabelRules()
    fold_of = dr1_folds(DATA, n_folds)
    every = dr1_sources(DATA)
    mirabest = {r.file: r for r in pd.read_csv(DATA / "mirabest-fields" / "labels.csv").itertuples()}
    rng = np.random.default_rng(seed)
    (out / "dr1").mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    first: dict[str, dict] = {}  # crops per RGZ subject, around its first source (a subject can hold several)
    for s in every:
        first.setdefault(s["first_id"], s)
    mine = [s for s in first.values() if fold_of[s["first_id"]] in folds and (only is None or s["first_id"] in only)]
    for field in sorted({s["field"] for s in mine}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(field) as h:
                data = np.squeeze(h[0].data).astype(np.float64)
                wcs = WCS(h[0].header).celestial
        scale = pixel_scale_arcsec(wcs)
        size = round(window_arcsec / scale)
        if min(data.shape) < size:
            continue
        # every DR1 source on this field's pixels (not only those placed in it): all share its sky region's fold
        here = []
        for s in every:
            px = np.stack(wcs.world_to_pixel_values(s["cpnt_ra"], s["cpnt_dec"]), 1)
            if ((px >= 0) & (px <= np.array(data.shape[::-1]) - 1)).all():
                here.append((s, px))
        field_isl = find_islands(data, rules)
        rec = mirabest[Path(field).name]
        mx, my = wcs.world_to_pixel_values(rec.ra, rec.dec)
        radius = (rec.size_arcsec / 2 + GALAXY_MARGIN_ARCSEC) / scale
        for s, px in here:
            if s["field"] != field or s not in mine:
                continue
            ids = islands_under(field_isl.labels, px)
            if not ids:
                continue
            ys, xs = np.nonzero(np.isin(field_isl.labels, ids))
            lo_x, hi_x = max(xs.max() - size + 3, 0), min(xs.min() - 2, data.shape[1] - size)
            lo_y, hi_y = max(ys.max() - size + 3, 0), min(ys.min() - 2, data.shape[0] - size)
            if lo_x > hi_x or lo_y > hi_y:
                continue  # larger than a cutout, or at the field's edge
            cx, cy = wcs.world_to_pixel_values(s["ra"], s["dec"])
            for k in range(crops):
                jx, jy = rng.uniform(-jitter_arcsec, jitter_arcsec, 2) / scale
                x0 = int(np.clip(round(cx + jx - (size - 1) / 2), lo_x, hi_x))
                y0 = int(np.clip(round(cy + jy - (size - 1) / 2), lo_y, hi_y))
                img = data[y0:y0 + size, x0:x0 + size]
                isl = find_islands(img, rules)
                edge = set(np.unique(np.concatenate([isl.labels[0], isl.labels[-1], isl.labels[:, 0],
                                                     isl.labels[:, -1]])).tolist()) - {0}
                labs, taken = [], set()
                for t, tpx in here:  # RGZ's sources: its grouping and its class
                    tids = islands_under(isl.labels, tpx - np.array([x0, y0]))
                    if not tids or set(tids) & taken:
                        continue
                    taken.update(tids)
                    cls = f"{t['num_cpnts']}C_{min(t['num_peaks'], 3)}P"
                    lab = None if set(tids) & edge or cls not in RGZ_CLASSES else label_source(img, isl, tids,
                                                                                              img.shape, rules)
                    if lab is None:
                        continue  # cut by the window, or no class: unlabelled, and not a neighbour either
                    labs.append(dict(lab, category_id=RGZ_CLASSES.index(cls) + 1, n_components=t["num_cpnts"],
                                     n_peaks=min(t["num_peaks"], 3), target=t is s))
                found = centre_source(img, (float(mx) - x0, float(my) - y0), radius)
                if found is not None and not set(found[1]) & (taken | edge):
                    lab = label_source(img, isl, found[1], img.shape, rules)
                    taken.update(found[1])
                    if lab is not None:
                        labs.append(dict(lab, target=False))
                labs += [a for a in (neighbour_label(img, isl, [i], rules, 2.0)
                                     for i in range(1, isl.count + 1) if i not in taken) if a is not None]
                name = f"dr1/{s['first_id']}_{k}.fits"
                hdr = wcs[y0:y0 + size, x0:x0 + size].to_header()
                hdr["BUNIT"], hdr["BMAJ"], hdr["BMIN"], hdr["BPA"] = "JY/BEAM", 5.4 / 3600, 5.4 / 3600, 0.0
                fits.PrimaryHDU(img.astype(np.float32), hdr).writeto(out / name, overwrite=True)
                images.append({"file_name": name, "width": size, "height": size, "split": "train"})
                anns.append(labs)
    return images, anns


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sim", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--crops", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pair-arcsec", type=float, default=0.0,
                    help="leave out windows where two islands other than the centre galaxy's come this close "
                         "(a neighbouring double would be labelled as two sources; 0: keep all)")
    ap.add_argument("--group-arcsec", type=float, default=0.0,
                    help="label islands other than the centre galaxy's whose peaks lie this close as one source "
                         "(RGZ labels most pairs under ~74\" as one: benchmarks/companions.py; 0: each island alone)")
    ap.add_argument("--dr1-folds", type=int, nargs="*", default=[],
                    help="also windows around the RGZ DR1 sources of these folds, with RGZ's labels (cross-validation)")
    ap.add_argument("--n-folds", type=int, default=2)
    ap.add_argument("--dr1-crops", type=int, default=10, help="windows per DR1 source")
    args = ap.parse_args()
    from rgz.simulate.writer import coco_annotation

    if not (args.sim / "annotations.json").is_file():
        sys.exit(f"{args.sim}: no annotations.json (give a folder written by claran simulate)")
    if not (DATA / "mirabest-fields" / "labels.csv").is_file():
        sys.exit(f"{DATA / 'mirabest-fields'}: not found (this script needs ../shared/data)")
    coco = json.loads((args.sim / "annotations.json").read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    if not (args.out / "radio").exists():
        os.symlink((args.sim / "radio").resolve(), args.out / "radio")
    images, anns = real_windows(args.out, crops=args.crops, seed=args.seed, pair_arcsec=args.pair_arcsec,
                                group_arcsec=args.group_arcsec)
    if args.dr1_folds:
        more = dr1_windows(args.out, folds=args.dr1_folds, n_folds=args.n_folds, crops=args.dr1_crops, seed=args.seed)
        print(f"{len(more[0])} windows around the DR1 sources of folds {args.dr1_folds}")
        images, anns = images + more[0], anns + more[1]
    next_img = max(im["id"] for im in coco["images"]) + 1
    next_ann = max(a["id"] for a in coco["annotations"]) + 1
    for im, labs in zip(images, anns, strict=True):
        coco["images"].append({**im, "id": next_img})
        for a in labs:
            coco["annotations"].append({**coco_annotation(a, next_img), "id": next_ann})
            next_ann += 1
        next_img += 1
    (args.out / "annotations.json").write_text(json.dumps(coco))
    print(f"{len(images)} real windows ({sum(len(a) for a in anns)} sources) + {next_img - 1 - len(images)} "
          f"simulated cutouts -> {args.out}")


if __name__ == "__main__":
    main()
