"""Inference latency: claran (through claran.from_torchvision, the very same weights) vs torchvision.

    python benchmarks/inference_speed.py [--size 600] [--iters 3] [--mask]

Both models get a SIZE x SIZE RGB image, resize it themselves (min_size=SIZE) and post-process; the
claran side goes through claran.Predictor. Runs on the GPU when there is one, else the CPU.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torchvision


def _time(fn, iters: int, cuda: bool) -> float:
    fn()  # warm-up (allocations, cudnn autotune)
    times = []
    for _ in range(iters):
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=600)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--mask", action="store_true", help="maskrcnn_resnet50_fpn instead of fasterrcnn_resnet50_fpn")
    args = ap.parse_args()
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
    with torch.inference_mode():
        t_tv = _time(lambda: tv([x]), args.iters, cuda)
        t_ours = _time(lambda: ours(img), args.iters, cuda)
    where = torch.cuda.get_device_name() if cuda else f"CPU ({torch.get_num_threads()} threads)"
    print(f"{ctor.__name__} at {args.size}px on {where}, median of {args.iters}:")
    print(f"  torchvision {t_tv * 1000:.1f} ms/img   claran {t_ours * 1000:.1f} ms/img   "
          f"claran/torchvision time ratio {t_ours / t_tv:.2f}")


if __name__ == "__main__":
    main()
