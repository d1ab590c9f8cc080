"""Box <-> regression target encoding (tensorpack's ``encode/decode_bbox_target``, same as torchvision's)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = ["BoxCoder"]


class BoxCoder:
    """Deltas ``(dx, dy, dw, dh) * weights`` of continuous x1y1x2y2 boxes; ``dw, dh`` clamped when decoding."""

    def __init__(self, weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0), clamp: float = math.log(1000.0 / 16)) -> None:
        self.weights = tuple(float(w) for w in weights)
        self.clamp = clamp

    def encode(self, gt: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        """Targets that move ``ref`` boxes [N, 4] onto ``gt`` boxes [N, 4]."""
        wx, wy, ww, wh = self.weights
        rw = ref[:, 2] - ref[:, 0]
        rh = ref[:, 3] - ref[:, 1]
        rx = ref[:, 0] + 0.5 * rw
        ry = ref[:, 1] + 0.5 * rh
        gw = gt[:, 2] - gt[:, 0]
        gh = gt[:, 3] - gt[:, 1]
        gx = gt[:, 0] + 0.5 * gw
        gy = gt[:, 1] + 0.5 * gh
        return torch.stack([wx * (gx - rx) / rw, wy * (gy - ry) / rh, ww * torch.log(gw / rw), wh * torch.log(gh / rh)], 1)

    def decode(self, deltas: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        """``deltas`` [N, 4k] applied to ``ref`` [N, 4]; returns [N, 4k] (one box per class when k > 1)."""
        wx, wy, ww, wh = self.weights
        # float32 even under autocast: fp16 has 0.5 px resolution at 1000 px
        deltas, ref = deltas.float(), ref.float()
        w = ref[:, 2] - ref[:, 0]
        h = ref[:, 3] - ref[:, 1]
        cx = ref[:, 0] + 0.5 * w
        cy = ref[:, 1] + 0.5 * h
        dx = deltas[:, 0::4] / wx
        dy = deltas[:, 1::4] / wy
        dw = torch.clamp(deltas[:, 2::4] / ww, max=self.clamp)
        dh = torch.clamp(deltas[:, 3::4] / wh, max=self.clamp)
        pcx = dx * w[:, None] + cx[:, None]
        pcy = dy * h[:, None] + cy[:, None]
        half_w = 0.5 * (torch.exp(dw) * w[:, None])
        half_h = 0.5 * (torch.exp(dh) * h[:, None])
        return torch.stack([pcx - half_w, pcy - half_h, pcx + half_w, pcy + half_h], 2).flatten(1)
