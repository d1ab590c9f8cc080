"""IoU matching and balanced sampling, as tensorpack does it for the RPN and the Fast R-CNN heads."""

from __future__ import annotations

import torch

from ..ops import box_iou

__all__ = ["label_anchors", "sample_proposals", "match_boxes", "subsample_labels"]


def subsample_labels(labels: torch.Tensor, value: int, max_num: int) -> None:
    """tensorpack's ``filter_box_label``: keep at most ``max_num`` random entries equal to ``value`` (rest -> -1)."""
    inds = torch.nonzero(labels == value).squeeze(1)
    if inds.numel() > max_num:
        drop = inds[torch.randperm(inds.numel(), device=inds.device)[max_num:]]
        labels[drop] = -1


def _ioa(boxes: torch.Tensor, crowd: torch.Tensor) -> torch.Tensor:
    """Intersection over the area of ``boxes`` [N, M]."""
    lt = torch.max(boxes[:, None, :2], crowd[None, :, :2])
    rb = torch.min(boxes[:, None, 2:], crowd[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(2)
    area = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0).prod(1)
    return inter / area.clamp(min=1e-6)[:, None]


def label_anchors(
    anchors: torch.Tensor,
    gt_boxes: torch.Tensor,
    image_size: tuple[int, int],
    *,
    crowd_boxes: torch.Tensor | None = None,
    pos_thresh: float = 0.7,
    neg_thresh: float = 0.3,
    batch_per_im: int = 256,
    fg_ratio: float = 0.5,
    crowd_thresh: float = 9.99,
) -> tuple[torch.Tensor, torch.Tensor]:
    """tensorpack's ``get_anchor_labels``: labels in {-1, 0, 1} and the matched gt box of every anchor.

    Only anchors inside the image take part. The anchors of best IoU for each gt (ties included) are
    positive, then IoU >= pos_thresh positive, then IoU < neg_thresh negative (so, as in tensorpack, a
    gt's best anchor below ``neg_thresh`` ends up negative). Then fg/bg are subsampled to ``batch_per_im``.
    """
    h, w = image_size
    labels = torch.full((anchors.shape[0],), -1, dtype=torch.int64, device=anchors.device)
    matched = torch.zeros_like(anchors)
    inside = (anchors[:, 0] >= 0) & (anchors[:, 1] >= 0) & (anchors[:, 2] <= w) & (anchors[:, 3] <= h)
    idx = torch.nonzero(inside).squeeze(1)
    a = anchors[idx]
    lab = torch.full((a.shape[0],), -1, dtype=torch.int64, device=a.device)
    if gt_boxes.numel() == 0:
        lab[:] = 0
    else:
        iou = box_iou(a, gt_boxes)
        max_iou, argmax = iou.max(1)
        best_per_gt = iou.max(0, keepdim=True).values
        lab[torch.nonzero(iou == best_per_gt)[:, 0]] = 1
        lab[max_iou >= pos_thresh] = 1
        lab[max_iou < neg_thresh] = 0
        matched[idx] = gt_boxes[argmax]
    if crowd_boxes is not None and crowd_boxes.numel() and crowd_thresh <= 1.0:
        lab[(lab >= 0) & (_ioa(a, crowd_boxes).max(1).values > crowd_thresh)] = -1
    subsample_labels(lab, 1, int(batch_per_im * fg_ratio))
    num_fg = int((lab == 1).sum())
    subsample_labels(lab, 0, batch_per_im - num_fg)
    labels[idx] = lab
    return labels, matched


def match_boxes(boxes: torch.Tensor, gt_boxes: torch.Tensor, gt_labels: torch.Tensor, fg_thresh: float
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Class label (0 = background) and matched gt index of every box, IoU >= ``fg_thresh`` is foreground."""
    if gt_boxes.numel() == 0:
        z = torch.zeros(boxes.shape[0], dtype=torch.int64, device=boxes.device)
        return z, z
    max_iou, argmax = box_iou(boxes, gt_boxes).max(1)
    labels = torch.where(max_iou >= fg_thresh, gt_labels[argmax], torch.zeros_like(argmax))
    return labels, argmax


def sample_proposals(
    proposals: torch.Tensor,
    gt_boxes: torch.Tensor,
    gt_labels: torch.Tensor,
    *,
    batch_per_im: int = 512,
    fg_ratio: float = 0.25,
    fg_thresh: float = 0.5,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """tensorpack's ``sample_fast_rcnn_targets``: gt boxes join the proposals, then fg/bg are sampled.

    Returns ``(boxes, labels, matched_gt_index)``, foreground first. Everything below ``fg_thresh`` is
    background (tensorpack has no lower bound).
    """
    boxes = torch.cat([proposals, gt_boxes.to(proposals.dtype)], 0)
    labels, gt_idx = match_boxes(boxes, gt_boxes, gt_labels, fg_thresh)
    fg = torch.nonzero(labels > 0).squeeze(1)
    bg = torch.nonzero(labels == 0).squeeze(1)
    num_fg = min(int(batch_per_im * fg_ratio), fg.numel())
    fg = fg[torch.randperm(fg.numel(), device=fg.device)[:num_fg]]
    bg = bg[torch.randperm(bg.numel(), device=bg.device)[: batch_per_im - num_fg]]
    keep = torch.cat([fg, bg])
    return boxes[keep], labels[keep], gt_idx[keep]
