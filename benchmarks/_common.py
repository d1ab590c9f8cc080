"""Shared helpers of the benchmarks: the torchvision peer, a random rgz-small checkpoint, interleaved timing."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch


def torchvision_r50fpn(size: int = 600) -> torch.nn.Module:
    """torchvision's fasterrcnn_resnet50_fpn, seeded random weights (no download), resizing to ``size``."""
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.detection.fasterrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, min_size=size, max_size=max(1000, size)).eval()


def tv_forward(model: torch.nn.Module, size: int = 600) -> Callable[[], object]:
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 255, (size, size, 3), dtype=np.uint8))
    x = x.permute(2, 0, 1).float().div(255)

    def run():
        with torch.inference_mode():
            return model([x])[0]
    return run


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, *, sync: bool = False) -> dict[str, list[float]]:
    """Seconds per call of each fn, called A B A B ... so load changes on a shared machine hit all alike.
    ``sync``: wait for the GPU before and after each call (CUDA work is asynchronous)."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            if sync:
                torch.cuda.synchronize()
            t = time.perf_counter()
            f()
            if sync:
                torch.cuda.synchronize()
            times[k].append(time.perf_counter() - t)
    return times


def med(v: list[float]) -> float:
    return float(np.median(v))


def rgz_small_checkpoint(path: Path) -> Path:
    """A random-weight model of the default 'rgz-small' preset (until rgz/models/default.pt exists)."""
    if path.is_file():
        return path
    from claran import Config
    from claran.config import get_preset
    from claran.engine.checkpoint import save_checkpoint
    from claran.modeling import build_model
    from rgz.dataset import rgz_checkpoint_extra

    cfg = Config()
    get_preset("rgz-small")(cfg)
    cfg.finalize(is_training=False)
    torch.manual_seed(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, model=build_model(cfg), cfg=cfg, extra=rgz_checkpoint_extra(cfg))
    return path


def simulated_cutouts(folder: Path, count: int, seed: int = 5) -> Path:
    """``claran simulate --count COUNT --seed SEED`` (cached); returns the radio/ folder."""
    radio = folder / "radio"
    if not (radio.is_dir() and len(list(radio.glob("*.fits"))) == count):
        subprocess.run([sys.executable, "-m", "cli.main", "simulate", "--count", str(count), "--seed", str(seed),
                        str(folder)], check=True, capture_output=True)
    return radio
