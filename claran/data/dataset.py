"""tensorpack's dataset plug-in API: ``DatasetSplit``, ``DatasetRegistry`` and dataset families.

A *split* knows its roidbs (one dict per image, tensorpack's field names) and how to score results. A
*family* (``coco``, ``rgz``, a user's own) is a ``setup(cfg, data_dir)`` function that registers the
splits found in ``data_dir`` and fills ``DATA.TRAIN``, ``DATA.VAL`` and ``DATA.CLASS_NAMES``.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

from ..config import Config
from ..errors import DatasetError

__all__ = [
    "DatasetSplit",
    "DatasetRegistry",
    "register_dataset_family",
    "get_dataset_family",
    "family_after_overrides",
    "list_dataset_families",
    "sanitize_roidbs",
]

logger = logging.getLogger("claran")


class DatasetSplit:
    """One split of a dataset. Subclasses implement the roidb methods and may override ``load_image``."""

    def training_roidbs(self) -> list[dict]:
        """Per image: ``file_name``, ``image_id``, ``boxes`` float32 [N, 4] x1y1x2y2 absolute pixels,
        ``class`` int32 [N] in 1..K, ``is_crowd`` int8 [N], optional ``segmentation`` (per instance a list
        of polygons, each float [K, 2], or a COCO RLE dict), optional ``width`` / ``height``."""
        raise NotImplementedError

    def inference_roidbs(self) -> list[dict]:
        """Per image: ``file_name``, ``image_id``."""
        raise NotImplementedError

    def eval_inference_results(self, results: list[dict], output: str | None = None) -> dict[str, float]:
        """Score COCO-style results (``image_id``, ``category_id`` in 1..K, ``bbox`` xywh, ``score``,
        optional RLE ``segmentation``); optionally write them to ``output``."""
        raise NotImplementedError

    def load_image(self, roidb: dict) -> np.ndarray:
        """``H x W x C`` uint8 (or float32 on a 0..255 scale). Default: an image file read as RGB."""
        img = cv2.imread(roidb["file_name"], cv2.IMREAD_COLOR)
        if img is None:
            raise DatasetError(f"{roidb['file_name']}: cannot read the image (missing or not an image file)")
        return img[:, :, ::-1]  # BGR -> RGB

    def image_exists(self, roidb: dict) -> bool:
        """Used to skip roidbs whose image is missing before training starts."""
        return os.path.isfile(roidb["file_name"])


class DatasetRegistry:
    """Name -> split factory, plus per-name metadata (``class_names``, ``checkpoint_extra``, ...)."""

    _registry: dict[str, Callable[[], DatasetSplit]] = {}
    _metadata: dict[str, dict[str, Any]] = {}
    _cache: dict[str, DatasetSplit] = {}

    @staticmethod
    def register(name: str, func: Callable[[], DatasetSplit]) -> None:
        """Register (or replace) ``name``; ``func()`` builds the split the first time it is needed."""
        DatasetRegistry._registry[name] = func
        DatasetRegistry._cache.pop(name, None)

    @staticmethod
    def get(name: str) -> DatasetSplit:
        if name not in DatasetRegistry._registry:
            known = sorted(DatasetRegistry._registry)
            close = difflib.get_close_matches(name, known, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else f"registered: {', '.join(known) or 'none'}"
            raise DatasetError(f"dataset split {name!r} is not registered; {hint}")
        if name not in DatasetRegistry._cache:
            DatasetRegistry._cache[name] = DatasetRegistry._registry[name]()
        return DatasetRegistry._cache[name]

    @staticmethod
    def register_metadata(name: str, key: str, value: Any) -> None:
        DatasetRegistry._metadata.setdefault(name, {})[key] = value

    @staticmethod
    def get_metadata(name: str, key: str, default: Any = None) -> Any:
        return DatasetRegistry._metadata.get(name, {}).get(key, default)

    @staticmethod
    def get_registered_names() -> list[str]:
        return sorted(DatasetRegistry._registry)


_FAMILIES: dict[str, Callable[[Config, str | None], None]] = {}
_AFTER_OVERRIDES: dict[str, Callable[[Config, Sequence[str]], None]] = {}


def register_dataset_family(name: str, setup: Callable[[Config, str | None], None], *,
                            after_overrides: Callable[[Config, Sequence[str]], None] | None = None) -> None:
    """``setup(cfg, data_dir)`` registers splits and sets DATA.TRAIN / DATA.VAL / DATA.CLASS_NAMES.
    ``after_overrides(cfg, overrides)``, if given, runs after the ``KEY=VALUE`` overrides to re-derive the
    keys that follow from the family's own overridden keys (rgz: ``RGZ.REPRESENTATION`` -> input channels)."""
    _FAMILIES[name] = setup
    if after_overrides is not None:
        _AFTER_OVERRIDES[name] = after_overrides
    else:
        _AFTER_OVERRIDES.pop(name, None)


def family_after_overrides(name: str) -> Callable[[Config, Sequence[str]], None] | None:
    """The family's ``after_overrides`` hook (see ``register_dataset_family``), or None."""
    return _AFTER_OVERRIDES.get(name)


def list_dataset_families() -> list[str]:
    return sorted(_FAMILIES)


def get_dataset_family(name: str) -> Callable[[Config, str | None], None]:
    if name not in _FAMILIES:
        raise DatasetError(f"unknown dataset {name!r}; known datasets: {', '.join(list_dataset_families())}")
    return _FAMILIES[name]


def sanitize_roidbs(
    roidbs: list[dict], *, num_category: int, name: str, split: DatasetSplit | None = None
) -> list[dict]:
    """Drop what training cannot use, count it, report it once; return clean copies.

    Skipped: images whose file is missing, boxes with zero/negative size, boxes entirely outside the
    image, boxes with an unknown class. Boxes partly outside are clipped (tensorpack does the same).
    """
    skipped: Counter[str] = Counter()
    out = []
    for r in roidbs:
        if split is not None and not split.image_exists(r):
            skipped["images (missing file)"] += 1
            continue
        boxes = np.asarray(r.get("boxes", np.zeros((0, 4))), dtype=np.float32).reshape(-1, 4)
        cls = np.asarray(r.get("class", np.zeros(0)), dtype=np.int32).reshape(-1)
        crowd = np.asarray(r.get("is_crowd", np.zeros(len(boxes))), dtype=np.int8).reshape(-1)
        keep = np.ones(len(boxes), dtype=bool)
        bad_cls = (cls < 1) | (cls > num_category)
        skipped["boxes (unknown category id)"] += int(bad_cls.sum())
        keep &= ~bad_cls
        if len(boxes) and not np.isfinite(boxes).all():
            nonfinite = ~np.isfinite(boxes).all(axis=1) & keep
            skipped["boxes (not finite)"] += int(nonfinite.sum())
            keep &= ~nonfinite
            boxes = np.nan_to_num(boxes)
        w, h = r.get("width"), r.get("height")
        if w is not None and h is not None and len(boxes):
            outside = (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0) | (boxes[:, 0] >= w) | (boxes[:, 1] >= h)
            skipped["boxes (outside the image)"] += int((outside & keep).sum())
            keep &= ~outside
            boxes = boxes.copy()
            boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
            boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
        degenerate = (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1]) if len(boxes) else keep[:0]
        skipped["boxes (zero or negative size)"] += int((degenerate & keep).sum())
        keep &= ~degenerate
        new = dict(r)
        new["boxes"], new["class"], new["is_crowd"] = boxes[keep], cls[keep], crowd[keep]
        if r.get("segmentation") is not None:
            new["segmentation"] = [s for s, k in zip(r["segmentation"], keep) if k]
        out.append(new)
    skipped = Counter({k: v for k, v in skipped.items() if v})
    if skipped:
        logger.warning("dataset %s: skipped %s", name, ", ".join(f"{v} {k}" for k, v in sorted(skipped.items())))
    return out
