"""Self-describing checkpoints, written atomically.

A checkpoint is a dict saved with ``torch.save``::

    {"format": "claran-checkpoint", "version": 1, "model": state_dict, "config": cfg.to_dict(),
     "class_names": ["BG", ...], "step": int, "optimizer": ..., "scheduler": ..., "extra": {...}}

``extra`` carries what a layer above the core needs to use the model again (for example the RGZ
input representation), so ``evaluate``, ``predict`` and ``detect`` need nothing but the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch

from ..config import Config
from ..errors import CheckpointError
from ..fileio import atomic_save, atomic_write_bytes  # noqa: F401  (re-exported for callers)

__all__ = ["save_checkpoint", "load_checkpoint", "load_model", "find_checkpoints", "atomic_save", "atomic_write_bytes"]

FORMAT = "claran-checkpoint"
_STEP_RE = re.compile(r"^model-(\d+)\.pt$")


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model: torch.nn.Module,
    cfg: Config,
    step: int = 0,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write a self-describing checkpoint atomically (a crash never leaves a half-written file)."""
    module = getattr(model, "module", model)  # unwrap DDP
    state = {
        "format": FORMAT,
        "version": 1,
        "model": {k: v.detach().cpu() for k, v in module.state_dict().items()},
        "config": cfg.to_dict(),
        "class_names": list(cfg.DATA.CLASS_NAMES),
        "step": int(step),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None and hasattr(scheduler, "state_dict") else None,
        "extra": dict(extra or {}),
    }
    atomic_save(state, path)


def load_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and validate a checkpoint; raise ``CheckpointError`` with one clear line if it is unusable."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{p}: checkpoint not found; pass a file written by `claran train`")
    if p.is_dir():
        found = find_checkpoints(p)
        if not found:
            raise CheckpointError(f"{p}: folder holds no model-*.pt checkpoint")
        p = found[-1]
    try:
        ckpt = torch.load(p, map_location=map_location, weights_only=False)
    except Exception as e:  # truncated zip, pickle garbage, text file...
        raise CheckpointError(f"{p}: not a readable checkpoint ({type(e).__name__}); it may be truncated or another kind of file") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT or "model" not in ckpt or "config" not in ckpt:
        raise CheckpointError(f"{p}: not a claran checkpoint (no format/model/config entries); "
                              "for torchvision weights use claran.from_torchvision")
    ckpt["path"] = str(p)
    return ckpt


def load_model(path: str | os.PathLike, *, map_location: str | torch.device = "cpu", is_training: bool = False):
    """Build the model a checkpoint describes and load its weights. Returns ``(model, checkpoint)``."""
    from ..modeling import build_model  # local: modeling imports are heavy

    ckpt = load_checkpoint(path, map_location=map_location)
    try:
        cfg = Config.from_dict(ckpt["config"], freeze=True)
    except (ValueError, KeyError, TypeError) as e:  # ConfigError is a ValueError: a key typo, a wrong type
        raise CheckpointError(f"{ckpt['path']}: its config is not valid ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    model = build_model(cfg, load_backbone=False)  # the checkpoint has every weight; never fetch ImageNet
    own, state = model.state_dict(), ckpt["model"]
    if not isinstance(state, dict):
        raise CheckpointError(f"{ckpt['path']}: its 'model' entry is not a state_dict")
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    reshaped = [k for k in own if k in state and getattr(state[k], "shape", None) != own[k].shape]
    if missing or unexpected or reshaped:  # count them: torch's message lists hundreds of names
        first = (missing or unexpected or reshaped)[0]
        raise CheckpointError(f"{ckpt['path']}: weights do not fit the architecture its config describes ({len(missing)} "
                              f"missing, {len(unexpected)} unexpected, {len(reshaped)} of another shape, e.g. {first})")
    model.load_state_dict(state, strict=True)
    model.train(is_training)
    return model, ckpt


def find_checkpoints(logdir: str | os.PathLike) -> list[Path]:
    """``model-<step>.pt`` files in ``logdir``, oldest step first."""
    d = Path(logdir)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _STEP_RE.match(p.name))]
    return [p for _, p in sorted(found)]
