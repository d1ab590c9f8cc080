"""The ``rgz`` dataset family: ``claran train --dataset rgz --data DIR``.

Two layouts are understood:

- claran's FITS layout (written by ``claran simulate`` and ``claran data rgz``): ``DIR/annotations.json``
  (COCO json, boxes in each radio file's own pixels), ``DIR/radio/*.fits``, optional ``DIR/ir/*.fits``.
  Each image is resampled onto the RGZ frame centred on the radio image's centre (``RGZ.FRAME_SIZE`` px at
  ``RGZ.PIXEL_SCALE``"/px), rendered as ``RGZ.REPRESENTATION`` and upsampled by the loader to
  ``RGZ.INPUT_SIZE``; boxes are mapped from the radio file's pixels into the frame through the WCS.
  Splits: an image's ``split`` field (``train``; anything else such as ``val`` or ``test`` is validation);
  images without one go to validation when ``crc32(file_name) % 1000 < 1000 * RGZ.VAL_FRACTION``
  (deterministic, independent of file order). Registered as ``rgz_train`` and ``rgz_val``.
- ClaRAN v0.2's PNG layout: ``DIR/annotations/instances_<split>.json`` with PNGs in ``DIR/<split>/``
  (e.g. ``trainD1new``/``testD1new``): pre-rendered images used as they are (COCO family reader);
  splits whose name contains ``train`` train, the others validate. Registered as ``rgz_<split>``.

Rendered frames are cached as ``.npy`` (float16) under ``RGZ.CACHE_DIR`` (default ``DIR/.cache``, or the
user cache folder when DIR is read-only), keyed by the source files' size and mtime and the rendering
settings, so training renders each image once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from claran.config import Config, register_preset
from claran.data import COCODetection, DatasetRegistry, DatasetSplit, register_dataset_family
from claran.errors import DatasetError

from . import FRAME_PIXEL_SCALE, FRAME_SIZE, RGZ_CLASSES
from .fits_io import FitsInputError, read_infrared, read_radio
from .frame import Framed, FrameSpec, frame_wcs, to_frame, transform_boxes
from .render import REPRESENTATIONS, render

__all__ = ["RGZ_DEFAULTS", "RGZDetection", "setup_rgz", "extend_config", "apply_rgz_config", "voc_ap",
           "evaluate_ap50", "coco_bbox_metrics", "rgz_checkpoint_extra", "frame_image", "after_overrides"]

logger = logging.getLogger("claran")

RGZ_DEFAULTS: dict[str, Any] = {
    "RGZ.REPRESENTATION": "D1",
    "RGZ.FRAME_SIZE": FRAME_SIZE,
    "RGZ.PIXEL_SCALE": FRAME_PIXEL_SCALE,
    "RGZ.INPUT_SIZE": 600,  # ClaRAN upsampled 132 -> 600 px (264 and 132 were also studied)
    "RGZ.VAL_FRACTION": 0.1,
    "RGZ.CACHE_DIR": "",
}

# Per-representation normalisation (0..255 scale). The 3-channel renderings keep ImageNet's statistics
# (ClaRAN fine-tuned ImageNet backbones); phys: measured on the 18 rgz-real-dev + 40 MiraBest frames.
_PIXEL_STATS = {
    "D1": ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375]),
    "D3": ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375]),
    "D4": ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375]),
    "phys": ([38.0, 37.0], [15.0, 15.0]),
}


def extend_config(cfg: Config) -> Config:
    """Add the ``RGZ.*`` namespace (existing values are kept)."""
    return cfg.extend(RGZ_DEFAULTS)


def apply_rgz_config(cfg: Config) -> None:
    """Derive the core keys that follow from ``RGZ.*``: input channels and normalisation from the
    representation, PREPROC sizes from the input size, the six RGZ classes."""
    extend_config(cfg)
    rep = cfg.RGZ.REPRESENTATION
    if rep not in REPRESENTATIONS:
        raise DatasetError(f"config RGZ.REPRESENTATION={rep!r}: choose one of {', '.join(REPRESENTATIONS)}")
    cfg.BACKBONE.IN_CHANNELS = REPRESENTATIONS[rep]
    mean, std = _PIXEL_STATS[rep]
    cfg.PREPROC.PIXEL_MEAN, cfg.PREPROC.PIXEL_STD = list(mean), list(std)
    s = int(cfg.RGZ.INPUT_SIZE)
    cfg.PREPROC.TRAIN_SHORT_EDGE_SIZE = [s, s]
    cfg.PREPROC.TEST_SHORT_EDGE_SIZE = s
    cfg.PREPROC.MAX_SIZE = s
    cfg.DATA.CLASS_NAMES = list(RGZ_CLASSES)


def rgz_checkpoint_extra(cfg: Config) -> dict[str, Any]:
    """What a checkpoint needs to frame and render new images the way it was trained."""
    return {"rgz": {"representation": cfg.RGZ.REPRESENTATION, "frame_size": int(cfg.RGZ.FRAME_SIZE),
                    "pixel_scale_arcsec": float(cfg.RGZ.PIXEL_SCALE),
                    "input_size": int(cfg.PREPROC.TEST_SHORT_EDGE_SIZE),  # what the network saw (a preset may change it)
                    "classes": list(RGZ_CLASSES)}}


class _LazyExtra(Mapping):
    """checkpoint_extra computed when the trainer reads it, i.e. after the preset and --config overrides."""

    def __init__(self, cfg: Config, representation: str | None = None) -> None:
        self.cfg, self.representation = cfg, representation

    def _value(self) -> dict[str, Any]:
        d = rgz_checkpoint_extra(self.cfg)
        if self.representation:
            d["rgz"]["representation"] = self.representation
        return d

    def __getitem__(self, key: str) -> Any:
        return self._value()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._value())

    def __len__(self) -> int:
        return 1


def after_overrides(cfg: Config, overrides: tuple[str, ...] | list[str] = ()) -> None:
    """Re-derive what follows from ``RGZ.*`` keys given as ``--config`` overrides (call after them).

    Keys the user set explicitly win: ``RGZ.REPRESENTATION=phys`` updates BACKBONE.IN_CHANNELS and
    PREPROC.PIXEL_MEAN/STD unless those were overridden too; ``RGZ.INPUT_SIZE`` updates the PREPROC sizes.
    """
    keys = {o.split("=", 1)[0].strip() for o in overrides}
    if "RGZ.REPRESENTATION" in keys:
        rep = cfg.RGZ.REPRESENTATION
        if rep not in REPRESENTATIONS:
            raise DatasetError(f"config RGZ.REPRESENTATION={rep!r}: choose one of {', '.join(REPRESENTATIONS)}")
        if "BACKBONE.IN_CHANNELS" not in keys:
            cfg.BACKBONE.IN_CHANNELS = REPRESENTATIONS[rep]
        mean, std = _PIXEL_STATS[rep]
        if "PREPROC.PIXEL_MEAN" not in keys:
            cfg.PREPROC.PIXEL_MEAN = list(mean)
        if "PREPROC.PIXEL_STD" not in keys:
            cfg.PREPROC.PIXEL_STD = list(std)
    if "RGZ.INPUT_SIZE" in keys:
        s = int(cfg.RGZ.INPUT_SIZE)
        if "PREPROC.TRAIN_SHORT_EDGE_SIZE" not in keys:
            cfg.PREPROC.TRAIN_SHORT_EDGE_SIZE = [s, s]
        if "PREPROC.TEST_SHORT_EDGE_SIZE" not in keys:
            cfg.PREPROC.TEST_SHORT_EDGE_SIZE = s
        if "PREPROC.MAX_SIZE" not in keys:
            cfg.PREPROC.MAX_SIZE = s


# ------------------------------------------------------------------ one image
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
                cache.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=".", suffix=".npy", dir=cache.parent)
                with os.fdopen(fd, "wb") as f:
                    np.save(f, img.astype(np.float16))
                os.replace(tmp, cache)
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
            from claran.engine.checkpoint import atomic_write_bytes

            atomic_write_bytes(json.dumps(results).encode(), output)
        metrics = evaluate_ap50(self._ground_truth(), results, RGZ_CLASSES)
        metrics.update(coco_bbox_metrics(self._ground_truth(), results, self.spec.size))
        return metrics


def coco_bbox_metrics(gt: dict[Any, tuple[np.ndarray, np.ndarray]], results: list[dict], size: int) -> dict[str, float]:
    """COCOeval's 12 bbox numbers under claran's usual names (``mAP(bbox)/IoU=0.5:0.95``, ...)."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from claran.data.coco import COCO_METRIC_NAMES

    images, anns = [], []
    for img_id, (boxes, classes) in gt.items():
        images.append({"id": img_id, "width": size, "height": size})
        for b, c in zip(np.asarray(boxes, float).tolist(), np.asarray(classes).tolist()):
            anns.append({"id": len(anns) + 1, "image_id": img_id, "category_id": int(c), "iscrowd": 0,
                         "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]], "area": (b[2] - b[0]) * (b[3] - b[1])})
    stats = [0.0] * 12
    if results and anns:
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO()
            coco.dataset = {"images": images, "annotations": anns,
                            "categories": [{"id": i + 1, "name": n} for i, n in enumerate(RGZ_CLASSES)]}
            coco.createIndex()
            ev = COCOeval(coco, coco.loadRes([dict(r) for r in results if r["image_id"] in gt]), "bbox")  # loadRes edits its input
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        stats = [float(v) for v in ev.stats]
    return {name.format("bbox"): v for name, v in zip(COCO_METRIC_NAMES, stats)}


# ------------------------------------------------------------------ VOC AP50
def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """All-point interpolated average precision (VOC 2010+, as ClaRAN reports)."""
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def _iou(box: np.ndarray, gts: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], gts[:, 2]) - np.maximum(box[0], gts[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], gts[:, 3]) - np.maximum(box[1], gts[:, 1]), 0, None)
    inter = ix * iy
    union = (box[2] - box[0]) * (box[3] - box[1]) + (gts[:, 2] - gts[:, 0]) * (gts[:, 3] - gts[:, 1]) - inter
    return inter / np.maximum(union, 1e-12)


def evaluate_ap50(gt: dict[Any, tuple[np.ndarray, np.ndarray]], results: list[dict],
                  class_names: tuple[str, ...] | list[str], iou_thresh: float = 0.5) -> dict[str, float]:
    """``gt``: image_id -> (boxes N x 4 x1y1x2y2, classes 1..K); ``results``: COCO-style dicts (bbox xywh)."""
    out: dict[str, float] = {}
    aps = []
    for k, cname in enumerate(class_names, start=1):
        gts = {i: b[c == k] for i, (b, c) in gt.items()}
        n_gt = sum(len(v) for v in gts.values())
        dets = sorted((r for r in results if int(r["category_id"]) == k and r["image_id"] in gts),
                      key=lambda r: -float(r["score"]))
        if n_gt == 0:
            continue  # a class absent from this split has no AP (VOC convention)
        used = {i: np.zeros(len(v), bool) for i, v in gts.items()}
        tp = np.zeros(len(dets))
        for j, d in enumerate(dets):
            x, y, w, h = d["bbox"]
            g = gts[d["image_id"]]
            if len(g):
                ious = _iou(np.array([x, y, x + w, y + h]), g)
                m = int(np.argmax(ious))
                if ious[m] >= iou_thresh and not used[d["image_id"]][m]:
                    tp[j], used[d["image_id"]][m] = 1, True
        ctp = np.cumsum(tp)
        rec = ctp / n_gt
        prec = ctp / np.arange(1, len(dets) + 1) if len(dets) else np.zeros(0)
        ap = voc_ap(rec, prec) if len(dets) else 0.0
        out[f"AP50/{cname}"] = ap
        aps.append(ap)
    out["mAP50"] = float(np.mean(aps)) if aps else 0.0
    return out


# ------------------------------------------------------------------ the family
def _read_annotations(path: Path) -> dict:
    try:
        d = json.loads(path.read_text())
        assert isinstance(d.get("images"), list) and isinstance(d.get("annotations", []), list)
        return d
    except (OSError, ValueError, AssertionError, AttributeError) as e:
        raise DatasetError(f"{path}: not a COCO annotation file with 'images' and 'annotations' "
                           f"({type(e).__name__}); see docs/ARCHITECTURE.md 'RGZ dataset folder layout'") from None


def _check_categories(d: dict, path: Path) -> None:
    cats = {c.get("id"): c.get("name") for c in d.get("categories", [])}
    for i, name in enumerate(RGZ_CLASSES, start=1):
        if cats and cats.get(i) not in (None, name):
            raise DatasetError(f"{path}: category {i} is {cats.get(i)!r} but RGZ's id {i} is {name!r}; "
                               "use the ids 1..6 = " + " ".join(RGZ_CLASSES))


def _default_cache(data_dir: Path) -> str:
    cache = data_dir / ".cache"
    try:
        cache.mkdir(exist_ok=True)
        if os.access(cache, os.W_OK):
            return str(cache)
    except OSError:
        pass
    tag = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "claran" / "rgz" / tag)


def _split_of(img: dict, val_fraction: float) -> str:
    s = img.get("split")
    if s is not None:
        return "train" if str(s).lower() == "train" else "val"
    return "val" if zlib.crc32(str(img["file_name"]).encode()) % 1000 < 1000 * val_fraction else "train"


def setup_rgz(cfg: Config, data_dir: str | None) -> None:
    """Register the splits of ``data_dir`` and set the RGZ classes, channels and sizes in ``cfg``."""
    apply_rgz_config(cfg)
    cfg.MODE_MASK = False  # RGZ labels are boxes (MODE_MASK=True would train box-shaped masks)
    if not data_dir:
        raise DatasetError("--data DIR is required for --dataset rgz (a folder with annotations.json and radio/, "
                           "written by `claran data rgz` or `claran simulate`)")
    root = Path(data_dir)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder (--data for --dataset rgz)")
    cfg.DATA.BASEDIR = str(root)
    ann = root / "annotations.json"
    if ann.is_file():
        _setup_fits_layout(cfg, root, ann)
        return
    pngs = sorted((root / "annotations").glob("instances_*.json")) if (root / "annotations").is_dir() else []
    if pngs:
        _setup_png_layout(cfg, root, pngs)
        return
    raise DatasetError(f"{root}: neither annotations.json (claran's FITS layout) nor "
                       "annotations/instances_<split>.json (ClaRAN v0.2's PNG layout) found")


def _setup_fits_layout(cfg: Config, root: Path, ann: Path) -> None:
    d = _read_annotations(ann)
    _check_categories(d, ann)
    for img in d["images"]:
        if "id" not in img or "file_name" not in img:
            raise DatasetError(f"{ann}: every image needs 'id' and 'file_name'")
    frac = float(cfg.RGZ.VAL_FRACTION)
    parts: dict[str, list[dict]] = {"train": [], "val": []}
    for img in d["images"]:
        parts[_split_of(img, frac)].append(img)
    if not parts["train"] and not parts["val"]:
        raise DatasetError(f"{ann}: no images")
    extra = _LazyExtra(cfg)
    cache = cfg.RGZ.CACHE_DIR or _default_cache(root)
    for split, images in parts.items():
        name = f"rgz_{split}"
        ids = {img["id"] for img in images}
        anns = [a for a in d.get("annotations", []) if a.get("image_id") in ids]

        def make(images=images, anns=anns, name=name) -> RGZDetection:
            # reads cfg when first used (after the preset and --config overrides were applied)
            rep = cfg.RGZ.REPRESENTATION
            if rep not in REPRESENTATIONS:
                raise DatasetError(f"config RGZ.REPRESENTATION={rep!r}: choose one of {', '.join(REPRESENTATIONS)}")
            if int(cfg.BACKBONE.IN_CHANNELS) != REPRESENTATIONS[rep]:
                raise DatasetError(f"config RGZ.REPRESENTATION={rep} renders {REPRESENTATIONS[rep]} channels but "
                                   f"BACKBONE.IN_CHANNELS={cfg.BACKBONE.IN_CHANNELS}; set both (and PREPROC.PIXEL_MEAN/STD)")
            spec = FrameSpec(int(cfg.RGZ.FRAME_SIZE), float(cfg.RGZ.PIXEL_SCALE))
            return RGZDetection(data_dir=root, images=images, annotations=anns, representation=rep, spec=spec,
                                name=name, cache_dir=cache)

        DatasetRegistry.register(name, make)
        DatasetRegistry.register_metadata(name, "class_names", list(RGZ_CLASSES))
        DatasetRegistry.register_metadata(name, "checkpoint_extra", extra)
    train, val = ["rgz_train"] if parts["train"] else [], ["rgz_val"] if parts["val"] else []
    cfg.DATA.TRAIN = tuple(train or val)
    cfg.DATA.VAL = tuple(val or train)
    logger.info("rgz: %d training and %d validation images in %s", len(parts["train"]), len(parts["val"]), root)


def _setup_png_layout(cfg: Config, root: Path, jsons: list[Path]) -> None:
    train, val = [], []
    extra = _LazyExtra(cfg, representation="png")  # pre-rendered by ClaRAN: D1/D3/D4 per the folder
    cfg.BACKBONE.IN_CHANNELS = 3
    cfg.PREPROC.PIXEL_MEAN, cfg.PREPROC.PIXEL_STD = [list(v) for v in _PIXEL_STATS["D1"]]
    for j in jsons:
        split = j.stem[len("instances_"):]
        d = _read_annotations(j)
        _check_categories(d, j)
        name = f"rgz_{split}"
        DatasetRegistry.register(name, lambda j=j, split=split, name=name: COCODetection(
            json_file=j, image_root=root / split, name=name))
        DatasetRegistry.register_metadata(name, "class_names", list(RGZ_CLASSES))
        DatasetRegistry.register_metadata(name, "checkpoint_extra", extra)
        (train if "train" in split.lower() else val).append(name)
    cfg.DATA.TRAIN = tuple(train or val)
    cfg.DATA.VAL = tuple(val or train)


setup_rgz.after_overrides = after_overrides  # type: ignore[attr-defined]  # for CLIs: see after_overrides
register_dataset_family("rgz", setup_rgz)


def _rgz_preset(cfg: Config) -> None:
    """A sensible RGZ model: R50-FPN Faster R-CNN at 600 px, anchors for 10-130 px sources (x4.5 upsampled),
    flips and 90-degree rotations (the sky has no preferred orientation)."""
    extend_config(cfg)
    cfg.MODE_MASK = False
    cfg.MODE_FPN = True
    cfg.RPN.ANCHOR_SIZES = (32, 64, 128, 256, 512)
    cfg.RPN.ANCHOR_RATIOS = (0.5, 1.0, 2.0)
    cfg.PREPROC.FLIP = True
    cfg.PREPROC.ROTATE90 = True
    cfg.TEST.RESULTS_PER_IM = 20  # a 3' frame holds a few sources
    cfg.TRAIN.LR_SCHEDULE = [20000, 30000, 40000]  # ClaRAN v0.2's schedule
    apply_rgz_config(cfg)


register_preset("rgz", _rgz_preset)


def _rgz_small_preset(cfg: Config) -> None:
    """The bundled default model: a narrow ResNet-18-style FPN with GroupNorm, trained from scratch on the
    RGZ frame at its own resolution (no upsampling), so a cutout costs milliseconds on a CPU.

    Sizes follow the RGZ labels: boxes of 8-130 frame pixels, near-square; a 3' frame holds a few sources.
    """
    _rgz_preset(cfg)
    cfg.RGZ.REPRESENTATION = "phys"  # chosen by measurement (docs/NOTES.md): radio S/N, asinh-stretched
    cfg.RGZ.INPUT_SIZE = 128  # the 132-px frame, resized to a multiple of the FPN stride (no padding)
    cfg.BACKBONE.RESNET_NUM_BLOCKS = [2, 2, 2, 2]
    cfg.BACKBONE.BLOCK = "basic"
    cfg.BACKBONE.WIDTH_MULTIPLIER = 0.5
    cfg.BACKBONE.NORM = "GN"
    cfg.BACKBONE.FREEZE_AT = 0
    cfg.BACKBONE.WEIGHTS = ""
    cfg.FPN.NORM = "GN"
    cfg.FPN.NUM_CHANNEL = 64
    cfg.FPN.FRCNN_FC_HEAD_DIM = 256
    cfg.RPN.ANCHOR_SIZES = (8, 16, 32, 64, 128)
    cfg.RPN.BATCH_PER_IM = 128
    cfg.FRCNN.BATCH_PER_IM = 64
    cfg.RPN.TRAIN_PER_LEVEL_NMS_TOPK = 500
    cfg.RPN.TEST_PER_LEVEL_NMS_TOPK = 200
    cfg.RPN.TEST_POST_NMS_TOPK = 200  # a 3' frame holds a few sources: 200 proposals are plenty
    cfg.TEST.RESULTS_PER_IM = 20
    cfg.TRAIN.BATCH_PER_DEVICE = 8
    cfg.TRAIN.BASE_LR = 0.02
    cfg.TRAIN.WARMUP = 200
    cfg.TRAIN.LR_SCHEDULE = [2400, 3200, 3600]  # for a total batch of 8
    cfg.TRAIN.STEPS_PER_EPOCH = 200
    cfg.TRAIN.CHECKPOINT_PERIOD = 1
    cfg.TRAIN.EVAL_PERIOD = 5
    cfg.DATA.NUM_WORKERS = 1
    apply_rgz_config(cfg)


register_preset("rgz-small", _rgz_small_preset)
