"""Region Proposal Network (tensorpack's ``model_rpn.py`` and the FPN parts of ``model_fpn.py``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..ops import batched_nms, clip_boxes_to_image, nms, remove_small_boxes
from .anchors import AnchorGenerator
from .box_coder import BoxCoder
from .matcher import label_anchors

__all__ = ["RPNHead", "RPN"]


class RPNHead(nn.Module):
    """3x3 conv + ReLU, then 1x1 objectness logits (A) and box deltas (4A); shared over FPN levels."""

    def __init__(self, *, in_channels: int, head_dim: int, num_anchors: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, head_dim, 3, padding=1)
        self.cls_logits = nn.Conv2d(head_dim, num_anchors, 1)
        self.bbox_pred = nn.Conv2d(head_dim, 4 * num_anchors, 1)
        for m in (self.conv, self.cls_logits, self.bbox_pred):
            nn.init.normal_(m.weight, std=0.01)
            nn.init.zeros_(m.bias)

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Per level: logits ``[B, H*W*A]`` and deltas ``[B, H*W*A, 4]``, location-major like the anchors."""
        logits, deltas = [], []
        for f in feats:
            t = F.relu(self.conv(f))
            lg, bx = self.cls_logits(t), self.bbox_pred(t)
            b, a, h, w = lg.shape
            logits.append(lg.permute(0, 2, 3, 1).reshape(b, -1))
            deltas.append(bx.view(b, a, 4, h, w).permute(0, 3, 4, 1, 2).reshape(b, -1, 4))
        return logits, deltas


class RPN(nn.Module):
    """Anchors, proposals and losses.

    ``per_level=True`` is tensorpack's FPN "Level" mode (top-k and NMS inside each level, then the best
    ``post_nms_topk`` over all levels); ``False`` is "Joint" mode and the C4 model (one top-k and NMS over
    everything).
    """

    def __init__(
        self,
        *,
        head: RPNHead,
        anchor_generator: AnchorGenerator,
        box_coder: BoxCoder,
        pre_nms_topk: tuple[int, int],
        post_nms_topk: tuple[int, int],
        per_level: bool,
        nms_thresh: float = 0.7,
        min_size: float = 0.0,
        score: str = "logit",
        pos_thresh: float = 0.7,
        neg_thresh: float = 0.3,
        batch_per_im: int = 256,
        fg_ratio: float = 0.5,
        crowd_thresh: float = 9.99,
    ) -> None:
        super().__init__()
        self.head = head
        self.anchor_generator = anchor_generator
        self.box_coder = box_coder
        self.pre_nms_topk = pre_nms_topk  # (train, test)
        self.post_nms_topk = post_nms_topk
        self.per_level = per_level
        self.nms_thresh = nms_thresh
        self.min_size = min_size
        self.score = score
        self.match_kw = dict(pos_thresh=pos_thresh, neg_thresh=neg_thresh, batch_per_im=batch_per_im,
                             fg_ratio=fg_ratio, crowd_thresh=crowd_thresh)
        self.batch_per_im = batch_per_im

    def forward(
        self,
        feats: Sequence[torch.Tensor],
        image_sizes: Sequence[tuple[int, int]],
        padded_size: tuple[int, int],
        targets: Sequence[dict] | None = None,
    ) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
        """Proposals per image (detached, clipped to that image) and, in training, the RPN losses."""
        logits, deltas = self.head(feats)
        # float32 from here on under autocast: anchors decode to pixels, bf16 would round them to 2-4 px
        logits, deltas = [lg.float() for lg in logits], [d.float() for d in deltas]
        anchors = self.anchor_generator([tuple(f.shape[-2:]) for f in feats], padded_size)
        with torch.no_grad():
            proposals = self._proposals(anchors, [lg.detach() for lg in logits], [d.detach() for d in deltas],
                                        image_sizes)
        losses = {}
        if self.training and targets is not None:
            losses = self._losses(torch.cat(anchors), torch.cat(logits, 1), torch.cat(deltas, 1), image_sizes, targets)
        return proposals, losses

    def _proposals(self, anchors: list[torch.Tensor], logits: list[torch.Tensor], deltas: list[torch.Tensor],
                   image_sizes: Sequence[tuple[int, int]]) -> list[torch.Tensor]:
        pre = self.pre_nms_topk[0 if self.training else 1]
        post = self.post_nms_topk[0 if self.training else 1]
        if not self.per_level:
            anchors, logits, deltas = [torch.cat(anchors)], [torch.cat(logits, 1)], [torch.cat(deltas, 1)]
        sel_boxes, sel_scores, sel_lvl = [], [], []
        for lvl, (a, lg, d) in enumerate(zip(anchors, logits, deltas)):
            k = min(pre, lg.shape[1])
            top, idx = lg.topk(k, dim=1)  # [B, k]
            boxes = self.box_coder.decode(torch.gather(d, 1, idx[..., None].expand(-1, -1, 4)).reshape(-1, 4),
                                          a[idx.reshape(-1)]).view(idx.shape[0], k, 4)
            sel_boxes.append(boxes)
            sel_scores.append(top)
            sel_lvl.append(torch.full((k,), lvl, dtype=torch.int64, device=lg.device))
        boxes_all, scores_all, lvl_all = torch.cat(sel_boxes, 1), torch.cat(sel_scores, 1), torch.cat(sel_lvl)
        if self.score == "sigmoid":
            scores_all = scores_all.sigmoid()
        out = []
        for boxes, scores, size in zip(boxes_all, scores_all, image_sizes):
            boxes = clip_boxes_to_image(boxes, size)
            if self.min_size > 0:
                keep = remove_small_boxes(boxes, self.min_size)
            else:
                wh = boxes[:, 2:] - boxes[:, :2]
                keep = torch.nonzero((wh > 0).all(1)).squeeze(1)
            boxes, scores, lvl = boxes[keep], scores[keep], lvl_all[keep]
            if self.per_level:
                keep = batched_nms(boxes, scores, lvl, self.nms_thresh)
            else:
                keep = nms(boxes, scores, self.nms_thresh)
            out.append(boxes[keep[:post]])
        return out

    def _losses(self, anchors: torch.Tensor, logits: torch.Tensor, deltas: torch.Tensor,
                image_sizes: Sequence[tuple[int, int]], targets: Sequence[dict]) -> dict[str, torch.Tensor]:
        labels, matched = [], []
        for t, size in zip(targets, image_sizes):
            crowd = t.get("is_crowd")
            boxes = t["boxes"].to(anchors)
            crowd_boxes = None
            if crowd is not None and crowd.numel():
                crowd_boxes, boxes = boxes[crowd.bool()], boxes[~crowd.bool()]
            lab, m = label_anchors(anchors, boxes, size, crowd_boxes=crowd_boxes, **self.match_kw)
            labels.append(lab)
            matched.append(m)
        labels_t, matched_t = torch.stack(labels), torch.stack(matched)
        norm = 1.0 / (self.batch_per_im * len(targets))  # tensorpack normalises by RPN.BATCH_PER_IM
        valid = labels_t >= 0
        label_loss = F.binary_cross_entropy_with_logits(logits[valid], labels_t[valid].to(logits.dtype),
                                                        reduction="sum") * norm
        pos = labels_t == 1
        pos_anchors = anchors[None].expand_as(matched_t)[pos]
        box_targets = self.box_coder.encode(matched_t[pos], pos_anchors)
        box_loss = F.smooth_l1_loss(deltas[pos], box_targets, beta=1.0 / 9, reduction="sum") * norm
        return {"rpn_label_loss": label_loss, "rpn_box_loss": box_loss}
