"""The backbone registry and its output-shape contract (detectron2's ``modeling/backbone/build.py``).

A backbone is built by a registered function ``build(cfg, *, load_weights: bool) -> nn.Module`` chosen by
``BACKBONE.NAME``. The module it returns:

- ``forward(x) -> list[Tensor]``: the features ``res2 .. res5`` in that order (``res2 .. res4`` once
  ``pop_res5`` was called);
- ``output_shape() -> dict[str, ShapeSpec]``: channels and stride of each of ``res2 .. res5``;
- ``pop_res5() -> nn.Module``: removes the last stage and returns it (C4 models run it as the box head).

``build_model`` reads only this contract: the FPN takes the four features, C4 takes ``res4`` and ``res5``.
Adding a backbone name is one new module with its builder and one line in ``_BUILTIN`` below (as
``resnet18`` was added); a plug-in can also call ``register_backbone`` itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ..config import Config, ConfigError

__all__ = ["ShapeSpec", "FEATURES", "register_backbone", "build_backbone", "backbone_names"]

FEATURES = ("res2", "res3", "res4", "res5")
STRIDES = (4, 8, 16, 32)


@dataclass(frozen=True)
class ShapeSpec:
    channels: int
    stride: int


Builder = Callable[..., nn.Module]
_BUILTIN = {  # name -> "module:function", imported when first built
    "resnet": "claran.modeling.backbone:build_resnet_backbone",  # BACKBONE.BLOCK / RESNET_NUM_BLOCKS say which
    "resnet18": "claran.modeling.resnet18:build_resnet18_backbone",
}
_REGISTRY: dict[str, Builder] = {}


def register_backbone(name: str, build: Builder) -> Builder:
    """Make ``BACKBONE.NAME=name`` build with ``build(cfg, *, load_weights)``."""
    _REGISTRY[name] = build
    return build


def backbone_names() -> list[str]:
    return sorted({*_BUILTIN, *_REGISTRY})


def _builder(name: str) -> Builder:
    if name not in _REGISTRY and name in _BUILTIN:
        module, func = _BUILTIN[name].split(":")
        register_backbone(name, getattr(importlib.import_module(module), func))
    if name not in _REGISTRY:
        raise ConfigError(f"config BACKBONE.NAME={name!r}: choose one of {', '.join(backbone_names())}")
    return _REGISTRY[name]


def build_backbone(cfg: Config, *, load_weights: bool = True) -> nn.Module:
    """The body ``BACKBONE.NAME`` names, checked against the contract (features res2..res5 at strides 4..32)."""
    body = _builder(str(cfg.BACKBONE.NAME))(cfg, load_weights=load_weights)
    shapes = body.output_shape()
    got = tuple(shapes)
    if got != FEATURES or tuple(s.stride for s in shapes.values()) != STRIDES:
        raise ConfigError(f"backbone {cfg.BACKBONE.NAME!r} gives {[(k, s.stride) for k, s in shapes.items()]}; "
                          f"the detector needs {list(zip(FEATURES, STRIDES))}")
    return body
