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

from . import presets as _presets  # noqa: F401  registers the rgz presets
from .config import RGZ_DEFAULTS, after_overrides, apply_rgz_config, extend_config, rgz_checkpoint_extra
from .evaluation import coco_bbox_metrics, evaluate_ap50, voc_ap
from .family import setup_rgz  # registers the rgz family
from .split import RGZDetection, frame_image

__all__ = ["RGZ_DEFAULTS", "RGZDetection", "setup_rgz", "extend_config", "apply_rgz_config", "voc_ap",
           "evaluate_ap50", "coco_bbox_metrics", "rgz_checkpoint_extra", "frame_image", "after_overrides"]
