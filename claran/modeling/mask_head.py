"""Mask R-CNN head (tensorpack's ``model_mrcnn.py``): up4conv (+GN), its loss, and mask pasting."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..ops import roi_align
from .backbone import conv_stack

__all__ = ["MaskHead", "mask_targets", "mask_loss", "paste_masks"]


class MaskHead(nn.Module):
    """``num_convs`` 3x3 convs (+GN), a 2x2 stride-2 deconv, and a 1x1 conv to one mask per category.

    ``num_convs=4`` is ``maskrcnn_up4conv_head`` (FPN); ``num_convs=0`` is tensorpack's C4 mask head.
    """

    def __init__(self, *, in_channels: int, conv_dim: int, num_convs: int, num_category: int, norm: str = "None"):
        super().__init__()
        self.convs = conv_stack(in_channels, conv_dim, num_convs, norm=norm)
        c = conv_dim if num_convs else in_channels
        self.deconv = nn.ConvTranspose2d(c, conv_dim, 2, stride=2)
        self.predictor = nn.Conv2d(conv_dim, num_category, 1)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                # tensorpack: variance_scaling(2.0, fan_out, normal) everywhere in the mask head
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.normal_(self.predictor.weight, std=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = F.relu(conv(x))
        return self.predictor(F.relu(self.deconv(x)))


def mask_targets(gt_masks: torch.Tensor, boxes: torch.Tensor, gt_idx: torch.Tensor, size: int) -> torch.Tensor:
    """Soft ``[N, size, size]`` targets: the gt bitmask ``gt_masks[gt_idx]`` RoIAligned into each box.

    One bilinear sample at each bin centre, as tensorpack's ``crop_and_resize`` of the gt masks.
    """
    rois = torch.cat([gt_idx.to(boxes.dtype)[:, None], boxes], 1)
    return roi_align(gt_masks[:, None].to(boxes.dtype), rois, (size, size), 1.0, sampling_ratio=1,
                     aligned=True).squeeze(1)


def mask_loss(logits: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-pixel sigmoid cross-entropy on the mask of each box's gt category (labels 1..K)."""
    if labels.numel() == 0:
        return logits.sum() * 0
    sel = logits[torch.arange(labels.numel(), device=labels.device), labels - 1]
    return F.binary_cross_entropy_with_logits(sel, targets)


def paste_masks(masks: torch.Tensor, boxes: torch.Tensor, image_size: tuple[int, int], *, style: str = "accurate",
                threshold: float = 0.5, chunk_pixels: int = 1 << 24) -> torch.Tensor:
    """Paste ``[N, 1, M, M]`` (or ``[N, M, M]``) mask probabilities into ``[N, H, W]`` bool image masks.

    One ``grid_sample`` per chunk of boxes, no per-box Python loop.

    ``accurate`` (tensorpack's ACCURATE_PASTE, detectron2's default): the M x M grid covers the continuous
    box exactly, bilinear samples at pixel centres, zero outside.
    ``torchvision``: its legacy paste: the mask, zero-padded by one cell, is resized bilinearly to the
    integer box ``int(expanded box)`` of size ``int(w + 1)`` and copied in.
    """
    if masks.dim() == 4:
        masks = masks[:, 0]
    n, m = masks.shape[0], masks.shape[-1]
    h, w = image_size
    out = torch.zeros((n, h, w), dtype=torch.bool, device=masks.device)
    if n == 0:
        return out
    boxes = boxes.to(torch.float32)
    masks = masks.to(torch.float32)
    if style == "torchvision":
        scale = (m + 2.0) / m
        half_w = (boxes[:, 2] - boxes[:, 0]) * 0.5 * scale
        half_h = (boxes[:, 3] - boxes[:, 1]) * 0.5 * scale
        cx = (boxes[:, 2] + boxes[:, 0]) * 0.5
        cy = (boxes[:, 3] + boxes[:, 1]) * 0.5
        ib = torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], 1).to(torch.int64)
        x0, y0 = ib[:, 0].to(torch.float32), ib[:, 1].to(torch.float32)
        bw = (ib[:, 2] - ib[:, 0] + 1).clamp(min=1).to(torch.float32)
        bh = (ib[:, 3] - ib[:, 1] + 1).clamp(min=1).to(torch.float32)
        masks = F.pad(masks, (1, 1, 1, 1))
    else:
        x0, y0 = boxes[:, 0], boxes[:, 1]
        bw = (boxes[:, 2] - boxes[:, 0]).clamp(min=1e-6)
        bh = (boxes[:, 3] - boxes[:, 1]).clamp(min=1e-6)
    xs = torch.arange(w, device=masks.device, dtype=torch.float32) + 0.5
    ys = torch.arange(h, device=masks.device, dtype=torch.float32) + 0.5
    step = max(1, chunk_pixels // max(1, h * w))
    for i in range(0, n, step):
        sl = slice(i, i + step)
        # grid_sample's align_corners=False maps -1/+1 to the outer edges of the (padded) mask
        gx = (xs[None] - x0[sl, None]) / bw[sl, None] * 2 - 1
        gy = (ys[None] - y0[sl, None]) / bh[sl, None] * 2 - 1
        k = gx.shape[0]
        grid = torch.stack([gx[:, None, :].expand(k, h, w), gy[:, :, None].expand(k, h, w)], 3)
        pasted = F.grid_sample(masks[sl, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        out[sl] = pasted[:, 0] > threshold
    return out
