"""Inference latency: every claran backend and precision beside torchvision, on the very same weights.

    python benchmarks/inference_speed.py [--size 600] [--iters 3] [--mask] [--threads 1]

torchvision's R50-FPN (random weights, nothing downloaded) and ``claran.from_torchvision`` of it get a
SIZE x SIZE RGB image, resize it themselves (min_size=SIZE) and post-process. The claran rows go through
claran.Predictor: float32 torch with FrozenBN folded (the default), unfolded, ONNX Runtime float32
(``backend="onnxruntime"``, exported in memory; CPU only) and ``precision="bf16"``. All are timed in one
interleaved run (A B C ... repeated, medians), and for each row its detections are matched to torchvision's
(IoU >= 0.9, same label). Random weights make scores near-ties, so bf16 rounding reorders which 100 boxes are
kept: its agreement here says little about a trained model (tests/test_performance.py checks bf16 on the
bundled RGZ model). Runs on the GPU when there is one (without the ONNX Runtime row), else the CPU.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import interleaved, med  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=600)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--mask", action="store_true", help="maskrcnn_resnet50_fpn instead of fasterrcnn_resnet50_fpn")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (CPU)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from claran import Predictor, from_torchvision

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    torch.manual_seed(0)
    ctor = torchvision.models.detection.maskrcnn_resnet50_fpn if args.mask else \
        torchvision.models.detection.fasterrcnn_resnet50_fpn
    tv = ctor(weights=None, weights_backbone=None, min_size=args.size, max_size=max(1000, args.size)).eval().to(device)
    ours = Predictor(from_torchvision(tv), device=device)
    img = np.random.default_rng(0).integers(0, 255, (args.size, args.size, 3), dtype=np.uint8)
    x = torch.from_numpy(img).permute(2, 0, 1).float().div(255).to(device)
    rows = {"claran fp32 torch (BN folded)": ours,
            "claran fp32 torch (unfolded)": Predictor(from_torchvision(tv), device=device, fuse_bn=False)}
    if not cuda and _has_onnxruntime():
        rows["claran fp32 ONNX Runtime"] = Predictor(from_torchvision(tv), backend="onnxruntime")
    rows["claran bf16 torch"] = Predictor(from_torchvision(tv), device=device, precision="bf16")
    with torch.inference_mode():
        ref = tv([x])[0]  # also the warm-ups
        got = {name: p(img) for name, p in rows.items()}
        fns = {"torchvision": lambda: tv([x])}
        fns.update({name: (lambda p=p: p(img)) for name, p in rows.items()})
        ts = {k: med(v) for k, v in interleaved(fns, args.iters, sync=cuda).items()}
    where = torch.cuda.get_device_name() if cuda else f"CPU ({torch.get_num_threads()} threads)"
    print(f"{ctor.__name__} at {args.size}px on {where}, one interleaved run, median of {args.iters}; "
          f"torchvision made {len(ref['boxes'])} detections")
    print(f"  {'':32s} {'ms/img':>8s} {'speed-up':>8s}  same as torchvision / matched detections")
    print(f"  {'torchvision':32s} {ts['torchvision'] * 1000:8.1f} {1.0:8.2f}x")
    for name in rows:
        print(f"  {name:32s} {ts[name] * 1000:8.1f} {ts['torchvision'] / ts[name]:8.2f}x  "
              f"{_same(got[name], ref)} / {_agreement(got[name], ref)}")
    print("  (same: count, labels, boxes within 0.05 px, scores within 1e-3; goal: 1.5x at float32 with the same "
          "detections)")


def _has_onnxruntime() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def _same(d: dict, ref: dict) -> bool:
    return bool(len(d["boxes"]) == len(ref["boxes"]) and (d["labels"] == ref["labels"].cpu().numpy()).all()
                and np.abs(d["boxes"] - ref["boxes"].cpu().numpy()).max(initial=0) <= 0.05
                and np.abs(d["scores"] - ref["scores"].cpu().numpy()).max(initial=0) <= 1e-3)


def _agreement(d: dict, ref: dict) -> str:
    """How many of claran's detections torchvision also made (IoU >= 0.9 and the same label)."""
    from torchvision.ops import box_iou

    if not len(d["boxes"]) or not len(ref["boxes"]):
        return f"{len(d['boxes'])} vs {len(ref['boxes'])} detections"
    iou = box_iou(torch.as_tensor(d["boxes"]).float(), ref["boxes"].float().cpu())
    best, j = iou.max(1)
    ok = (best >= 0.9) & (torch.as_tensor(d["labels"]) == ref["labels"].cpu()[j])
    ds = (torch.as_tensor(d["scores"]) - ref["scores"].cpu()[j])[ok].abs()
    return (f"{int(ok.sum())} of {len(ok)} detections matched in torchvision's {len(ref['boxes'])} "
            f"(IoU >= 0.9, same label; score difference <= {float(ds.max()) if len(ds) else 0:.4f})")


if __name__ == "__main__":
    main()
