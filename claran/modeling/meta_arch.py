"""GeneralizedRCNN (tensorpack's ``generalized_rcnn.py``): normalise, pad, backbone, RPN, RoI heads."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..ops import FrozenBatchNorm2d
from .rpn import RPN

__all__ = ["GeneralizedRCNN", "fuse_frozen_bn"]


class GeneralizedRCNN(nn.Module):
    """See docs/ARCHITECTURE.md: ``model(images, targets=None)`` -> losses (training) or detections (eval).

    ``images`` are ``[C, H, W]`` float tensors on a 0..255 scale; boxes come back in their pixels.
    """

    def __init__(self, *, backbone: nn.Module, rpn: RPN, roi_heads: nn.Module, pixel_mean: Sequence[float],
                 pixel_std: Sequence[float], size_divisibility: int = 32, fpn: bool = True,
                 normalize: str = "tensorpack") -> None:
        super().__init__()
        self.backbone = backbone
        self.rpn = rpn
        self.roi_heads = roi_heads
        # torchvision divides by 255 first and normalises on a 0..1 scale; its random-weight models amplify
        # the last-bit difference, so from_torchvision reproduces that order exactly.
        div = 255.0 if normalize == "torchvision" else 1.0
        self._div = div
        self.register_buffer("pixel_mean", torch.tensor([m / div for m in pixel_mean]).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor([s / div for s in pixel_std]).view(-1, 1, 1), False)
        self.size_divisibility = int(size_divisibility)
        self.fpn = fpn
        self.cfg = None  # set by build_model

    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    @property
    def has_mask(self) -> bool:
        return getattr(self.roi_heads, "has_mask", False)

    def preprocess(self, images: Sequence[torch.Tensor], *, normalized: bool = False
                   ) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        """Normalise each image (unless ``normalized``), then zero-pad the batch to a common size."""
        c = self.pixel_mean.shape[0]
        for i, im in enumerate(images):
            if not torch.is_tensor(im) or im.dim() != 3 or im.shape[0] != c:
                shape = tuple(im.shape) if torch.is_tensor(im) else type(im).__name__
                raise ValueError(f"image {i}: expected a [{c}, H, W] tensor (BACKBONE.IN_CHANNELS={c}), got {shape}")
        sizes = [(int(im.shape[-2]), int(im.shape[-1])) for im in images]
        h = max(s[0] for s in sizes)
        w = max(s[1] for s in sizes)
        if self.size_divisibility > 1:
            d = self.size_divisibility
            h, w = int(math.ceil(h / d) * d), int(math.ceil(w / d) * d)
        if len(images) == 1:
            x = images[0].to(self.device, torch.float32) if normalized else self.normalize(images[0])
            batch = F.pad(x, (0, w - x.shape[-1], 0, h - x.shape[-2]))[None]
        else:
            batch = self.pixel_mean.new_zeros((len(images), c, h, w))
            for b, im in zip(batch, images):
                b[:, : im.shape[-2], : im.shape[-1]].copy_(im if normalized else self.normalize(im))
        return batch, sizes

    def normalize(self, im: torch.Tensor) -> torch.Tensor:
        """``[C, H, W]`` on a 0..255 scale -> the network's input scale (``PREPROC.PIXEL_MEAN/STD``)."""
        x = im.to(self.device, torch.float32)
        if self._div != 1.0:
            x = x / self._div
        return (x - self.pixel_mean) / self.pixel_std

    def forward(self, images: Sequence[torch.Tensor], targets: Sequence[dict] | None = None, *,
                normalized: bool = False):
        """``normalized=True``: images were already passed through ``normalize`` (the Predictor resizes
        normalised images in torchvision mode, as torchvision does)."""
        if self.training and targets is None:
            raise ValueError("training mode needs targets; call model.eval() for inference")
        batch, sizes = self.preprocess(images, normalized=normalized)
        if targets is not None:
            targets = [{k: (v.to(self.device) if torch.is_tensor(v) else v) for k, v in t.items()} for t in targets]
        feats = self.backbone(batch)
        if self.fpn:  # P2-P6 feed the RPN, P2-P5 the heads
            rpn_feats, roi_feats = feats, feats[:4]
        else:  # C4: res4 only
            rpn_feats = roi_feats = feats[-1:]
        proposals, rpn_losses = self.rpn(rpn_feats, sizes, tuple(batch.shape[-2:]),
                                         targets if self.training else None)
        out = self.roi_heads(roi_feats, proposals, sizes, targets if self.training else None)
        if self.training:
            return {**rpn_losses, **out}
        return out

    def fuse_frozen_bn(self) -> GeneralizedRCNN:
        """Fold every FrozenBatchNorm2d into the conv before it (inference speed-up; changes state_dict keys)."""
        fuse_frozen_bn(self)
        return self


def _fold(conv: nn.Conv2d, bn: FrozenBatchNorm2d) -> None:
    scale = bn.weight * (bn.running_var + bn.eps).rsqrt()
    with torch.no_grad():
        conv.weight.mul_(scale.view(-1, 1, 1, 1))
        bias = bn.bias - bn.running_mean * scale
        if conv.bias is None:
            conv.bias = nn.Parameter(bias.clone(), requires_grad=False)
        else:
            conv.bias.copy_(conv.bias * scale + bias)


def fuse_frozen_bn(module: nn.Module) -> int:
    """Fold ``convN``/``bnN`` pairs and ``downsample.0/1`` of ResNet blocks; returns the number folded."""
    n = 0
    for m in list(module.modules()):
        for i in range(1, 4):
            conv, bn = getattr(m, f"conv{i}", None), getattr(m, f"bn{i}", None)
            if isinstance(conv, nn.Conv2d) and isinstance(bn, FrozenBatchNorm2d):
                _fold(conv, bn)
                setattr(m, f"bn{i}", nn.Identity())
                n += 1
        ds = getattr(m, "downsample", None)
        if isinstance(ds, nn.Sequential) and len(ds) == 2 and isinstance(ds[1], FrozenBatchNorm2d):
            _fold(ds[0], ds[1])
            ds[1] = nn.Identity()
            n += 1
    return n
