"""The ``rgz`` and ``rgz-small`` config presets (``claran train --preset``)."""

from __future__ import annotations

from claran.config import Config, register_preset

from .config import apply_rgz_config, extend_config

__all__: list[str] = []


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
