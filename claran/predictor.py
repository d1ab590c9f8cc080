"""``Predictor``: numpy image in, numpy detections (in that image's pixels) out."""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .errors import UserError
from .modeling.mask_head import paste_masks
from .ops import FrozenBatchNorm2d

__all__ = ["Predictor", "resize_scale"]


def resize_scale(h: int, w: int, short: float, max_size: float) -> float:
    """tensorpack's ResizeShortestEdge / torchvision's scale: short edge to ``short``, long edge <= ``max_size``."""
    return min(short / min(h, w), max_size / max(h, w))


class Predictor:
    """Run a claran model on ``H x W x C`` numpy images (uint8, or float32 on a 0..255 scale).

    Resizes by ``PREPROC.TEST_SHORT_EDGE_SIZE`` / ``PREPROC.MAX_SIZE`` with ``COMPAT.RESIZE`` ("cv2":
    tensorpack's cv2 bilinear, "torch": torchvision's ``F.interpolate``), runs the model in inference mode,
    maps boxes back to the input's pixels and pastes masks (``COMPAT.MASK_PASTE``).
    Returns ``boxes`` (N x 4 float32, x1 y1 x2 y2), ``scores`` (N), ``labels`` (N, 1..K) and for mask
    models ``masks`` (N x H x W bool).

    ``fuse_bn=True`` (default) runs a private copy of the model with every FrozenBatchNorm folded into its
    conv (one op less per conv; the caller's model and state_dict are untouched). Detections equal the
    unfused model's up to float rounding (docs/notes/performance.md); ``fuse_bn=False`` runs the model as is.

    ``precision="bf16"`` runs convolutions and fully connected layers in bfloat16 (autocast, channels_last;
    box decoding, NMS and masks stay float32): about 1.8x faster on CPUs with AVX512-BF16 or AMX, with
    detections that move by bf16 rounding (measured in docs/NOTES.md). Default ``"fp32"``.

    ``backend="onnxruntime"`` (CPU, float32; needs ``pip install -e '.[onnx]'``) runs the learned parts
    (backbone, RPN head, box and mask heads) as ONNX Runtime sessions and everything else as the torch
    backend does (``claran.export.runtime``); ``onnx`` is a file from ``claran export`` of this model, or
    None to export in memory. The same detections up to float rounding (tests/test_onnx.py).
    """

    def __init__(self, model: torch.nn.Module, *, device: str | torch.device | None = None,
                 fuse_bn: bool = True, precision: str = "fp32", backend: str = "torch",
                 onnx: str | os.PathLike | None = None) -> None:
        cfg = getattr(model, "cfg", None)
        if cfg is None:
            raise UserError("Predictor needs a model from claran.build_model / load_model / from_torchvision")
        if device is not None:
            model = model.to(device)
        if precision not in ("fp32", "bf16"):
            raise UserError(f"precision={precision!r}: expected 'fp32' or 'bf16'")
        if backend not in ("torch", "onnxruntime"):
            raise UserError(f"backend={backend!r}: expected 'torch' or 'onnxruntime'")
        if backend == "onnxruntime" and precision != "fp32":
            raise UserError("backend='onnxruntime' runs float32 only; use precision='fp32' or backend='torch'")
        if onnx is not None and backend != "onnxruntime":
            raise UserError("onnx= is a file for backend='onnxruntime'")
        model = model.eval()
        self.backend = backend
        if backend == "onnxruntime":  # a private copy, FrozenBN folded, its learned parts in ONNX Runtime
            from .export.runtime import onnxruntime_model

            model, fuse_bn = onnxruntime_model(model, onnx), False
        private = False
        if fuse_bn and hasattr(model, "fuse_frozen_bn") and any(
                isinstance(m, FrozenBatchNorm2d) for m in model.modules()):
            model, private = copy.deepcopy(model).fuse_frozen_bn(), True
        if precision == "bf16":  # oneDNN's bf16 convolutions are fastest on channels_last; on a private copy
            model = (model if private else copy.deepcopy(model)).to(memory_format=torch.channels_last)
        self.precision = precision
        self.model = model
        self.cfg = cfg
        self.device = model.device
        self.short = float(cfg.PREPROC.TEST_SHORT_EDGE_SIZE)
        self.max_size = float(cfg.PREPROC.MAX_SIZE)
        self.resize_mode = cfg.COMPAT.RESIZE
        self.paste_style = cfg.COMPAT.MASK_PASTE
        self.channels = int(cfg.BACKBONE.IN_CHANNELS)

    def _check(self, img: np.ndarray, i: int | None) -> np.ndarray:
        where = "image" if i is None else f"image {i}"
        if not isinstance(img, np.ndarray):
            raise UserError(f"{where}: expected a numpy array H x W x {self.channels}, got {type(img).__name__}")
        if img.ndim == 2 and self.channels == 1:
            img = img[:, :, None]
        if img.ndim != 3 or img.shape[2] != self.channels or min(img.shape[:2]) < 1:
            raise UserError(f"{where}: expected shape H x W x {self.channels} (BACKBONE.IN_CHANNELS), got {img.shape}")
        if img.dtype != np.uint8 and not np.issubdtype(img.dtype, np.floating):
            raise UserError(f"{where}: dtype {img.dtype} not supported; pass uint8 or float32 on a 0..255 scale")
        if np.issubdtype(img.dtype, np.floating) and not np.isfinite(img).all():
            raise UserError(f"{where}: contains NaN or infinite pixels; replace them (e.g. np.nan_to_num) first")
        return img

    def _prepare(self, img: np.ndarray) -> torch.Tensor:
        h, w = img.shape[:2]
        scale = resize_scale(h, w, self.short, self.max_size)
        if self.resize_mode == "torch":
            x = torch.from_numpy(np.ascontiguousarray(img)).to(self.device, torch.float32).permute(2, 0, 1)
            x = self.model.normalize(x)  # torchvision resizes the normalised image
            if scale != 1.0:
                x = F.interpolate(x[None], scale_factor=scale, mode="bilinear", recompute_scale_factor=True,
                                  align_corners=False)[0]
            return x
        nh, nw = int(h * scale + 0.5), int(w * scale + 0.5)
        if (nh, nw) != (h, w):
            src = img if img.dtype == np.uint8 else img.astype(np.float32)
            img = cv2.resize(src, (nw, nh), interpolation=cv2.INTER_LINEAR).reshape(nh, nw, -1)
        return torch.from_numpy(np.ascontiguousarray(img)).to(self.device, torch.float32).permute(2, 0, 1)

    def __call__(self, img: np.ndarray) -> dict[str, np.ndarray]:
        return self.predict_batch([img])[0]

    def predict_batch(self, images: Sequence[np.ndarray]) -> list[dict[str, np.ndarray]]:
        """Predict several images in one forward pass (they are padded to a common size)."""
        images = [self._check(im, i if len(images) > 1 else None) for i, im in enumerate(images)]
        if not images:
            return []
        with torch.inference_mode():
            inputs = [self._prepare(im) for im in images]
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
                outputs = self.model(inputs, normalized=self.resize_mode == "torch")
            results = []
            for im, x, out in zip(images, inputs, outputs):
                h, w = im.shape[:2]
                boxes = out["boxes"].float()
                ratio = torch.tensor([w / x.shape[-1], h / x.shape[-2]] * 2, device=boxes.device)
                boxes = boxes * ratio
                boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
                boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
                res = {"boxes": boxes.cpu().numpy().astype(np.float32), "scores": out["scores"].float().cpu().numpy(),
                       "labels": out["labels"].cpu().numpy().astype(np.int64)}
                if "masks" in out:
                    res["masks"] = paste_masks(out["masks"], boxes, (h, w), style=self.paste_style).cpu().numpy()
                results.append(res)
        return results
