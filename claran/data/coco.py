"""COCO-format datasets (tensorpack's ``COCODetection``), the ``coco`` family and ``register_coco_json``."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..engine.checkpoint import atomic_write_bytes
from ..errors import DatasetError
from .dataset import DatasetRegistry, DatasetSplit, register_dataset_family

__all__ = ["COCODetection", "register_coco_json", "coco_class_names", "setup_coco", "COCO_METRIC_NAMES"]

logger = logging.getLogger("claran")

_FIELDS = ["IoU=0.5:0.95", "IoU=0.5", "IoU=0.75", "small", "medium", "large"]
_AR_FIELDS = ["maxDets=1", "maxDets=10", "maxDets=100", "small", "medium", "large"]
# The 12 numbers of COCOeval.summarize(), named like tensorpack names the first six.
COCO_METRIC_NAMES = [f"mAP({{}})/{f}" for f in _FIELDS] + [f"mAR({{}})/{f}" for f in _AR_FIELDS]


def _load_coco(json_file: str):
    from pycocotools.coco import COCO

    if not os.path.isfile(json_file):
        raise DatasetError(f"{json_file}: annotation file not found")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress lines
            return COCO(json_file)
    except (ValueError, KeyError, TypeError) as e:
        raise DatasetError(f"{json_file}: not a COCO annotation file ({type(e).__name__}: {e})") from None


class COCODetection(DatasetSplit):
    """A COCO-json split: ``json_file`` with images under ``image_root``.

    Category ids are remapped to contiguous classes 1..K (sorted by id) for training and back for
    evaluation. Crowd boxes keep ``is_crowd=1``; polygon and RLE masks are kept as given.
    """

    def __init__(self, *, json_file: str | os.PathLike, image_root: str | os.PathLike, name: str = "") -> None:
        self.json_file = str(json_file)
        self.image_root = str(image_root)
        self.name = name or Path(json_file).stem
        self.coco = _load_coco(self.json_file)
        cat_ids = sorted(self.coco.getCatIds())
        self.COCO_id_to_category_id = {c: i + 1 for i, c in enumerate(cat_ids)}
        self.category_id_to_COCO_id = {v: k for k, v in self.COCO_id_to_category_id.items()}
        self.class_names = [self.coco.cats[c]["name"] for c in cat_ids]

    @staticmethod
    def from_basedir(basedir: str | os.PathLike, split: str) -> COCODetection:
        """tensorpack's layout: ``annotations/instances_<split>.json`` and images in ``<split>/``
        (minival2014 and valminusminival2014 use ``val2014/``, val2017_100 uses ``val2017/``)."""
        image_dir = _IMAGE_DIRS.get(split, split)
        return COCODetection(
            json_file=Path(basedir, "annotations", f"instances_{split}.json"),
            image_root=Path(basedir, image_dir),
            name=f"coco_{split}",
        )

    def _image_roidb(self, img: dict) -> dict:
        return {
            "file_name": os.path.join(self.image_root, img["file_name"]),
            "image_id": img["id"],
            "width": img.get("width"),
            "height": img.get("height"),
        }

    def inference_roidbs(self) -> list[dict]:
        return [self._image_roidb(self.coco.imgs[i]) for i in sorted(self.coco.getImgIds())]

    def training_roidbs(self) -> list[dict]:
        from pycocotools import mask as mask_util

        roidbs = []
        malformed = 0
        for img_id in sorted(self.coco.getImgIds()):
            img = self.coco.imgs[img_id]
            r = self._image_roidb(img)
            boxes, classes, crowd, segs = [], [], [], []
            for ann in self.coco.imgToAnns.get(img_id, []):
                if ann.get("ignore", 0) == 1:
                    continue
                try:
                    x, y, w, h = (float(v) for v in ann["bbox"])
                except (KeyError, TypeError, ValueError):  # no bbox, not 4 numbers: skip it, count it
                    malformed += 1
                    continue
                boxes.append([x, y, x + w, y + h])
                classes.append(self.COCO_id_to_category_id.get(ann["category_id"], -1))  # -1: unknown, skipped later
                crowd.append(int(ann.get("iscrowd", 0)))
                seg = ann.get("segmentation")
                if isinstance(seg, list):
                    polys = [np.asarray(p, dtype=np.float32).reshape(-1, 2) for p in seg
                             if isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0]
                    # a box-only annotation still trains a mask model: its mask is its box
                    segs.append(polys or [np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)])
                elif isinstance(seg, dict):
                    if isinstance(seg.get("counts"), list):  # uncompressed RLE
                        seg = mask_util.frPyObjects(seg, seg["size"][0], seg["size"][1])
                    segs.append(seg)
                else:
                    segs.append([np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)])
            r["boxes"] = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
            r["class"] = np.asarray(classes, dtype=np.int32)
            r["is_crowd"] = np.asarray(crowd, dtype=np.int8)
            r["segmentation"] = segs
            roidbs.append(r)
        orphans = sum(len(v) for k, v in self.coco.imgToAnns.items() if k not in self.coco.imgs)
        if malformed or orphans:
            logger.warning("dataset %s: skipped %d annotations with no valid bbox [x, y, w, h] and %d whose image_id "
                           "is not in images", self.name, malformed, orphans)
        return roidbs

    def eval_inference_results(self, results: list[dict], output: str | None = None) -> dict[str, float]:
        """COCOeval bbox (and segm when results carry masks): the 12 numbers of each."""
        from pycocotools.cocoeval import COCOeval

        results = [dict(r, category_id=self.category_id_to_COCO_id[int(r["category_id"])]) for r in results]
        if output is not None:
            atomic_write_bytes(json.dumps(results).encode(), output)
        has_mask = any("segmentation" in r for r in results)
        ret: dict[str, float] = {}
        for iou_type in ["bbox"] + (["segm"] if has_mask else []):
            if not results:
                stats = [0.0] * 12
            else:
                with contextlib.redirect_stdout(io.StringIO()):
                    dt = self.coco.loadRes(results)
                    ev = COCOeval(self.coco, dt, iou_type)
                    ev.evaluate()
                    ev.accumulate()
                    ev.summarize()
                # COCOeval writes -1 where a category of objects is absent (e.g. no large boxes)
                stats = [float(s) for s in ev.stats]
            for name, s in zip(COCO_METRIC_NAMES, stats):
                ret[name.format(iou_type)] = s
        return ret


def register_coco_json(
    name: str, *, json_file: str | os.PathLike, image_root: str | os.PathLike, extra: dict[str, Any] | None = None
) -> None:
    """Register a user's COCO-json split under ``name`` with its class names (categories sorted by id).

    The annotations are parsed when the split is first used; ``extra`` is saved in checkpoints.
    """
    DatasetRegistry.register(name, lambda: COCODetection(json_file=json_file, image_root=image_root, name=name))
    DatasetRegistry.register_metadata(name, "class_names", coco_class_names(json_file))
    if extra:
        DatasetRegistry.register_metadata(name, "checkpoint_extra", extra)


def coco_class_names(json_file: str | os.PathLike) -> list[str]:
    """Category names sorted by id (the contiguous order training uses), read without pycocotools."""
    try:
        with open(json_file) as f:
            cats = json.load(f)["categories"]
        return [c["name"] for c in sorted(cats, key=lambda c: c["id"])]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DatasetError(f"{json_file}: cannot read COCO categories ({type(e).__name__})") from None


# tensorpack's ``register_coco`` names: coco_<split> for each of these (all registered, as tensorpack does)
_COCO_SPLITS = ["train2017", "val2017", "train2014", "val2014", "minival2014", "valminusminival2014", "val2017_100"]
_IMAGE_DIRS = {"minival2014": "val2014", "valminusminival2014": "val2014", "val2017_100": "val2017"}


def setup_coco(cfg: Config, data_dir: str | None) -> None:
    """The ``coco`` family: register tensorpack's split names under ``data_dir`` (its layout) and pick
    DATA.TRAIN / DATA.VAL among the splits present. A registered split whose json is absent fails when used."""
    basedir = Path(data_dir or cfg.DATA.BASEDIR)
    ann = basedir / "annotations"
    if not ann.is_dir():
        raise DatasetError(f"{basedir}: no annotations/ folder; --data (or DATA.BASEDIR) must be a COCO root holding "
                           "annotations/instances_<split>.json and <split>/ image folders")
    present = [s for s in _COCO_SPLITS if (ann / f"instances_{s}.json").is_file()]
    if not present:
        raise DatasetError(f"{ann}: no instances_{{train,val}}201?.json files found")
    for s in _COCO_SPLITS:
        DatasetRegistry.register(f"coco_{s}", lambda s=s: COCODetection.from_basedir(basedir, s))
    # the smallest annotation file gives the class names quickly
    smallest = min(present, key=lambda s: (ann / f"instances_{s}.json").stat().st_size)
    names = coco_class_names(ann / f"instances_{smallest}.json")
    for s in _COCO_SPLITS:
        DatasetRegistry.register_metadata(f"coco_{s}", "class_names", names)
    cfg.DATA.BASEDIR = str(basedir)
    if "train2017" in present:
        train = ["coco_train2017"]
    else:
        train = [f"coco_{s}" for s in ("train2014", "valminusminival2014") if s in present]
    val = next(([f"coco_{s}"] for s in ("val2017", "minival2014", "val2014") if s in present), [])
    cfg.DATA.TRAIN = tuple(train or val)
    cfg.DATA.VAL = tuple(val or train)
    cfg.DATA.CLASS_NAMES = names


register_dataset_family("coco", setup_coco)
