"""Feature Pyramid Network (tensorpack's ``model_fpn.fpn_model``): P2-P5 from res2-5 plus a strided P6.

Parameter names follow torchvision's ``FeaturePyramidNetwork`` (``inner_blocks.i.0``, ``layer_blocks.i.0``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .backbone import get_norm

__all__ = ["FPN"]


class FPN(nn.Module):
    """``body`` (a backbone: claran.modeling.backbones) followed by lateral 1x1 and output 3x3 convs; returns
    ``[P2, P3, P4, P5, P6]``."""

    def __init__(self, *, body: nn.Module, in_channels: Sequence[int], out_channels: int = 256, norm: str = "None") -> None:
        super().__init__()
        self.body = body
        self.out_channels = out_channels
        gn = norm == "GN"

        def block(cin: int, k: int) -> nn.Sequential:
            layers: list[nn.Module] = [nn.Conv2d(cin, out_channels, k, padding=k // 2, bias=not gn)]
            if gn:
                layers.append(get_norm("GN", out_channels))
            return nn.Sequential(*layers)

        self.inner_blocks = nn.ModuleList(block(c, 1) for c in in_channels)
        self.layer_blocks = nn.ModuleList(block(out_channels, 3) for _ in in_channels)
        for m in [*self.inner_blocks.modules(), *self.layer_blocks.modules()]:
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=1)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = self.body(x)
        last = self.inner_blocks[-1](feats[-1])
        outs = [self.layer_blocks[-1](last)]
        for i in range(len(feats) - 2, -1, -1):
            lat = self.inner_blocks[i](feats[i])
            # inputs are padded to a multiple of 32, so this is tensorpack's exact 2x nearest upsampling
            last = lat + F.interpolate(last, size=lat.shape[-2:], mode="nearest")
            outs.insert(0, self.layer_blocks[i](last))
        outs.append(F.max_pool2d(outs[-1], kernel_size=1, stride=2))  # P6: tensorpack's (and torchvision's)
        return outs
