"""The ``RGZ.*`` config namespace and what follows from it: input channels, normalisation and PREPROC sizes
from the representation and input size, the six RGZ classes, and the checkpoint's RGZ settings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from claran.config import Config
from claran.errors import DatasetError

from . import FRAME_PIXEL_SCALE, FRAME_SIZE, RGZ_CLASSES
from .render import REPRESENTATIONS

__all__ = ["RGZ_DEFAULTS", "extend_config", "apply_rgz_config", "after_overrides", "rgz_checkpoint_extra"]

RGZ_DEFAULTS: dict[str, Any] = {
    "RGZ.REPRESENTATION": "D1",
    "RGZ.FRAME_SIZE": FRAME_SIZE,
    "RGZ.PIXEL_SCALE": FRAME_PIXEL_SCALE,
    "RGZ.INPUT_SIZE": 600,  # ClaRAN upsampled 132 -> 600 px (264 and 132 were also studied)
    "RGZ.VAL_FRACTION": 0.1,
    "RGZ.CACHE_DIR": "",
}

# Per-representation normalisation (0..255 scale). The 3-channel renderings keep ImageNet's statistics
# (ClaRAN fine-tuned ImageNet backbones); phys: measured on the 18 rgz-real-dev + 40 MiraBest frames.
_PIXEL_STATS = {
    "D1": ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375]),
    "D3": ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375]),
    "D4": ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375]),
    "phys": ([38.0, 37.0], [15.0, 15.0]),
}


def extend_config(cfg: Config) -> Config:
    """Add the ``RGZ.*`` namespace (existing values are kept)."""
    return cfg.extend(RGZ_DEFAULTS)


def apply_rgz_config(cfg: Config) -> None:
    """Derive the core keys that follow from ``RGZ.*``: input channels and normalisation from the
    representation, PREPROC sizes from the input size, the six RGZ classes."""
    extend_config(cfg)
    rep = cfg.RGZ.REPRESENTATION
    if rep not in REPRESENTATIONS:
        raise DatasetError(f"config RGZ.REPRESENTATION={rep!r}: choose one of {', '.join(REPRESENTATIONS)}")
    cfg.BACKBONE.IN_CHANNELS = REPRESENTATIONS[rep]
    mean, std = _PIXEL_STATS[rep]
    cfg.PREPROC.PIXEL_MEAN, cfg.PREPROC.PIXEL_STD = list(mean), list(std)
    s = int(cfg.RGZ.INPUT_SIZE)
    cfg.PREPROC.TRAIN_SHORT_EDGE_SIZE = [s, s]
    cfg.PREPROC.TEST_SHORT_EDGE_SIZE = s
    cfg.PREPROC.MAX_SIZE = s
    cfg.DATA.CLASS_NAMES = list(RGZ_CLASSES)


def rgz_checkpoint_extra(cfg: Config) -> dict[str, Any]:
    """What a checkpoint needs to frame and render new images the way it was trained."""
    return {"rgz": {"representation": cfg.RGZ.REPRESENTATION, "frame_size": int(cfg.RGZ.FRAME_SIZE),
                    "pixel_scale_arcsec": float(cfg.RGZ.PIXEL_SCALE),
                    "input_size": int(cfg.PREPROC.TEST_SHORT_EDGE_SIZE),  # what the network saw (a preset may change it)
                    "classes": list(RGZ_CLASSES)}}


class _LazyExtra(Mapping):
    """checkpoint_extra computed when the trainer reads it, i.e. after the preset and --config overrides."""

    def __init__(self, cfg: Config, representation: str | None = None) -> None:
        self.cfg, self.representation = cfg, representation

    def _value(self) -> dict[str, Any]:
        d = rgz_checkpoint_extra(self.cfg)
        if self.representation:
            d["rgz"]["representation"] = self.representation
        return d

    def __getitem__(self, key: str) -> Any:
        return self._value()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._value())

    def __len__(self) -> int:
        return 1


def after_overrides(cfg: Config, overrides: tuple[str, ...] | list[str] = ()) -> None:
    """Re-derive what follows from ``RGZ.*`` keys given as ``--config`` overrides (call after them).

    Keys the user set explicitly win: ``RGZ.REPRESENTATION=phys`` updates BACKBONE.IN_CHANNELS and
    PREPROC.PIXEL_MEAN/STD unless those were overridden too; ``RGZ.INPUT_SIZE`` updates the PREPROC sizes.
    """
    keys = {o.split("=", 1)[0].strip() for o in overrides}
    if "RGZ.REPRESENTATION" in keys:
        rep = cfg.RGZ.REPRESENTATION
        if rep not in REPRESENTATIONS:
            raise DatasetError(f"config RGZ.REPRESENTATION={rep!r}: choose one of {', '.join(REPRESENTATIONS)}")
        if "BACKBONE.IN_CHANNELS" not in keys:
            cfg.BACKBONE.IN_CHANNELS = REPRESENTATIONS[rep]
        mean, std = _PIXEL_STATS[rep]
        if "PREPROC.PIXEL_MEAN" not in keys:
            cfg.PREPROC.PIXEL_MEAN = list(mean)
        if "PREPROC.PIXEL_STD" not in keys:
            cfg.PREPROC.PIXEL_STD = list(std)
    if "RGZ.INPUT_SIZE" in keys:
        s = int(cfg.RGZ.INPUT_SIZE)
        if "PREPROC.TRAIN_SHORT_EDGE_SIZE" not in keys:
            cfg.PREPROC.TRAIN_SHORT_EDGE_SIZE = [s, s]
        if "PREPROC.TEST_SHORT_EDGE_SIZE" not in keys:
            cfg.PREPROC.TEST_SHORT_EDGE_SIZE = s
        if "PREPROC.MAX_SIZE" not in keys:
            cfg.PREPROC.MAX_SIZE = s
