"""Self-training data: pseudo-labelled real FIRST cutouts (MiraBest) mixed into a simulated training set.

    python benchmarks/self_training.py --model rgz/models/default.pt --sim SIMDIR --out MIXDIR \
        [--min-score 0.8] [--repeat 4]

1. ``Detector.detect_many`` (contour classes) on the MiraBest images of ../shared/data/mirabest-sample,
   leaving out the parent fields of the rgz-real-dev cutouts and every image within 12' of a field that
   ``benchmarks/real_split.py`` holds out (so the dev set and ``real_sky.py``'s measures stay unseen).
2. A 100 x 100 px cutout (FIRST pixels, the RGZ cutout size) around each confident detection
   (score >= --min-score). A cutout is kept only when every detection touching it is either confident and
   wholly inside (it becomes a label) or scores below 0.3 (background): uncertain or cut sources would teach
   the model wrong negatives.
3. MIXDIR in the RGZ dataset layout: the simulated images (symlinked) plus the real cutouts, each listed
   ``--repeat`` times, in one annotations.json. Train on it with ``claran train --dataset rgz --data MIXDIR``.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"

from rgz import RGZ_CLASSES  # noqa: E402
from rgz.coords import astropy_to_detector  # noqa: E402

SIZE = 100


def pseudo_labels(model: str | None, files: list[Path], min_score: float) -> tuple[list[dict], list]:
    """Cutouts (data, header, COCO boxes, classes) around confident detections of ``files``."""
    from astropy.nddata import Cutout2D
    from astropy.nddata.utils import NoOverlapError, PartialOverlapError

    from rgz.detector import Detector
    from rgz.fits_io import read_radio

    det = Detector.load(model)
    table = det.detect_many([str(f) for f in files], min_score=0.3).table
    out = []
    for f in files:
        rows = table[table["image"] == str(f)]
        if not len(rows):
            continue
        image = read_radio(str(f))
        boxes = np.array([[r["x_min"], r["y_min"], r["x_max"], r["y_max"]] for r in rows], dtype=np.float64)
        for i in np.flatnonzero(np.asarray(rows["score"]) >= min_score):
            centre = ((boxes[i, 0] + boxes[i, 2]) / 2, (boxes[i, 1] + boxes[i, 3]) / 2)
            try:
                cut = Cutout2D(image.data, centre, SIZE, wcs=image.wcs, mode="strict")
            except (NoOverlapError, PartialOverlapError):
                continue
            x0, y0 = cut.origin_original
            local = boxes - [x0, y0, x0, y0]
            touches = (local[:, 2] > -0.5) & (local[:, 0] < SIZE - 0.5) & (local[:, 3] > -0.5) & (local[:, 1] < SIZE - 0.5)
            inside = (local[:, 0] >= -0.5) & (local[:, 1] >= -0.5) & (local[:, 2] <= SIZE - 0.5) & (local[:, 3] <= SIZE - 0.5)
            confident = np.asarray(rows["score"]) >= min_score
            if np.any(touches & ~(confident & inside) & (np.asarray(rows["score"]) >= 0.3)):
                continue
            keep = touches & confident & inside
            det_boxes = astropy_to_detector(local[keep])
            header = cut.wcs.to_header()
            header["BMAJ"] = header["BMIN"] = (image.beam.bmaj if image.beam else 5.4) / 3600.0
            header["BPA"] = 0.0
            header["BUNIT"] = "JY/BEAM"
            out.append({"name": f"{f.stem}_{i}", "data": cut.data.astype(np.float32), "header": header,
                        "boxes": det_boxes, "classes": [str(c) for c in rows["morphology"][keep]]})
    return out, table


def near_heldout(f: Path, radius_arcmin: float = 12.0) -> bool:
    """Whether the MiraBest image ``f`` (its name: class code, RA, Dec in degrees) lies within ``radius_arcmin``
    of a ``mirabest-fields`` image that ``benchmarks/real_split.py`` holds out for the real-sky measures."""
    from astropy.coordinates import SkyCoord

    r, d = _heldout_positions()
    here = SkyCoord(*mirabest_position(f.name), unit="deg")
    return bool((here.separation(SkyCoord(r, d, unit="deg")).arcmin <= radius_arcmin).any())


@functools.cache
def _heldout_positions() -> tuple[np.ndarray, np.ndarray]:
    from benchmarks.real_split import heldout_fields

    pos = np.array([mirabest_position(n) for n in sorted(heldout_fields(SHARED))]).reshape(-1, 2)
    return pos[:, 0], pos[:, 1]


def mirabest_position(name: str) -> tuple[float, float]:
    """(RA, Dec) in degrees from a MiraBest file name: ``<class>_<RA><+/-Dec>_...``."""
    pos = name.split("_")[1]
    k = max(pos.rfind("+"), pos.rfind("-"))
    return float(pos[:k]), float(pos[k:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--sim", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--min-score", type=float, default=0.8)
    ap.add_argument("--repeat", type=int, default=4)
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # SkyView headers without beams
    from astropy.io import fits

    dev = json.loads((SHARED / "rgz-real-dev" / "truth.json").read_text())
    skip = {v.get("mirabest_file") for v in dev.values()}
    files = [f for f in sorted((SHARED / "mirabest-sample").glob("*.fits"))
             if f.name not in skip and not near_heldout(f)]
    cutouts, _ = pseudo_labels(args.model, files, args.min_score)
    sim = json.loads((args.sim / "annotations.json").read_text())
    (args.out / "radio").mkdir(parents=True, exist_ok=True)
    for im in sim["images"]:
        link = args.out / im["file_name"]
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)  # SIM_DIR's subfolders (real_fields.py's real/)
            link.symlink_to((args.sim / im["file_name"]).resolve())
    images, anns = list(sim["images"]), list(sim["annotations"])
    next_img, next_ann = max(i["id"] for i in images) + 1, max(a["id"] for a in anns) + 1
    per_class = dict.fromkeys(RGZ_CLASSES, 0)
    for c in cutouts:
        name = f"radio/real_{c['name']}.fits"
        fits.writeto(args.out / name, c["data"], c["header"], overwrite=True)
        for _ in range(args.repeat):
            images.append({"id": next_img, "file_name": name, "width": SIZE, "height": SIZE})
            for b, cls in zip(c["boxes"], c["classes"], strict=True):
                x1, y1, x2, y2 = (float(v) for v in b)
                anns.append({"id": next_ann, "image_id": next_img, "category_id": RGZ_CLASSES.index(cls) + 1,
                             "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
                next_ann += 1
            next_img += 1
        for cls in c["classes"]:
            per_class[cls] += 1
    mix = dict(sim, images=images, annotations=anns)
    mix["info"] = dict(sim.get("info") or {}, self_training={"model": args.model or "bundled",
                                                              "min_score": args.min_score, "repeat": args.repeat,
                                                              "real_cutouts": len(cutouts)})
    (args.out / "annotations.json").write_text(json.dumps(mix))
    print(f"{len(cutouts)} real cutouts from {len(files)} MiraBest images (x{args.repeat}), sources per class "
          f"{per_class}; {len(sim['images'])} simulated images -> {args.out}")


if __name__ == "__main__":
    main()
