"""Fingerprints of what a refactoring must not change, to compare two source trees (issue 16).

    PYTHONPATH=/path/to/treeA python benchmarks/behaviour_fingerprint.py --json a.json
    PYTHONPATH=/path/to/treeB python benchmarks/behaviour_fingerprint.py --json b.json
    python benchmarks/behaviour_fingerprint.py --compare a.json b.json

Three SHA-1 fingerprints per tree (run from either tree's root; PYTHONPATH picks the code):
- ``models``: for C4, C4 with ResNet-18 blocks, FPN, Cascade and R18-FPN (tiny widths), seeded ``build_model``
  weights and the eval outputs on one seeded image: the core's numerics, bit for bit;
- ``simulate``: 6 FIRST cutouts (seed 3, with IR): every pixel, header card and label;
- ``detect``: the bundled model's catalogue on ``rgz/examples`` (every column but the ``image`` path).
The real-sky score comes from ``benchmarks/rgz_accuracy.py --real ../shared/data/rgz-real-dev``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    "c4": ["MODE_FPN=False", "MODE_MASK=True"],
    "c4-r18": ["MODE_FPN=False", "MODE_MASK=False", "BACKBONE.BLOCK=basic", "BACKBONE.RESNET_NUM_BLOCKS=[2,2,2,2]"],
    "fpn": ["MODE_FPN=True", "MODE_MASK=True"],
    "cascade": ["MODE_FPN=True", "FPN.CASCADE=True", "MODE_MASK=False"],
    "r18-fpn": ["MODE_FPN=True", "MODE_MASK=False", "BACKBONE.BLOCK=basic", "BACKBONE.RESNET_NUM_BLOCKS=[2,2,2,2]"],
}


def models() -> dict[str, str]:
    import torch

    from claran.config import Config
    from claran.modeling import build_model

    out = {}
    for name, keys in MODELS.items():
        cfg = Config()
        cfg.update_args([*keys, "BACKBONE.WIDTH_MULTIPLIER=0.25", "PREPROC.TEST_SHORT_EDGE_SIZE=128",
                         "PREPROC.MAX_SIZE=128", "DATA.CLASS_NAMES=['a','b','c']", "TEST.RESULT_SCORE_THRESH=0.0"])
        cfg.finalize()
        torch.manual_seed(0)
        model = build_model(cfg, load_backbone=False).eval()
        h = hashlib.sha1()
        for k, v in model.state_dict().items():
            h.update(k.encode() + v.numpy().tobytes())
        torch.manual_seed(1)
        with torch.no_grad():
            o = model([torch.rand(3, 128, 128) * 255])[0]
        for k in ("boxes", "scores", "labels"):
            h.update(o[k].numpy().tobytes())
        out[name] = h.hexdigest()
    return out


def simulate() -> str:
    from astropy.io import fits

    from rgz.simulate import write_dataset

    h = hashlib.sha1()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_dataset(tmp, count=6, seed=3, ir=True)
        coco = json.loads(path.read_text())
        h.update(json.dumps([coco["images"], coco["annotations"]], sort_keys=True).encode())
        for f in sorted(Path(tmp).rglob("*.fits")):
            with fits.open(f) as hdul:
                h.update(hdul[0].data.tobytes() + repr(sorted(hdul[0].header.items())).encode())
    return h.hexdigest()


def detect() -> str:
    import numpy as np

    from rgz.detector import Detector

    table = Detector.load().detect(str(ROOT / "rgz" / "examples"))
    h = hashlib.sha1(repr(table.colnames).encode())
    for c in table.colnames:
        if c != "image":
            h.update(np.asarray(table[c]).tobytes())
    return f"{h.hexdigest()} ({len(table)} rows)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write the fingerprints here")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), help="compare two --json files")
    args = ap.parse_args()
    if args.compare:
        a, b = (json.loads(p.read_text()) for p in args.compare)
        diff = [k for k in a if a[k] != b.get(k)]
        print("identical" if not diff else f"DIFFERENT: {', '.join(diff)}")
        sys.exit(1 if diff else 0)
    import torch

    torch.set_num_threads(1)
    res = {"models": models(), "simulate": simulate(), "detect": detect()}
    print(json.dumps(res, indent=1))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
