"""Training throughput (images/s): claran's R50-FPN Faster R-CNN vs torchvision's fasterrcnn_resnet50_fpn.

    python benchmarks/train_speed.py [--size 600] [--batch 2] [--steps 3]

Same work on both sides: input size, batch, random init, synthetic images with 3 boxes each, and the same
trainable layers: torchvision's model is built as its pretrained recipe trains it (FrozenBatchNorm2d,
``trainable_backbone_layers=3``: stem and res2 frozen), which is claran's default (FreezeBN, FREEZE_AT=2).
``fasterrcnn_resnet50_fpn(weights=None)`` would instead train every layer with batch-statistics BN.
SGD steps are timed interleaved (torchvision, claran, torchvision, ...) after one warm-up step each, and the
medians compared, so load changes on a shared machine hit both alike. Runs on the GPU when there is one
(both with AMP; claran channels_last as its trainer), else the CPU.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import interleaved, med  # noqa: E402


def _targets(n: int, size: int, device: torch.device, masks: bool = False) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    out = []
    for _ in range(n):
        xy = torch.rand(3, 2, generator=g) * size * 0.6
        wh = 20 + torch.rand(3, 2, generator=g) * size * 0.3
        out.append({"boxes": torch.cat([xy, xy + wh], 1).to(device), "labels": torch.tensor([1, 2, 3], device=device)})
    return out


def torchvision_peer(size: int, num_classes: int) -> torch.nn.Module:
    """fasterrcnn_resnet50_fpn as torchvision trains it from ImageNet weights: frozen BN, 3 trainable stages."""
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.ops import FrozenBatchNorm2d

    backbone = _resnet_fpn_extractor(torchvision.models.resnet50(norm_layer=FrozenBatchNorm2d), 3)
    return FasterRCNN(backbone, num_classes=num_classes, min_size=size, max_size=max(1000, size))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=600)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    from claran import Config, build_model

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    torch.manual_seed(0)
    targets = _targets(args.batch, args.size, device)
    images = [torch.rand(3, args.size, args.size, device=device) for _ in range(args.batch)]

    tv = torchvision_peer(args.size, 81).to(device).train()
    opt_tv = torch.optim.SGD([p for p in tv.parameters() if p.requires_grad], lr=1e-3, momentum=0.9)

    scaler_tv = torch.amp.GradScaler("cuda", enabled=cuda)

    def tv_step():  # the same AMP recipe on both sides when on a GPU
        with torch.autocast("cuda", dtype=torch.float16, enabled=cuda):
            loss = sum(tv(images, targets).values())
        opt_tv.zero_grad()
        scaler_tv.scale(loss).backward()
        scaler_tv.step(opt_tv)
        scaler_tv.update()

    cfg = Config()
    cfg.DATA.CLASS_NAMES = [f"c{i}" for i in range(80)]
    cfg.update_args(["MODE_MASK=False", "MODE_FPN=True", f"PREPROC.TRAIN_SHORT_EDGE_SIZE=[{args.size},{args.size}]", f"PREPROC.MAX_SIZE={max(1000, args.size)}"])
    cfg.finalize(is_training=True, num_devices=1)
    ours = build_model(cfg).to(device).train()
    if cuda:
        ours.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD([p for p in ours.parameters() if p.requires_grad], lr=1e-3, momentum=0.9)
    scaler = torch.amp.GradScaler("cuda", enabled=cuda)
    images255 = [x * 255 for x in images]  # claran models take 0..255 pixels

    def our_step():
        with torch.autocast("cuda", dtype=torch.float16, enabled=cuda):
            loss = sum(ours(images255, targets).values())
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    steps = {"torchvision": tv_step, "claran": our_step}
    for f in steps.values():  # warm-up
        f()
    sec = {k: med(v) for k, v in interleaved(steps, args.steps, sync=cuda).items()}
    ips_tv, ips_ours = args.batch / sec["torchvision"], args.batch / sec["claran"]
    n_tv = sum(p.numel() for p in tv.parameters() if p.requires_grad)
    n_ours = sum(p.numel() for p in ours.parameters() if p.requires_grad)
    where = torch.cuda.get_device_name() if cuda else f"CPU ({torch.get_num_threads()} threads)"
    print(f"R50-FPN Faster R-CNN training at {args.size}px, batch {args.batch}, {args.steps} steps each on {where}; "
          f"trainable parameters: torchvision {n_tv / 1e6:.2f} M, claran {n_ours / 1e6:.2f} M")
    print(f"  torchvision {ips_tv:.2f} img/s   claran {ips_ours:.2f} img/s   claran/torchvision {ips_ours / ips_tv:.2f}x"
          + ("  (both with AMP)" if cuda else ""))


if __name__ == "__main__":
    main()
