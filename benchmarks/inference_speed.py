"""Inference latency: claran (through claran.from_torchvision, the very same weights) vs torchvision.

    python benchmarks/inference_speed.py [--size 600] [--iters 3] [--mask]

Both models get a SIZE x SIZE RGB image, resize it themselves (min_size=SIZE) and post-process; the
claran side goes through claran.Predictor: float32 with FrozenBN folded (the default), unfolded, and
``precision="bf16"`` (bfloat16 convolutions and fc layers, float32 box decoding). For each claran variant
the detections are matched to torchvision's (IoU >= 0.9, same label). The weights are random (nothing is
downloaded), so scores are near-ties and bf16 rounding reorders which 100 boxes are kept: the bf16
agreement here says little about a trained model; tests/test_performance.py checks bf16 on the trained
RGZ model. Runs on the GPU when there is one, else the CPU.
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
    plain = Predictor(from_torchvision(tv), device=device, fuse_bn=False)
    half = Predictor(from_torchvision(tv), device=device, precision="bf16")
    with torch.inference_mode():
        ref, got = tv([x])[0], ours(img)  # also the warm-up
        got_bf16 = half(img)
        plain(img)
        same = (len(got["boxes"]) == len(ref["boxes"]) and (got["labels"] == ref["labels"].cpu().numpy()).all()
                and np.abs(got["boxes"] - ref["boxes"].cpu().numpy()).max(initial=0) <= 0.05
                and np.abs(got["scores"] - ref["scores"].cpu().numpy()).max(initial=0) <= 1e-3)
        ts = interleaved({"tv": lambda: tv([x]), "ours": lambda: ours(img), "plain": lambda: plain(img),
                          "bf16": lambda: half(img)}, args.iters, sync=cuda)
        t_tv, t_ours, t_plain, t_bf16 = (med(ts[k]) for k in ("tv", "ours", "plain", "bf16"))
    where = torch.cuda.get_device_name() if cuda else f"CPU ({torch.get_num_threads()} threads)"
    print(f"{ctor.__name__} at {args.size}px on {where}, median of {args.iters}:")
    print(f"  torchvision {t_tv * 1000:.1f} ms/img   claran {t_ours * 1000:.1f} ms/img   "
          f"claran/torchvision time ratio {t_ours / t_tv:.2f} (speed-up {t_tv / t_ours:.2f}x, target 1.5x)")
    print(f"  claran without BN folding {t_plain * 1000:.1f} ms/img; same detections as torchvision "
          f"(count, labels, boxes <= 0.05 px, scores <= 1e-3): {same}")
    print(f"  claran precision='bf16' {t_bf16 * 1000:.1f} ms/img (speed-up {t_tv / t_bf16:.2f}x)")
    for name, d in (("float32", got), ("bf16", got_bf16)):
        print(f"  claran {name}: {_agreement(d, ref)}")


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
