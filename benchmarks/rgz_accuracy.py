"""Score an RGZ model on a held-out simulated set and on the real labelled FIRST cutouts.

    python benchmarks/rgz_accuracy.py --model rgz/models/default.pt \
        --sim /work/simdata/heldout --real ../shared/data/rgz-real-dev [--json out.json]

Both sets are scored with ``../shared/tools/rgz_score.py`` (the project's judge: PASCAL VOC all-point AP at
IoU 0.5 per class, mean over the classes present, and the centre-class accuracy), on the catalogue that
``Detector.detect`` writes, i.e. exactly what ``claran detect`` produces. A simulated folder's
annotations.json (COCO continuous boxes) is converted into the judge's truth.json (astropy pixel boxes).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rgz import RGZ_CLASSES  # noqa: E402
from rgz.coords import detector_to_astropy  # noqa: E402

SHARED = ROOT.parent / "shared"


def load_scorer(path: Path):
    spec = importlib.util.spec_from_file_location("rgz_score", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def sim_truth(sim_dir: Path) -> dict:
    """annotations.json -> the judge's truth.json form (boxes in astropy pixel coordinates)."""
    ann = json.loads((sim_dir / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in ann["categories"]}
    truth: dict = {Path(im["file_name"]).name: {"objects": []} for im in ann["images"]}
    files = {im["id"]: Path(im["file_name"]).name for im in ann["images"]}
    for a in ann["annotations"]:
        x, y, w, h = a["bbox"]
        box = detector_to_astropy(np.array([x, y, x + w, y + h])).tolist()
        truth[files[a["image_id"]]]["objects"].append({"class": names[a["category_id"]], "box": box})
    return {k: v for k, v in truth.items() if v["objects"]}


def score(det, files: list[Path], truth: dict, scorer, min_score: float, workdir: Path, tag: str) -> dict:
    from catalogs import write_catalog

    t0 = time.perf_counter()
    res = det.detect_many([str(f) for f in files], min_score=min_score)
    elapsed = time.perf_counter() - t0
    cat = workdir / f"{tag}.ecsv"
    write_catalog(res.table, cat, overwrite=True)
    tpath = workdir / f"{tag}_truth.json"
    tpath.write_text(json.dumps(truth))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        m, centre = scorer.main(str(tpath), str(cat))
    text = out.getvalue().strip()
    per_class = {}
    for tok_c, tok_v in zip(text.splitlines()[0].split()[0::2], text.splitlines()[0].split()[1::2]):
        per_class[tok_c] = float(tok_v)
    return {"mAP50": m, "centre_accuracy": centre, "per_class_AP50": per_class, "n_images": len(truth),
            "n_rows": len(res.table), "errors": len(res.errors), "seconds_per_image": elapsed / max(len(files), 1),
            "report": text}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="checkpoint (default: the bundled model)")
    ap.add_argument("--sim", type=Path, help="held-out simulated folder (claran simulate, a seed never trained on)")
    ap.add_argument("--real", type=Path, default=SHARED / "data" / "rgz-real-dev", help="folder with fits/ and truth.json")
    ap.add_argument("--scorer", type=Path, default=SHARED / "tools" / "rgz_score.py")
    ap.add_argument("--min-score", type=float, default=None, help="catalogue threshold (default: claran detect's)")
    ap.add_argument("--classes", choices=["contours", "network"], default="contours",
                    help="how each source gets its class (claran detect --classes)")
    ap.add_argument("--tta", action="store_true", help="8 rotations/flips per frame (claran detect --tta)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="claran detect --precision")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)

    import inspect

    from rgz.detector import Detector

    det = Detector.load(args.model, classes=args.classes, tta=args.tta, precision=args.precision)
    min_score = args.min_score
    if min_score is None:
        min_score = inspect.signature(Detector.detect).parameters["min_score"].default
    scorer = load_scorer(args.scorer)
    results: dict = {"model": args.model or "bundled default", "min_score": min_score,
                     "class_mode": args.classes, "tta": args.tta,
                     "precision": args.precision, "classes": list(RGZ_CLASSES)}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.sim:
            truth = sim_truth(args.sim)
            files = [args.sim / "radio" / k for k in truth]
            results["simulated"] = score(det, files, truth, scorer, min_score, work, "sim")
            print(f"held-out simulated ({args.sim}, {len(files)} cutouts):\n{results['simulated']['report']}")
        if args.real and (args.real / "truth.json").is_file():
            truth = json.loads((args.real / "truth.json").read_text())
            files = [args.real / "fits" / k for k in truth]
            results["real"] = score(det, files, truth, scorer, min_score, work, "real")
            print(f"real FIRST ({args.real}, {len(files)} cutouts):\n{results['real']['report']}")
        elif args.real:
            print(f"{args.real}: no truth.json; real-sky scoring skipped")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
