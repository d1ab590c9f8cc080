"""How well RGZ's contour rule (rgz.contours) reproduces real RGZ labels, for several contour settings.

    python benchmarks/contour_rule.py [--levels 3 4 5 6] [--factors 2 1.5 1.414]

Two sets of real FIRST sources with RGZ labels:
- ``rgz-real-dev``: the 18 labelled cutouts (20 sources); each truth box gets the class ``classify_boxes``
  gives it, exactly as ``claran detect --classes contours`` classifies a detected box;
- RGZ DR1 sources of ``claran-labels/rgz_dr1_claran_catalogue.csv`` whose first component lies inside a
  ``mirabest-sample`` image (not the dev fields): a 100 x 100 px cutout is cut around the source's FIRST
  position, and the islands under its catalogued component positions are counted with their peaks.
Prints, per lowest contour (in MAD sigmas) and level spacing, how many sources get the right number of
components and the right XC_YP class.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rgz import RGZ_CLASSES  # noqa: E402
from rgz.contours import LabelRules, class_id, classify_boxes, count_peaks, find_islands  # noqa: E402
from rgz.coords import astropy_to_detector  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


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


def catalogue_sources(data: Path, skip: set[str]) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """(100 px cutout, component pixel positions (N, 2), RGZ class) of DR1 sources inside MiraBest images."""
    import pandas as pd
    from astropy.io import fits
    from astropy.nddata import Cutout2D
    from astropy.wcs import WCS

    cat = pd.read_csv(data / "claran-labels" / "rgz_dr1_claran_catalogue.csv")
    comps = [(np.array(r.split(";"), float), np.array(d.split(";"), float))
             for r, d in zip(cat.cpnts_ras, cat.cpnts_decs, strict=True)]
    first = np.array([[c[0][0], c[1][0]] for c in comps])
    out = []
    for f in sorted((data / "mirabest-sample").glob("*.fits")):
        if f.name in skip:
            continue
        data2d = np.squeeze(fits.getdata(f)).astype(np.float64)
        w = WCS(fits.getheader(f)).celestial
        x, y = w.world_to_pixel_values(first[:, 0], first[:, 1])
        for i in np.flatnonzero((x > 60) & (x < data2d.shape[1] - 60) & (y > 60) & (y < data2d.shape[0] - 60)):
            c = _first_id_position(cat.first_id[i])
            cx, cy = w.world_to_pixel_values(c.ra.deg, c.dec.deg)
            cut = Cutout2D(data2d, (float(cx), float(cy)), 100, wcs=w, mode="partial")
            px, py = cut.wcs.world_to_pixel_values(*comps[i])
            cls = f"{cat.num_cpnts[i]}C_{min(int(cat.num_peaks[i]), 3)}P"
            if cls in RGZ_CLASSES:
                out.append((cut.data, np.stack([px, py], 1), cls))
    return out


def _first_id_position(first_id: str):
    """FIRSTJhhmmss.s+ddmmss -> SkyCoord."""
    from astropy.coordinates import SkyCoord

    s = first_id.split("J", 1)[1]
    k = max(s.find("+"), s.find("-"))
    ra, dec = s[:k], s[k:]
    return SkyCoord(f"{ra[:2]}h{ra[2:4]}m{ra[4:]}s {dec[:3]}d{dec[3:5]}m{dec[5:]}s")


def catalogue_class(img: np.ndarray, pos: np.ndarray, rules: LabelRules) -> tuple[int, int | None]:
    """Islands under the component positions (the largest within 3 px of each) and their class."""
    isl = find_islands(img, rules)
    ids = set()
    for x, y in np.rint(pos).astype(int):
        win = isl.labels[max(0, y - 3):y + 4, max(0, x - 3):x + 4]
        if win.any():
            ids.add(int(np.bincount(win.ravel())[1:].argmax()) + 1)
    if not ids:
        return 0, None
    n_p = count_peaks(img, np.isin(isl.labels, sorted(ids)), isl.levels)
    return len(ids), class_id(len(ids), n_p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--levels", type=float, nargs="+", default=[3, 4, 5, 6])
    ap.add_argument("--factors", type=float, nargs="+", default=[2.0, 1.5, 2**0.5])
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # SkyView headers without beams, FITS keyword chatter
    dev_dir = args.data / "rgz-real-dev"
    if not (dev_dir / "truth.json").is_file():
        sys.exit(f"{dev_dir}: no truth.json (this benchmark needs ../shared/data)")
    dev = dev_sources(dev_dir)
    skip = {v.get("mirabest_file") for v in json.loads((dev_dir / "truth.json").read_text()).values()}
    cat = catalogue_sources(args.data, skip)
    print(f"{len(dev)} dev sources, {len(cat)} DR1 catalogue sources in MiraBest fields")
    print("lowest  spacing | dev: components  class | catalogue: components  class")
    for lv in args.levels:
        for fac in args.factors:
            rules = LabelRules(level_sigma=lv, level_factor=fac, n_levels=int(np.ceil(14 * np.log(2) / np.log(fac))))
            got = [classify_boxes(img, box[None], rules)[0] for img, box, _ in dev]
            dev_c = sum(c is not None and RGZ_CLASSES[c - 1][0] == t[0] for c, (_, _, t) in zip(got, dev, strict=True))
            dev_k = sum(c is not None and RGZ_CLASSES[c - 1] == t for c, (_, _, t) in zip(got, dev, strict=True))
            res = [catalogue_class(img, pos, rules) for img, pos, _ in cat]
            cat_c = sum(n == int(t[0]) for (n, _), (_, _, t) in zip(res, cat, strict=True))
            cat_k = sum(c is not None and RGZ_CLASSES[c - 1] == t for (_, c), (_, _, t) in zip(res, cat, strict=True))
            print(f"{lv:4.1f}    x{fac:5.3f} | {dev_c:9d}/{len(dev)} {dev_k:5d}/{len(dev)} | "
                  f"{cat_c:15d}/{len(cat)} {cat_k:5d}/{len(cat)}")


if __name__ == "__main__":
    main()
