"""The ``RGZ.*`` config namespace and what follows from it: input channels, normalisation and PREPROC sizes
from the representation and input size (``derive``, the one place), the six RGZ classes, and the checkpoint's
``RGZModelSpec``."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from claran.config import Config
from claran.errors import DatasetError

from . import FRAME_PIXEL_SCALE, FRAME_SIZE, RGZ_CLASSES
from .model_spec import RGZModelSpec
from .render import REPRESENTATIONS
from .surveys import get_survey

__all__ = ["RGZ_DEFAULTS", "extend_config", "derive", "apply_rgz_config", "after_overrides", "rgz_checkpoint_extra"]

RGZ_DEFAULTS: dict[str, Any] = {
    "RGZ.REPRESENTATION": "D1",
    "RGZ.FRAME_SIZE": FRAME_SIZE,
    "RGZ.PIXEL_SCALE": FRAME_PIXEL_SCALE,
    "RGZ.INPUT_SIZE": 600,  # ClaRAN upsampled 132 -> 600 px (264 and 132 were also studied)
    "RGZ.VAL_FRACTION": 0.1,
    "RGZ.CACHE_DIR": "",
    "RGZ.SURVEY": "first",  # the survey the training images come from (rgz.surveys); recorded in the model spec
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


def derive(cfg: Config, *, changed: Collection[str] = ("RGZ.REPRESENTATION", "RGZ.INPUT_SIZE"),
           keep: Collection[str] = ()) -> None:
    """The one place the keys that follow from ``RGZ.*`` are set: from ``RGZ.REPRESENTATION`` (when in
    ``changed``) the input channels and normalisation, from ``RGZ.INPUT_SIZE`` the PREPROC sizes, from
    ``RGZ.SURVEY`` the survey's frame (``RGZ.FRAME_SIZE`` / ``RGZ.PIXEL_SCALE``). Keys in ``keep`` (set
    explicitly by the user) are left as they are."""

    def put(key: str, value: Any) -> None:
        if key not in keep:
            section, name = key.split(".")
            setattr(getattr(cfg, section), name, value)

    if "RGZ.SURVEY" in changed:
        survey = get_survey(str(cfg.RGZ.SURVEY))
        put("RGZ.FRAME_SIZE", survey.frame_size)
        put("RGZ.PIXEL_SCALE", survey.frame_pixel_scale_arcsec)
    if "RGZ.REPRESENTATION" in changed:
        rep = cfg.RGZ.REPRESENTATION
        if rep not in REPRESENTATIONS:
            raise DatasetError(f"config RGZ.REPRESENTATION={rep!r}: choose one of {', '.join(REPRESENTATIONS)}")
        mean, std = _PIXEL_STATS[rep]
        put("BACKBONE.IN_CHANNELS", REPRESENTATIONS[rep])
        put("PREPROC.PIXEL_MEAN", list(mean))
        put("PREPROC.PIXEL_STD", list(std))
    if "RGZ.INPUT_SIZE" in changed:
        s = int(cfg.RGZ.INPUT_SIZE)
        put("PREPROC.TRAIN_SHORT_EDGE_SIZE", [s, s])
        put("PREPROC.TEST_SHORT_EDGE_SIZE", s)
        put("PREPROC.MAX_SIZE", s)


def apply_rgz_config(cfg: Config) -> None:
    """Add the ``RGZ.*`` namespace, derive what follows from it (``derive``) and set the six RGZ classes."""
    extend_config(cfg)
    derive(cfg)
    cfg.DATA.CLASS_NAMES = list(RGZ_CLASSES)


def after_overrides(cfg: Config, overrides: tuple[str, ...] | list[str] = ()) -> None:
    """Re-derive what follows from ``RGZ.*`` keys given as ``--config`` overrides (call after them).

    Keys the user set explicitly win: ``RGZ.REPRESENTATION=phys`` updates BACKBONE.IN_CHANNELS and
    PREPROC.PIXEL_MEAN/STD unless those were overridden too; ``RGZ.INPUT_SIZE`` updates the PREPROC sizes.
    """
    keys = {o.split("=", 1)[0].strip() for o in overrides}
    derive(cfg, changed=keys, keep=keys)


def rgz_checkpoint_extra(cfg: Config) -> dict[str, Any]:
    """``checkpoint["extra"]`` of a model trained with ``cfg``: its ``RGZModelSpec`` (rgz.model_spec)."""
    return RGZModelSpec.from_config(cfg).to_extra()
