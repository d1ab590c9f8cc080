"""The ``rgz`` dataset family's setup (``claran train --dataset rgz --data DIR``): reads the folder's layout
(see rgz.dataset), registers its splits and sets the RGZ classes, channels and sizes in the config."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zlib
from dataclasses import replace
from pathlib import Path

from claran.config import Config
from claran.data import COCODetection, DatasetRegistry, register_dataset_family
from claran.errors import DatasetError

from . import RGZ_CLASSES
from .config import _PIXEL_STATS, after_overrides, apply_rgz_config
from .frame import FrameSpec
from .model_spec import RGZModelSpec
from .render import REPRESENTATIONS
from .split import RGZDetection

__all__ = ["setup_rgz"]

logger = logging.getLogger("claran")


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
    with_ir = any(img.get("ir_file") for img in parts["train"] or parts["val"])

    def extra() -> dict:  # the trainer calls it when it starts: after the preset and --config overrides
        # a model uses the infrared image when its rendering draws on it (D3/D4 always; phys when the training
        # images have one, otherwise its second channel was the constant it must keep seeing)
        rep = str(cfg.RGZ.REPRESENTATION)
        uses_ir = rep in ("D3", "D4") or (rep == "phys" and with_ir)
        return replace(RGZModelSpec.from_config(cfg), uses_ir=uses_ir).to_extra()

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
    def extra() -> dict:  # pre-rendered by ClaRAN: D1/D3/D4 per the folder
        return RGZModelSpec.from_config(cfg, representation="png").to_extra()

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


register_dataset_family("rgz", setup_rgz, after_overrides=after_overrides)
