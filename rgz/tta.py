"""Test-time augmentation over the 8 rotations and flips of a square frame (the sky has no preferred
orientation, and the models are trained with these augmentations).

Each view's boxes go back to the original frame; boxes from all views are clustered (IoU, any class) and
each cluster becomes one detection: the score-weighted mean box, the mean over the views of each view's
best score in the cluster (a view that missed the source counts 0), and the class of its best member.
"""

from __future__ import annotations

import numpy as np
import torch

from claran.ops import box_iou

__all__ = ["VIEWS", "view", "boxes_to_original", "fuse"]

VIEWS = [(k, flip) for flip in (False, True) for k in range(4)]  # (quarter turns, mirrored first)


def view(x: np.ndarray, k: int, flip: bool) -> np.ndarray:
    """The (H, W, C) frame mirrored left-right (if ``flip``) and then turned by ``k`` quarter turns (np.rot90)."""
    if flip:
        x = x[:, ::-1]
    return np.ascontiguousarray(np.rot90(x, k, axes=(0, 1)))


def boxes_to_original(boxes: np.ndarray, k: int, flip: bool, size: int) -> np.ndarray:
    """Boxes (x1, y1, x2, y2, continuous pixels) found in ``view(x, k, flip)`` of a ``size`` square frame,
    in the frame's own coordinates."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    xs, ys = b[:, [0, 2]], b[:, [1, 3]]
    for _ in range(k % 4):  # undo one np.rot90 turn: a view point (x, y) came from (size - y, x)
        xs, ys = size - ys, xs
    if flip:
        xs = size - xs
    return np.stack([xs.min(1), ys.min(1), xs.max(1), ys.max(1)], axis=1)


def fuse(outputs: list[dict], *, iou: float = 0.55) -> dict:
    """One detection per cluster of the views' detections (``outputs``: one dict per view, boxes already in
    the original frame)."""
    n_views = len(outputs)
    parts = [(np.asarray(o["boxes"], np.float64).reshape(-1, 4), np.asarray(o["scores"], np.float64).reshape(-1),
              np.asarray(o["labels"]).reshape(-1), np.full(len(o["scores"]), v)) for v, o in enumerate(outputs)]
    boxes, scores, labels, views = (np.concatenate(p) for p in zip(*parts, strict=True))
    if not len(boxes):
        return {"boxes": np.zeros((0, 4), np.float32), "scores": np.zeros(0, np.float32),
                "labels": np.zeros(0, np.int64)}
    order = np.argsort(-scores, kind="stable")
    boxes, scores, labels, views = boxes[order], scores[order], labels[order], views[order]
    near = box_iou(torch.from_numpy(boxes), torch.from_numpy(boxes)).numpy() >= iou
    free = np.ones(len(boxes), bool)
    out_b, out_s, out_l = [], [], []
    for i in range(len(boxes)):  # best remaining detection seeds a cluster of the free ones near it
        if not free[i]:
            continue
        members = np.flatnonzero(near[i] & free)
        free[members] = False
        best = np.zeros(n_views)
        np.maximum.at(best, views[members], scores[members])
        w = scores[members]
        out_b.append((boxes[members] * w[:, None]).sum(0) / w.sum())
        out_s.append(best.sum() / n_views)
        out_l.append(labels[i])
    return {"boxes": np.asarray(out_b, np.float32), "scores": np.asarray(out_s, np.float32),
            "labels": np.asarray(out_l, np.int64)}
