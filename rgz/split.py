"""``RGZDetection``: one split of an RGZ folder in claran's FITS layout (see rgz.dataset): roidbs with boxes
mapped into the frame, rendered frames (cached as float16 ``.npy``), and ClaRAN's AP50 (+ COCO) evaluation."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from claran.data import DatasetSplit
from claran.fileio import atomic_write, atomic_write_bytes

from . import RGZ_CLASSES
from .evaluation import coco_bbox_metrics, evaluate_ap50
from .fits_io import FitsInputError, read_infrared, read_radio
from .frame import Framed, FrameSpec, frame_wcs, to_frame, transform_boxes
from .render import render

__all__ = ["RGZDetection", "frame_image"]

logger = logging.getLogger("claran")


def frame_image(radio_path: str, *, spec: FrameSpec, ir_path: str | None = None) -> tuple[Framed, Framed | None]:
    """Read a radio file (and its IR image) and resample both onto the frame centred on the radio image."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing-beam warnings: the rendering does not use the beam
        radio = read_radio(radio_path)
        fr = to_frame(radio, spec=spec)
        ir = to_frame(read_infrared(ir_path), center=fr.center, spec=spec) if ir_path else None
    return fr, ir


def _file_key(path: str) -> str:
    st = os.stat(path)
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


class RGZDetection(DatasetSplit):
    """One split of an RGZ folder in the FITS layout (see the module docstring)."""

    def __init__(self, *, data_dir: str | os.PathLike, images: list[dict], annotations: list[dict],
                 representation: str, spec: FrameSpec, name: str, cache_dir: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.name = name
        self.representation = representation
        self.spec = spec
        self.images = images
        self._anns: dict[Any, list[dict]] = {}
        for a in annotations:
            self._anns.setdefault(a["image_id"], []).append(a)
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._gt: dict[Any, tuple[np.ndarray, np.ndarray]] | None = None

    # ---------------------------------------------------------------- roidbs
    def _roidb(self, img: dict) -> dict:
        r = {"file_name": str(self.data_dir / img["file_name"]), "image_id": img["id"],
             "width": self.spec.size, "height": self.spec.size}
        if img.get("ir_file"):
            r["ir_file"] = str(self.data_dir / img["ir_file"])
        return r

    def inference_roidbs(self) -> list[dict]:
        return [self._roidb(img) for img in self.images]

    def training_roidbs(self) -> list[dict]:
        out = []
        bad = 0
        for img in self.images:
            r = self._roidb(img)
            anns = [a for a in self._anns.get(img["id"], []) if not a.get("ignore", 0)]
            boxes = np.array([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                              for a in anns], np.float64).reshape(-1, 4)
            if len(boxes):
                try:
                    boxes = self._to_frame_boxes(r["file_name"], boxes)
                except FitsInputError as e:
                    logger.warning("%s", e)
                    bad += 1
                    continue
            r["boxes"] = boxes.astype(np.float32)
            r["class"] = np.array([a["category_id"] for a in anns], np.int32)
            r["is_crowd"] = np.array([a.get("iscrowd", 0) for a in anns], np.int8)
            out.append(r)
        if bad:
            logger.warning("dataset %s: %d unreadable radio files skipped", self.name, bad)
        return out

    def _to_frame_boxes(self, path: str, boxes: np.ndarray) -> np.ndarray:
        """Radio-file pixels -> frame pixels (the frame is centred on the radio image's centre)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            radio = read_radio(path)
        return transform_boxes(boxes, radio.wcs, frame_wcs(radio.center, self.spec))

    # ---------------------------------------------------------------- images
    def _cache_path(self, roidb: dict) -> Path | None:
        if self.cache_dir is None:
            return None
        parts = [_file_key(roidb["file_name"])]
        if roidb.get("ir_file"):
            parts.append(_file_key(roidb["ir_file"]))
        parts += [self.representation, str(self.spec.size), repr(self.spec.pixel_scale_arcsec), "v1"]
        h = hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]
        return self.cache_dir / f"{Path(roidb['file_name']).stem}-{h}.npy"

    def load_image(self, roidb: dict) -> np.ndarray:
        """The rendered frame, ``S x S x C`` float32 on 0..255 (FITS row order: row 0 = south)."""
        cache = self._cache_path(roidb)
        if cache is not None and cache.is_file():
            try:
                return np.load(cache).astype(np.float32)
            except (OSError, ValueError):
                pass  # a damaged cache entry is simply rebuilt
        fr, ir = frame_image(roidb["file_name"], spec=self.spec, ir_path=roidb.get("ir_file"))
        img = render(self.representation, fr.data, ir=None if ir is None else ir.data)
        if cache is not None:
            try:
                atomic_write(cache, lambda tmp: np.save(tmp, img.astype(np.float16)))
            except OSError:
                pass  # no cache (read-only, disk full): render every time
        return img

    # ---------------------------------------------------------------- evaluation
    def _ground_truth(self) -> dict[Any, tuple[np.ndarray, np.ndarray]]:
        if self._gt is None:
            self._gt = {r["image_id"]: (r["boxes"], r["class"]) for r in self.training_roidbs()}
        return self._gt

    def eval_inference_results(self, results: list[dict], output: str | None = None) -> dict[str, float]:
        """ClaRAN's metric: PASCAL VOC all-point AP at IoU 0.5 per class and their mean (``mAP50``)."""
        if output is not None:
            atomic_write_bytes(json.dumps(results).encode(), output)
        metrics = evaluate_ap50(self._ground_truth(), results, RGZ_CLASSES)
        metrics.update(coco_bbox_metrics(self._ground_truth(), results, self.spec.size))
        return metrics
