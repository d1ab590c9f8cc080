"""Fast R-CNN heads (tensorpack's ``model_frcnn.py``), their losses and post-processing, plus the mask branch."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..ops import batched_nms, clip_boxes_to_image, remove_small_boxes
from .backbone import conv_stack
from .box_coder import BoxCoder
from .mask_head import MaskHead, mask_loss, mask_targets
from .matcher import sample_proposals
from .poolers import ROIPooler

__all__ = ["TwoFCHead", "ConvFCHead", "Res5Head", "FastRCNNPredictor", "ROIHeads", "fastrcnn_predictions",
           "fastrcnn_losses"]


def _init_fc(m: nn.Linear) -> None:
    nn.init.kaiming_uniform_(m.weight, a=1)  # tensorpack: variance_scaling (fan_in); exact law is immaterial
    nn.init.zeros_(m.bias)


class TwoFCHead(nn.Module):
    """``fastrcnn_2fc_head``: flatten, fc + ReLU, fc + ReLU (torchvision's TwoMLPHead names)."""

    def __init__(self, *, in_channels: int, resolution: int, fc_dim: int) -> None:
        super().__init__()
        self.fc6 = nn.Linear(in_channels * resolution * resolution, fc_dim)
        self.fc7 = nn.Linear(fc_dim, fc_dim)
        self.out_dim = fc_dim
        _init_fc(self.fc6)
        _init_fc(self.fc7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.fc7(F.relu(self.fc6(x.flatten(1)))))


class ConvFCHead(nn.Module):
    """``fastrcnn_4conv1fc_head`` (``norm="GN"``: ``fastrcnn_4conv1fc_gn_head``)."""

    def __init__(self, *, in_channels: int, resolution: int, conv_dim: int, fc_dim: int, num_convs: int = 4,
                 norm: str = "None") -> None:
        super().__init__()
        self.convs = conv_stack(in_channels, conv_dim, num_convs, norm=norm)
        c = conv_dim if num_convs else in_channels
        for s in self.convs:
            nn.init.kaiming_normal_(s[0].weight, mode="fan_out", nonlinearity="relu")
            if s[0].bias is not None:
                nn.init.zeros_(s[0].bias)
        self.fc = nn.Linear(c * resolution * resolution, fc_dim)
        _init_fc(self.fc)
        self.out_dim = fc_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = F.relu(conv(x))
        return F.relu(self.fc(x.flatten(1)))


class Res5Head(nn.Module):
    """C4 box head: res5 on 14x14 RoIAlign crops (stride 2 -> 7x7), then global average pooling."""

    def __init__(self, *, res5: nn.Module, out_channels: int) -> None:
        super().__init__()
        self.res5 = res5
        self.out_dim = out_channels
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res5(x)  # [R, C, 7, 7]; pooled by ROIHeads so the mask branch can reuse the map


class FastRCNNPredictor(nn.Module):
    """Class logits (``num_classes`` incl. background) and box deltas (per class, or one class-agnostic set)."""

    def __init__(self, *, in_dim: int, num_classes: int, class_agnostic: bool = False) -> None:
        super().__init__()
        self.cls_score = nn.Linear(in_dim, num_classes)
        self.bbox_pred = nn.Linear(in_dim, 4 if class_agnostic else 4 * num_classes)
        nn.init.normal_(self.cls_score.weight, std=0.01)
        nn.init.normal_(self.bbox_pred.weight, std=0.001)
        nn.init.zeros_(self.cls_score.bias)
        nn.init.zeros_(self.bbox_pred.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.cls_score(x), self.bbox_pred(x)


def fastrcnn_losses(logits: torch.Tensor, deltas: torch.Tensor, labels: torch.Tensor, box_targets: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """tensorpack: mean softmax CE; L1 on the foreground's (own class or agnostic) deltas / #sampled."""
    label_loss = F.cross_entropy(logits, labels)
    fg = torch.nonzero(labels > 0).squeeze(1)
    d = deltas.view(deltas.shape[0], deltas.shape[1] // 4, 4)
    cls = labels[fg] if d.shape[1] > 1 else torch.zeros_like(labels[fg])
    box_loss = (d[fg, cls] - box_targets).abs().sum() / max(1, labels.numel())
    return label_loss, box_loss


def fastrcnn_predictions(boxes: torch.Tensor, scores: torch.Tensor, *, score_thresh: float, nms_thresh: float,
                         topk: int, min_size: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-class NMS over ``boxes [R, C, 4]`` / ``scores [R, C]`` (column 0 = background).

    Candidates are flattened box-major (torchvision's order, so ties break the same way), thresholded,
    NMS'd per class with ``batched_nms`` and the best ``topk`` kept. Returns boxes, scores, labels 1..K.
    """
    r, c = scores.shape
    labels = torch.arange(1, c, device=scores.device).expand(r, c - 1).reshape(-1)
    boxes, scores = boxes[:, 1:].reshape(-1, 4), scores[:, 1:].reshape(-1)
    keep = torch.nonzero(scores > score_thresh).squeeze(1)
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    if min_size > 0:
        keep = remove_small_boxes(boxes, min_size)
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    keep = batched_nms(boxes, scores, labels, nms_thresh)[:topk]
    return boxes[keep], scores[keep], labels[keep]


class ROIHeads(nn.Module):
    """Sampling, box head, losses and post-processing; optionally the mask branch (FPN or C4)."""

    def __init__(
        self,
        *,
        box_pooler: ROIPooler,
        box_head: nn.Module,
        box_predictor: FastRCNNPredictor,
        box_coder: BoxCoder,
        batch_per_im: int = 512,
        fg_ratio: float = 0.25,
        fg_thresh: float = 0.5,
        score_thresh: float = 0.05,
        nms_thresh: float = 0.5,
        results_per_im: int = 100,
        min_size: float = 0.0,
        mask_pooler: ROIPooler | None = None,
        mask_head: MaskHead | None = None,
    ) -> None:
        super().__init__()
        self.box_pooler = box_pooler
        self.box_head = box_head
        self.box_predictor = box_predictor
        self.box_coder = box_coder
        self.sample_kw = dict(batch_per_im=batch_per_im, fg_ratio=fg_ratio, fg_thresh=fg_thresh)
        self.test_kw = dict(score_thresh=score_thresh, nms_thresh=nms_thresh, topk=results_per_im, min_size=min_size)
        self.mask_pooler = mask_pooler
        self.mask_head = mask_head
        self.c4 = isinstance(box_head, Res5Head)

    @property
    def has_mask(self) -> bool:
        return self.mask_head is not None

    # --------------------------------------------------------------- shared pieces
    def _box_features(self, feats: Sequence[torch.Tensor], boxes: Sequence[torch.Tensor]
                      ) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = self.box_head(self.box_pooler(feats, boxes))
        if self.c4:
            return x.mean((2, 3)), x
        return x, None

    @staticmethod
    def _split_targets(targets: Sequence[dict]) -> list[dict]:
        # Crowd boxes only affect RPN anchor labelling (tensorpack drops them for the Fast R-CNN head).
        out = []
        for t in targets:
            crowd = t.get("is_crowd")
            keep = ~crowd.bool() if crowd is not None and crowd.numel() else slice(None)
            d = {"boxes": t["boxes"][keep].float(), "labels": t["labels"][keep].long()}
            if t.get("masks") is not None:
                d["masks"] = t["masks"][keep]
            out.append(d)
        return out

    def _sample(self, proposals: Sequence[torch.Tensor], targets: Sequence[dict]):
        boxes, labels, gt_idx = [], [], []
        for p, t in zip(proposals, targets):
            b, lab, gi = sample_proposals(p, t["boxes"].to(p), t["labels"], **self.sample_kw)
            boxes.append(b)
            labels.append(lab)
            gt_idx.append(gi)
        return boxes, labels, gt_idx

    def _box_targets(self, coder: BoxCoder, boxes, labels, gt_idx, targets) -> torch.Tensor:
        out = []
        for b, lab, gi, t in zip(boxes, labels, gt_idx, targets):
            fg = lab > 0
            out.append(coder.encode(t["boxes"].to(b)[gi[fg]], b[fg]) if fg.any() else b.new_zeros((0, 4)))
        return torch.cat(out)

    def _mask_losses(self, feats, boxes, labels, gt_idx, targets, c4_map: torch.Tensor | None) -> torch.Tensor:
        fg_boxes = [b[lab > 0] for b, lab in zip(boxes, labels)]
        fg_labels = torch.cat([lab[lab > 0] for lab in labels])
        if c4_map is not None:  # tensorpack reuses the res5 features of the sampled foreground
            x = c4_map[torch.cat(labels) > 0]
        else:
            x = self.mask_pooler(feats, fg_boxes)
        logits = self.mask_head(x).float()
        m = logits.shape[-1]
        tgt = []
        for b, lab, gi, t in zip(fg_boxes, labels, gt_idx, targets):
            if b.numel():
                if t.get("masks") is None:
                    raise ValueError("a mask model needs targets['masks'] for every image with boxes")
                tgt.append(mask_targets(t["masks"], b, gi[lab > 0], m))
        tgt_t = torch.cat(tgt) if tgt else logits.new_zeros((0, m, m))
        return mask_loss(logits, fg_labels, tgt_t)

    def _predict_masks(self, feats, dets: list[dict]) -> None:
        boxes = [d["boxes"] for d in dets]
        if sum(len(b) for b in boxes) == 0:
            m = 2 * self.mask_pooler.output_size[0]
            for d in dets:
                d["masks"] = d["boxes"].new_zeros((0, 1, m, m))
            return
        x = self.mask_pooler(feats, boxes)
        if self.c4:
            x = self.box_head(x)
        logits = self.mask_head(x).float()
        labels = torch.cat([d["labels"] for d in dets])
        probs = logits[torch.arange(labels.numel(), device=labels.device), labels - 1].sigmoid()[:, None]
        for d, p in zip(dets, probs.split([len(b) for b in boxes])):
            d["masks"] = p

    def _postprocess(self, boxes: torch.Tensor, scores: torch.Tensor, image_sizes, counts) -> list[dict]:
        dets = []
        for b, s, size in zip(boxes.split(counts), scores.split(counts), image_sizes):
            b = clip_boxes_to_image(b, size)
            ob, os_, ol = fastrcnn_predictions(b, s, **self.test_kw)
            dets.append({"boxes": ob, "scores": os_, "labels": ol})
        return dets

    # --------------------------------------------------------------- forward
    def forward(self, feats: Sequence[torch.Tensor], proposals: Sequence[torch.Tensor],
                image_sizes: Sequence[tuple[int, int]], targets: Sequence[dict] | None = None):
        """Training: ``dict`` of losses. Eval: per image ``{"boxes", "scores", "labels"[, "masks"]}``."""
        if self.training:
            targets = self._split_targets(targets)
            boxes, labels, gt_idx = self._sample(proposals, targets)
            x, c4_map = self._box_features(feats, boxes)
            logits, deltas = (t.float() for t in self.box_predictor(x))
            box_t = self._box_targets(self.box_coder, boxes, labels, gt_idx, targets)
            lab_t = torch.cat(labels)
            label_loss, box_loss = fastrcnn_losses(logits, deltas, lab_t, box_t)
            losses = {"fastrcnn_label_loss": label_loss, "fastrcnn_box_loss": box_loss}
            if self.has_mask:
                losses["maskrcnn_loss"] = self._mask_losses(feats, boxes, labels, gt_idx, targets, c4_map)
            return losses
        x, _ = self._box_features(feats, proposals)
        logits, deltas = (t.float() for t in self.box_predictor(x))
        # the class count is explicit: an image (or a diverged model) may have 0 proposals
        boxes = self.box_coder.decode(deltas, torch.cat(list(proposals))).view(deltas.shape[0], deltas.shape[1] // 4, 4)
        dets = self._postprocess(boxes, F.softmax(logits.float(), -1), image_sizes, [len(p) for p in proposals])
        if self.has_mask:
            self._predict_masks(feats, dets)
        return dets
