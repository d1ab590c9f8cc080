"""Multi-level RoIAlign (tensorpack's ``multilevel_roi_align``) on ``torchvision.ops.roi_align``."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..ops import roi_align

__all__ = ["ROIPooler", "boxes_to_rois", "assign_levels"]


def boxes_to_rois(boxes: Sequence[torch.Tensor]) -> torch.Tensor:
    """``[K, 5]`` rois (batch index, x1, y1, x2, y2) from per-image box lists."""
    idx = torch.cat([torch.full((len(b), 1), i, dtype=b.dtype, device=b.device) for i, b in enumerate(boxes)])
    return torch.cat([idx, torch.cat(list(boxes))], 1)


def assign_levels(boxes: torch.Tensor, k_min: int, k_max: int, *, style: str = "tensorpack") -> torch.Tensor:
    """FPN level of each box, ``floor(4 + log2(sqrt(area) / 224))`` clamped to ``[k_min, k_max]``.

    tensorpack adds its 1e-6 inside the log, torchvision's LevelMapper outside; only exact boundaries differ.
    """
    s = torch.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    if style == "torchvision":
        lvl = torch.floor(4 + torch.log2(s / 224) + torch.tensor(1e-6, dtype=s.dtype))
    else:
        lvl = torch.floor(4 + torch.log2(s / 224 + 1e-6))
    return lvl.clamp(min=k_min, max=k_max).to(torch.int64)


class ROIPooler(nn.Module):
    """RoIAlign of boxes (in image pixels) from one feature map, or from FPN levels by box size.

    ``sampling_ratio=2`` with ``aligned=True`` equals tensorpack's crop-at-2x-then-average RoIAlign;
    torchvision's models use ``aligned=False``.
    """

    def __init__(self, *, output_size: int, scales: Sequence[float], sampling_ratio: int = 2, aligned: bool = True,
                 level_style: str = "tensorpack") -> None:
        super().__init__()
        self.output_size = (int(output_size), int(output_size))
        self.scales = [float(s) for s in scales]
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned
        self.level_style = level_style
        self.k_min = int(round(-math.log2(self.scales[0])))
        self.k_max = int(round(-math.log2(self.scales[-1])))

    def forward(self, feats: Sequence[torch.Tensor], boxes: Sequence[torch.Tensor]) -> torch.Tensor:
        rois = boxes_to_rois(boxes)
        kw = dict(output_size=self.output_size, sampling_ratio=self.sampling_ratio, aligned=self.aligned)
        if len(self.scales) == 1:
            return roi_align(feats[0], rois, spatial_scale=self.scales[0], **kw)
        levels = assign_levels(rois[:, 1:], self.k_min, self.k_max, style=self.level_style) - self.k_min
        c = feats[0].shape[1]
        out = feats[0].new_zeros((rois.shape[0], c, *self.output_size))
        for lvl, (f, scale) in enumerate(zip(feats, self.scales)):
            idx = torch.nonzero(levels == lvl).squeeze(1)
            if idx.numel():
                out.index_put_((idx,), roi_align(f, rois[idx], spatial_scale=scale, **kw).to(out.dtype))
        return out
