"""Cascade R-CNN (tensorpack's ``model_cascade.py``): three box heads at rising IoUs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..ops import clip_boxes_to_image
from .box_coder import BoxCoder
from .matcher import match_boxes
from .roi_heads import ROIHeads, fastrcnn_losses

__all__ = ["CascadeROIHeads"]


class _ScaleGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        return g * ctx.scale, None


class CascadeROIHeads(ROIHeads):
    """Stage ``i`` refines the boxes of stage ``i - 1`` with its own head, class-agnostic deltas and
    ``CASCADE.BBOX_REG_WEIGHTS[i]``; in training its boxes are re-matched to the gt at ``CASCADE.IOUS[i]``.
    At test the class scores of all stages are averaged and the last stage's boxes are kept.
    The pooled features' gradient is scaled by 1 / #stages, as in tensorpack.
    """

    def __init__(self, *, box_heads: Sequence[nn.Module], box_predictors: Sequence[nn.Module],
                 box_coders: Sequence[BoxCoder], ious: Sequence[float], **kwargs) -> None:
        super().__init__(box_head=box_heads[0], box_predictor=box_predictors[0], box_coder=box_coders[0], **kwargs)
        del self.box_head, self.box_predictor
        self.box_heads = nn.ModuleList(box_heads)
        self.box_predictors = nn.ModuleList(box_predictors)
        self.box_coders = list(box_coders)
        self.ious = [float(i) for i in ious]
        self.c4 = False

    def _run_stage(self, k: int, feats, boxes: Sequence[torch.Tensor], image_sizes):
        x = self.box_pooler(feats, boxes)
        x = _ScaleGrad.apply(x, 1.0 / len(self.ious))
        logits, deltas = (t.float() for t in self.box_predictors[k](self.box_heads[k](x)))
        refined = self.box_coders[k].decode(deltas, torch.cat(list(boxes)))
        refined = [clip_boxes_to_image(r, s) for r, s in zip(refined.detach().split([len(b) for b in boxes]),
                                                                 image_sizes)]
        return logits, deltas, refined

    def forward(self, feats, proposals, image_sizes, targets=None):
        n = len(self.ious)
        if self.training:
            targets = self._split_targets(targets)
            boxes, labels, gt_idx = self._sample(proposals, targets)
            first = (boxes, labels, gt_idx)
            losses, refined = {}, []
            for k in range(n):
                if k > 0:
                    # tensorpack drops degenerate refined boxes, then re-matches without resampling
                    boxes = [r[(r[:, 2:] > r[:, :2]).all(1)] for r in refined]
                    labels, gt_idx = zip(*[match_boxes(b, t["boxes"].to(b), t["labels"], self.ious[k])
                                           for b, t in zip(boxes, targets)])
                logits, deltas, refined = self._run_stage(k, feats, boxes, image_sizes)
                box_t = self._box_targets(self.box_coders[k], boxes, labels, gt_idx, targets)
                lab, box = fastrcnn_losses(logits, deltas, torch.cat(list(labels)), box_t)
                losses[f"fastrcnn_label_loss_stage{k + 1}"] = lab
                losses[f"fastrcnn_box_loss_stage{k + 1}"] = box
            if self.has_mask:  # tensorpack's mask branch uses the first stage's sampled foreground
                losses["maskrcnn_loss"] = self._mask_losses(feats, *first, targets, None)
            return losses
        boxes, scores = list(proposals), []
        for k in range(n):
            logits, _, refined = self._run_stage(k, feats, boxes, image_sizes)
            scores.append(F.softmax(logits.float(), -1))
            boxes = refined
        score = sum(scores) / n
        final = torch.cat(boxes)
        c = score.shape[1]
        dets = self._postprocess(final[:, None].expand(-1, c, 4), score, image_sizes, [len(b) for b in boxes])
        if self.has_mask:
            self._predict_masks(feats, dets)
        return dets
