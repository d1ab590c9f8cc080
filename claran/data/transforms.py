"""Geometric augmentations that move the image, its boxes and its masks together.

Boxes are continuous ``x1, y1, x2, y2`` (pixel ``i`` covers ``[i, i+1)``); every op maps points exactly,
so boxes go through their four corners. Polygons are transformed as points and rasterised once at the
final size (sharp masks); RLE masks are decoded and transformed as bitmaps.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["TransformList", "shortest_edge_size", "sample_train_transform", "rasterize_polygons"]


def shortest_edge_size(h: int, w: int, short: float, max_size: float) -> tuple[int, int]:
    """tensorpack's ResizeShortestEdge: scale the short edge to ``short``, the long one to at most ``max_size``."""
    scale = short / min(h, w)
    if max(h, w) * scale > max_size:
        scale = max_size / max(h, w)
    return max(1, int(h * scale + 0.5)), max(1, int(w * scale + 0.5))


def _resize(img: np.ndarray, h: int, w: int, interp: int) -> np.ndarray:
    if img.ndim == 3 and img.shape[2] > 4:  # cv2 handles up to 4 channels in every dtype; resize in chunks
        return np.concatenate([_resize(img[:, :, i : i + 4], h, w, interp) for i in range(0, img.shape[2], 4)], 2)
    out = cv2.resize(img, (w, h), interpolation=interp)
    return out[:, :, None] if img.ndim == 3 and out.ndim == 2 else out


class TransformList:
    """A recorded sequence of resize / flip / rot90 ops applied alike to images, points, boxes and masks."""

    def __init__(self, h: int, w: int) -> None:
        self.h, self.w = h, w  # current size
        self.ops: list[tuple] = []

    def resize(self, h: int, w: int) -> TransformList:
        self.ops.append(("resize", h / self.h, w / self.w, h, w))
        self.h, self.w = h, w
        return self

    def hflip(self) -> TransformList:
        self.ops.append(("hflip", self.w))
        return self

    def vflip(self) -> TransformList:
        self.ops.append(("vflip", self.h))
        return self

    def rot90(self, k: int) -> TransformList:
        """Counter-clockwise by ``k * 90`` degrees, like ``np.rot90``."""
        for _ in range(k % 4):
            self.ops.append(("rot90", self.w))
            self.h, self.w = self.w, self.h
        return self

    def apply_image(self, img: np.ndarray, interp: int = cv2.INTER_LINEAR) -> np.ndarray:
        for op in self.ops:
            if op[0] == "resize":
                img = _resize(img, op[3], op[4], interp)
            elif op[0] == "hflip":
                img = img[:, ::-1]
            elif op[0] == "vflip":
                img = img[::-1]
            else:
                img = np.rot90(img)
        return np.ascontiguousarray(img)

    def apply_coords(self, xy: np.ndarray) -> np.ndarray:
        xy = np.array(xy, dtype=np.float32).reshape(-1, 2)
        for op in self.ops:
            if op[0] == "resize":
                xy[:, 0] *= op[2]
                xy[:, 1] *= op[1]
            elif op[0] == "hflip":
                xy[:, 0] = op[1] - xy[:, 0]
            elif op[0] == "vflip":
                xy[:, 1] = op[1] - xy[:, 1]
            else:  # np.rot90: (x, y) -> (y, W - x)
                xy = np.stack([xy[:, 1], op[1] - xy[:, 0]], axis=1)
        return xy

    def apply_boxes(self, boxes: np.ndarray) -> np.ndarray:
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        corners = boxes[:, [0, 1, 2, 1, 0, 3, 2, 3]].reshape(-1, 2)
        c = self.apply_coords(corners).reshape(-1, 4, 2)
        return np.concatenate([c.min(axis=1), c.max(axis=1)], axis=1).astype(np.float32)

    def apply_mask(self, mask: np.ndarray) -> np.ndarray:
        return self.apply_image(mask.astype(np.uint8), interp=cv2.INTER_NEAREST)


def sample_train_transform(
    h: int, w: int, *, rng: np.random.Generator, short_edge: tuple[int, int], max_size: float,
    flip: bool, rotate90: bool,
) -> TransformList:
    """Short edge sampled uniformly from ``[min, max]`` (integers, like tensorpack), then flips/rotations."""
    lo, hi = int(short_edge[0]), int(short_edge[1])
    short = lo if hi <= lo else int(rng.integers(lo, hi + 1))
    t = TransformList(h, w).resize(*shortest_edge_size(h, w, short, max_size))
    if rotate90:  # the 8 symmetries of the square: sky images have no preferred orientation
        t.rot90(int(rng.integers(4)))
        if rng.random() < 0.5:
            t.vflip()
    if flip and rng.random() < 0.5:
        t.hflip()
    return t


def rasterize_polygons(polys: list[np.ndarray], h: int, w: int) -> np.ndarray:
    """Union of polygons (each [K, 2] x, y) as a uint8 H x W mask, with pycocotools."""
    from pycocotools import mask as mask_util

    flat = [np.asarray(p, dtype=np.float64).reshape(-1).tolist() for p in polys if len(p) >= 3]
    if not flat:
        return np.zeros((h, w), np.uint8)
    rle = mask_util.merge(mask_util.frPyObjects(flat, h, w))
    return mask_util.decode(rle).astype(np.uint8)
