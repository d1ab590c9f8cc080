"""Anchor generation in tensorpack's (Detectron's legacy) and torchvision's conventions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["AnchorGenerator", "tensorpack_cell_anchors", "torchvision_cell_anchors"]


def tensorpack_cell_anchors(stride: int, sizes: Sequence[float], ratios: Sequence[float]) -> np.ndarray:
    """tensorpack's ``generate_anchors`` (integer-rounded, inclusive-coordinate legacy) made continuous.

    Returns ``[len(ratios) * len(sizes), 4]`` anchors for the cell at the origin (ratio-major).
    The ``+1`` on x2/y2 is tensorpack's ``get_all_anchors`` turning inclusive boxes into continuous ones,
    which puts the anchor centres at ``stride / 2``.
    """
    base = np.array([0, 0, stride - 1, stride - 1], dtype=np.float64)

    def whctr(a: np.ndarray) -> tuple[float, float, float, float]:
        w, h = a[2] - a[0] + 1, a[3] - a[1] + 1
        return w, h, a[0] + 0.5 * (w - 1), a[1] + 0.5 * (h - 1)

    def mk(ws: np.ndarray, hs: np.ndarray, cx: float, cy: float) -> np.ndarray:
        return np.stack([cx - 0.5 * (ws - 1), cy - 0.5 * (hs - 1), cx + 0.5 * (ws - 1), cy + 0.5 * (hs - 1)], 1)

    w, h, cx, cy = whctr(base)
    ratios = np.asarray(ratios, dtype=np.float64)
    ws = np.round(np.sqrt(w * h / ratios))
    hs = np.round(ws * ratios)
    out = []
    for ra in mk(ws, hs, cx, cy):
        w, h, cx, cy = whctr(ra)
        scales = np.asarray(sizes, dtype=np.float64) / stride
        out.append(mk(w * scales, h * scales, cx, cy))
    anchors = np.concatenate(out, 0)
    anchors[:, 2:] += 1
    return anchors.astype(np.float32)


def torchvision_cell_anchors(sizes: Sequence[float], ratios: Sequence[float]) -> torch.Tensor:
    """torchvision's ``AnchorGenerator.generate_anchors``: zero-centred, rounded to integers."""
    scales = torch.as_tensor(sizes, dtype=torch.float32)
    ar = torch.as_tensor(ratios, dtype=torch.float32)
    h_ratios = torch.sqrt(ar)
    w_ratios = 1 / h_ratios
    ws = (w_ratios[:, None] * scales[None, :]).view(-1)
    hs = (h_ratios[:, None] * scales[None, :]).view(-1)
    return (torch.stack([-ws, -hs, ws, hs], dim=1) / 2).round()


class AnchorGenerator(nn.Module):
    """Anchors for every feature level: ``[H * W * A, 4]`` per level, location-major, x1y1x2y2.

    ``style="torchvision"`` also takes torchvision's stride: padded image size // feature size (so P6 of an
    800 px image has stride 61, not 64).
    """

    def __init__(self, *, sizes: Sequence[Sequence[float]], ratios: Sequence[float], strides: Sequence[int],
                 style: str = "tensorpack") -> None:
        super().__init__()
        assert len(sizes) == len(strides)
        self.strides = [int(s) for s in strides]
        self.style = style
        if style == "tensorpack":
            cells = [torch.from_numpy(tensorpack_cell_anchors(s, sz, ratios)) for s, sz in zip(strides, sizes)]
        else:
            cells = [torchvision_cell_anchors(sz, ratios) for sz in sizes]
        self.num_anchors = cells[0].shape[0]
        for i, c in enumerate(cells):
            self.register_buffer(f"cell{i}", c, persistent=False)
        self._cache: dict[tuple, list[torch.Tensor]] = {}

    def forward(self, feature_shapes: Sequence[tuple[int, int]], padded_size: tuple[int, int]) -> list[torch.Tensor]:
        key = (tuple(feature_shapes), tuple(padded_size), self.cell0.device)
        if key in self._cache:
            return self._cache[key]
        out = []
        for i, (h, w) in enumerate(feature_shapes):
            cell = getattr(self, f"cell{i}")
            if self.style == "torchvision":
                sy, sx = padded_size[0] // h, padded_size[1] // w
            else:
                sy = sx = self.strides[i]
            ys = torch.arange(h, dtype=torch.int32, device=cell.device) * sy
            xs = torch.arange(w, dtype=torch.int32, device=cell.device) * sx
            yy, xx = torch.meshgrid(ys, xs, indexing="ij")
            shifts = torch.stack([xx.reshape(-1), yy.reshape(-1), xx.reshape(-1), yy.reshape(-1)], 1)
            out.append((shifts.view(-1, 1, 4) + cell.view(1, -1, 4)).reshape(-1, 4))
        if len(self._cache) > 16:
            self._cache.clear()
        self._cache[key] = out
        return out
