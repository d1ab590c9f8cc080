"""tensorpack model zoo detector files (``COCO-R50FPN-MaskRCNN-Standard.npz``, ...) as claran models.

The architecture is read from the variable names and shapes (``config_overrides_from_npz``), the weights go
through ``claran.tensorpack_weights``' name table, and ``convert_npz`` writes a self-describing checkpoint
(``python -m claran.engine.tensorpack_zoo SRC.npz DST.pt DATA.BASEDIR=/data/coco``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from torch import nn

from ..errors import UserError
from ..tensorpack_weights import check_names, config_overrides_from_npz, load_tensorpack_npz, read_npz

__all__ = ["load_npz_model", "load_any_model", "convert_npz"]


def load_npz_model(path: str | os.PathLike, *, overrides: Iterable[str] = ()) -> tuple[nn.Module, dict[str, Any]]:
    """A tensorpack model zoo detector .npz as ``(model, checkpoint-like dict)``; the architecture is read from
    the variables, every tensor must fit (``overrides`` may add test-time keys or DATA.BASEDIR)."""
    from ..config import Config, ConfigError
    from ..modeling import build_model

    path = str(path)
    arrays = read_npz(path, what="--load")
    check_names(arrays, path, "--load")
    cfg = Config()
    cfg.DATA.FAMILY = "coco"
    try:
        cfg.update_args([*config_overrides_from_npz(arrays), *overrides])
        cfg.finalize(is_training=False)
    except ConfigError as e:
        raise UserError(f"--load {path}: {e}") from None
    except UserError as e:
        raise UserError(f"--load {path}: {e}") from None
    model = build_model(cfg, load_backbone=False)
    load_tensorpack_npz(model, path, what="--load", strict=True)
    model.eval()
    ckpt = {"format": "claran-checkpoint", "version": 1, "path": path, "config": cfg.to_dict(), "step": 0,
            "class_names": list(cfg.DATA.CLASS_NAMES), "extra": {"source": f"tensorpack {os.path.basename(path)}"}}
    return model, ckpt


def load_any_model(path: str | os.PathLike, **kwargs: Any) -> tuple[nn.Module, dict[str, Any]]:
    """``load_model`` for claran checkpoints, ``load_npz_model`` for a tensorpack ``.npz``."""
    if str(path).lower().endswith(".npz"):
        return load_npz_model(path)
    from .checkpoint import load_model

    return load_model(path, **kwargs)


def convert_npz(src: str | os.PathLike, dst: str | os.PathLike, *, overrides: Iterable[str] = ()) -> None:
    """Write a tensorpack detector .npz as a self-describing claran checkpoint (``claran evaluate --load dst``)."""
    from .checkpoint import save_checkpoint

    model, ckpt = load_npz_model(src, overrides=overrides)
    save_checkpoint(dst, model=model, cfg=model.cfg, extra=ckpt["extra"])


def _main(argv: list[str] | None = None) -> None:
    """``python -m claran.engine.tensorpack_zoo SRC.npz DST.pt [KEY=VALUE ...]`` (e.g. DATA.BASEDIR=/data/coco)."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="python -m claran.engine.tensorpack_zoo", description=_main.__doc__)
    ap.add_argument("src", help="a tensorpack model zoo detector .npz")
    ap.add_argument("dst", help="the claran checkpoint to write")
    ap.add_argument("config", nargs="*", help="KEY=VALUE overrides saved with it (DATA.BASEDIR, TEST.* keys)")
    args = ap.parse_args(argv)
    if os.path.exists(args.dst):
        sys.exit(f"Error: {args.dst}: exists; remove it or choose another name")
    try:
        convert_npz(args.src, args.dst, overrides=args.config)
    except UserError as e:
        sys.exit(f"Error: {e}")
    print(f"wrote {args.dst}: claran evaluate --load {args.dst}")


if __name__ == "__main__":
    _main()
