"""Real FIRST fields themselves as training scenes, mixed into a simulated set (issue 12, item 2).

    python benchmarks/real_fields.py SIM_DIR OUT_DIR [--crops 3] [--seed 0]

Each ``mirabest-fields`` image that ``benchmarks/real_split.py`` does not hold out gives ``--crops`` random
3' x 3' windows (an RGZ cutout: 100 x 100 px at FIRST's 1.8"/px; the pixel scale is read from each field) that
hold its centre galaxy whole. Labels are measured on the window
by RGZ's rule: the centre galaxy grouped as ``rgz.simulate.real.centre_source`` groups it (the islands reaching
within half MiraBest's size plus a beam of its position), every other island that peaks above two lowest
contours and does not touch the window's edge as a source of its own (the simulator's rule for neighbours,
``rgz.simulate.sky.neighbour_label``);
``--pair-arcsec`` leaves out windows where two of those other islands are close enough to be one double.
OUT_DIR gets SIM_DIR's cutouts (linked) and the real windows in one ``annotations.json``, for
``claran train --dataset rgz --data OUT_DIR``.
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


def real_windows(out: Path, *, crops: int, seed: int, window_arcsec: float = 180.0,
                 pair_arcsec: float = 0.0) -> tuple[list[dict], list[list[dict]]]:
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
            labs = [dict(target, target=True)] + [a for a in (neighbour_label(img, w_isl, [i], rules, 2.0)
                                                              for i in others) if a is not None]
            name = f"real/{Path(rec.file).stem}_{k}.fits"
            hdr = cut.wcs.to_header()
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
    images, anns = real_windows(args.out, crops=args.crops, seed=args.seed, pair_arcsec=args.pair_arcsec)
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
