"""torchvision's detection ops without importing torchvision (start-up time).

``import torchvision`` imports ``torchvision.models`` and ``torchvision.ops.roi_align``, which imports
``torch._dynamo``: about 1.2 s on a quiet machine, more than the rest of ``claran detect``'s imports together.
The kernels themselves live in torchvision's C++ extension, which registers ``torch.ops.torchvision.*`` when it
is loaded; this module loads that library directly (what ``torchvision.extension`` does) and keeps
torchvision's thin Python wrappers, line for line, so results are bit-identical to ``torchvision.ops``
(``tests/test_ops.py``). When the extension cannot be found, or gradients or autocast are on (torchvision registers the
ops' backward and autocast kernels in Python), torchvision is imported as usual.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["nms", "batched_nms", "roi_align", "box_iou", "box_area", "clip_boxes_to_image",
           "remove_small_boxes", "FrozenBatchNorm2d"]

_loaded = _full = False


def _ops(grad: bool = False):
    """``torch.ops.torchvision``, loading torchvision's extension library the first time; ``grad``: the call
    needs a backward.

    torchvision registers the ops' autograd (roi_align's backward) and autocast kernels in Python
    (``torchvision/_autograd_registrations.py``), so with gradients or autocast on, torchvision itself is
    imported: training and mixed precision get exactly torchvision's ops; plain inference skips the import.
    """
    global _loaded, _full
    if not _full and (grad or torch.is_autocast_enabled("cpu") or torch.is_autocast_enabled("cuda")):
        import torchvision  # noqa: F401
        _loaded = _full = True
    elif not _loaded:
        if not _load_extension():
            import torchvision  # noqa: F401  (its import loads the extension however it is packaged)
            _full = True
        _loaded = True
    return torch.ops.torchvision


def _load_extension() -> bool:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations or os.name == "nt":
        return False
    lib_dir = spec.submodule_search_locations[0]
    finder = importlib.machinery.FileFinder(
        lib_dir, (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES))
    for name in ("_C_stable", "_C"):  # torchvision >= 0.29 / older releases
        found = finder.find_spec(name)
        if found is not None and found.origin:
            try:
                torch.ops.load_library(found.origin)
                return True
            except OSError:
                return False
    return False


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """``torchvision.ops.nms``: indices kept, by decreasing score."""
    return _ops().nms(boxes, scores, iou_threshold)


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """``torchvision.ops.batched_nms``: NMS within each ``idxs`` category (the same two strategies)."""
    if boxes.numel() > (4000 if boxes.device.type == "cpu" else 100_000):
        keep_mask = torch.zeros_like(scores, dtype=torch.bool)
        for class_id in torch.unique(idxs):
            cur = torch.where(idxs == class_id)[0]
            keep_mask[cur[nms(boxes[cur], scores[cur], iou_threshold)]] = True
        keep = torch.where(keep_mask)[0]
        return keep[scores[keep].sort(descending=True)[1]]
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    offsets = idxs.to(boxes) * (boxes.max() + torch.tensor(1).to(boxes))
    return nms(boxes + offsets[:, None], scores, iou_threshold)


def roi_align(input: Tensor, boxes: Tensor | Sequence[Tensor], output_size: int | tuple[int, int],
              spatial_scale: float = 1.0, sampling_ratio: int = -1, aligned: bool = False) -> Tensor:
    """``torchvision.ops.roi_align`` for float tensors: ``boxes`` is ``[K, 5]`` rois or a list of ``[L, 4]``."""
    rois = boxes
    if not isinstance(rois, Tensor):
        ids = torch.cat([torch.full_like(b[:, :1], i) for i, b in enumerate(boxes)])
        rois = torch.cat([ids, torch.cat(list(boxes))], 1)
    oh, ow = (output_size, output_size) if isinstance(output_size, int) else output_size
    grad = input.requires_grad and torch.is_grad_enabled()
    return _ops(grad).roi_align(input, rois, spatial_scale, oh, ow, sampling_ratio, aligned)


def _upcast(t: Tensor) -> Tensor:  # torchvision's: no overflow in half or small integer types
    if t.is_floating_point():
        return t if t.dtype in (torch.float32, torch.float64) else t.float()
    return t if t.dtype in (torch.int32, torch.int64) else t.int()


def box_area(boxes: Tensor) -> Tensor:
    boxes = _upcast(boxes)
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """``torchvision.ops.box_iou`` of x1 y1 x2 y2 boxes: ``[N, M]``."""
    area1, area2 = box_area(boxes1), box_area(boxes2)
    lt = torch.max(boxes1[..., None, :2], boxes2[..., None, :, :2])
    rb = torch.min(boxes1[..., None, 2:], boxes2[..., None, :, 2:])
    wh = _upcast(rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area1[..., None] + area2[..., None, :] - inter)


def clip_boxes_to_image(boxes: Tensor, size: tuple[int, int]) -> Tensor:
    """``torchvision.ops.clip_boxes_to_image``: x into ``[0, w]``, y into ``[0, h]``."""
    dim = boxes.dim()
    height, width = size
    xs = boxes[..., 0::2].clamp(min=0, max=width)
    ys = boxes[..., 1::2].clamp(min=0, max=height)
    return torch.stack((xs, ys), dim=dim).reshape(boxes.shape)


def remove_small_boxes(boxes: Tensor, min_size: float) -> Tensor:
    """``torchvision.ops.remove_small_boxes``: indices of boxes with both sides >= ``min_size``."""
    ws, hs = boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]
    return torch.where((ws >= min_size) & (hs >= min_size))[0]


class FrozenBatchNorm2d(nn.Module):
    """``torchvision.ops.FrozenBatchNorm2d``: fixed statistics and affine (the same buffers and arithmetic)."""

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(num_features))
        self.register_buffer("bias", torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        state_dict.pop(prefix + "num_batches_tracked", None)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def forward(self, x: Tensor) -> Tensor:
        w = self.weight.reshape(1, -1, 1, 1)
        b = self.bias.reshape(1, -1, 1, 1)
        rv = self.running_var.reshape(1, -1, 1, 1)
        rm = self.running_mean.reshape(1, -1, 1, 1)
        scale = w * (rv + self.eps).rsqrt()
        bias = b - rm * scale
        return x * scale + bias

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"
