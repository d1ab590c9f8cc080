"""``BACKBONE.NAME=resnet18``: ResNet-18 (basic blocks, 2-2-2-2) whatever BACKBONE.BLOCK / RESNET_NUM_BLOCKS
say; width, norm, freezing and weights from the other BACKBONE keys (``imagenet``: torchvision's R18)."""

from __future__ import annotations

from ..config import Config
from .backbone import ResNet, load_backbone_weights

__all__ = ["build_resnet18_backbone"]


def build_resnet18_backbone(cfg: Config, *, load_weights: bool = True) -> ResNet:
    B = cfg.BACKBONE
    body = ResNet(block="basic", num_blocks=(2, 2, 2, 2), width_multiplier=B.WIDTH_MULTIPLIER,
                  in_channels=B.IN_CHANNELS, norm=B.NORM, freeze_at=B.FREEZE_AT, freeze_affine=B.FREEZE_AFFINE,
                  stride_1x1=B.STRIDE_1X1)
    if load_weights:
        load_backbone_weights(body, str(B.WEIGHTS or ""), block="basic", num_blocks=(2, 2, 2, 2))
    return body
