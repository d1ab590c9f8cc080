"""Detector modeling: ``build_model(cfg)`` is the only place that reads the config."""

from __future__ import annotations

from torch import nn

from ..config import Config, ConfigError
from .anchors import AnchorGenerator
from .backbones import build_backbone
from .box_coder import BoxCoder
from .cascade import CascadeROIHeads
from .fpn import FPN
from .mask_head import MaskHead, paste_masks
from .meta_arch import GeneralizedRCNN, fuse_frozen_bn
from .poolers import ROIPooler
from .roi_heads import ConvFCHead, FastRCNNPredictor, Res5Head, ROIHeads, TwoFCHead
from .rpn import RPN, RPNHead

__all__ = ["build_model", "GeneralizedRCNN", "paste_masks", "fuse_frozen_bn"]

_BOX_HEADS = ("fastrcnn_2fc_head", "fastrcnn_4conv1fc_head", "fastrcnn_4conv1fc_gn_head")
_MASK_HEADS = ("maskrcnn_up4conv_head", "maskrcnn_up4conv_gn_head")


def _box_head(cfg: Config, in_channels: int, resolution: int):
    name = cfg.FPN.FRCNN_HEAD_FUNC
    if name == "fastrcnn_2fc_head":
        return TwoFCHead(in_channels=in_channels, resolution=resolution, fc_dim=cfg.FPN.FRCNN_FC_HEAD_DIM)
    if name in _BOX_HEADS:
        return ConvFCHead(in_channels=in_channels, resolution=resolution, conv_dim=cfg.FPN.FRCNN_CONV_HEAD_DIM,
                          fc_dim=cfg.FPN.FRCNN_FC_HEAD_DIM, norm="GN" if name.endswith("_gn_head") else "None")
    raise ConfigError(f"config FPN.FRCNN_HEAD_FUNC={name!r}: choose one of {', '.join(_BOX_HEADS)}")


def build_model(cfg: Config, *, load_backbone: bool = True) -> GeneralizedRCNN:
    """Build the detector a finalized config describes; keeps ``model.cfg``.

    The backbone comes from the registry (``BACKBONE.NAME``, claran.modeling.backbones); the rest from the C4
    or the FPN builder (tensorpack's ``ResNetC4Model`` / ``ResNetFPNModel``), which read only its output
    shapes. ``load_backbone`` loads ``BACKBONE.WEIGHTS``; pass False when a full state_dict will be loaded
    anyway (checkpoints, resuming), so that "imagenet" does not fetch weights it would overwrite.
    """
    if not isinstance(cfg, Config):
        raise TypeError("build_model needs a claran.Config")
    if not cfg.frozen:
        raise ConfigError("build_model needs a finalized config: call cfg.finalize() first")
    body = build_backbone(cfg, load_weights=load_backbone)
    model = (_fpn_model if cfg.MODE_FPN else _c4_model)(cfg, body)
    model.cfg = cfg
    return model


def _rpn_common(C: Config) -> dict:
    return dict(
        nms_thresh=C.RPN.PROPOSAL_NMS_THRESH, min_size=C.RPN.MIN_SIZE, score=C.COMPAT.RPN_SCORE,
        pos_thresh=C.RPN.POSITIVE_ANCHOR_THRESH, neg_thresh=C.RPN.NEGATIVE_ANCHOR_THRESH,
        batch_per_im=C.RPN.BATCH_PER_IM, fg_ratio=C.RPN.FG_RATIO, crowd_thresh=C.RPN.CROWD_OVERLAP_THRESH,
        box_coder=BoxCoder(),
    )


def _heads_common(C: Config) -> dict:
    return dict(
        batch_per_im=C.FRCNN.BATCH_PER_IM, fg_ratio=C.FRCNN.FG_RATIO, fg_thresh=C.FRCNN.FG_THRESH,
        score_thresh=C.TEST.RESULT_SCORE_THRESH, nms_thresh=C.TEST.FRCNN_NMS_THRESH,
        results_per_im=C.TEST.RESULTS_PER_IM, min_size=C.COMPAT.RESULT_MIN_SIZE,
    )


def _fpn_model(C: Config, body: nn.Module) -> GeneralizedRCNN:
    """FPN over res2..res5, RPN on P2..P6, RoIAlign on P2..P5, Fast R-CNN (or Cascade) and mask heads."""
    num_classes = C.DATA.NUM_CLASS
    aligned = bool(C.COMPAT.ROIALIGN_ALIGNED)
    level_style = C.COMPAT.LEVEL_MAPPER
    rpn_common, heads_common = _rpn_common(C), _heads_common(C)
    shapes = body.output_shape()
    ch = C.FPN.NUM_CHANNEL
    backbone = FPN(body=body, in_channels=[s.channels for s in shapes.values()], out_channels=ch, norm=C.FPN.NORM)
    strides = [int(s) for s in C.FPN.ANCHOR_STRIDES]
    if strides[:4] != [s.stride for s in shapes.values()]:
        raise ConfigError(f"config FPN.ANCHOR_STRIDES={strides}: the backbone's strides are "
                          f"{[s.stride for s in shapes.values()]} (then P6)")
    anchors = AnchorGenerator(sizes=[(s,) for s in C.RPN.ANCHOR_SIZES], ratios=tuple(C.RPN.ANCHOR_RATIOS),
                              strides=strides, style=C.COMPAT.ANCHOR_STYLE)
    joint = C.FPN.PROPOSAL_MODE == "Joint"
    if joint:
        pre = (C.RPN.TRAIN_PRE_NMS_TOPK, C.RPN.TEST_PRE_NMS_TOPK)
    else:
        pre = (C.RPN.TRAIN_PER_LEVEL_NMS_TOPK, C.RPN.TEST_PER_LEVEL_NMS_TOPK)
    rpn = RPN(head=RPNHead(in_channels=ch, head_dim=ch, num_anchors=anchors.num_anchors), anchor_generator=anchors,
              pre_nms_topk=pre, post_nms_topk=(C.RPN.TRAIN_POST_NMS_TOPK, C.RPN.TEST_POST_NMS_TOPK),
              per_level=not joint, **rpn_common)
    scales = [1.0 / s for s in strides[:4]]
    box_pooler = ROIPooler(output_size=7, scales=scales, aligned=aligned, level_style=level_style)
    mask_pooler = mask_head = None
    if C.MODE_MASK:
        name = C.FPN.MRCNN_HEAD_FUNC
        if name not in _MASK_HEADS:
            raise ConfigError(f"config FPN.MRCNN_HEAD_FUNC={name!r}: choose one of {', '.join(_MASK_HEADS)}")
        mask_pooler = ROIPooler(output_size=14, scales=scales, aligned=aligned, level_style=level_style)
        mask_head = MaskHead(in_channels=ch, conv_dim=C.MRCNN.HEAD_DIM, num_convs=4,
                             num_category=C.DATA.NUM_CATEGORY, norm="GN" if name.endswith("_gn_head") else "None")
    if C.FPN.CASCADE:
        n = len(C.CASCADE.IOUS)
        roi_heads = CascadeROIHeads(
            box_heads=[_box_head(C, ch, 7) for _ in range(n)],
            box_predictors=[FastRCNNPredictor(in_dim=C.FPN.FRCNN_FC_HEAD_DIM, num_classes=num_classes,
                                              class_agnostic=True) for _ in range(n)],
            box_coders=[BoxCoder(w) for w in C.CASCADE.BBOX_REG_WEIGHTS], ious=C.CASCADE.IOUS,
            box_pooler=box_pooler, mask_pooler=mask_pooler, mask_head=mask_head, **heads_common)
    else:
        roi_heads = ROIHeads(
            box_pooler=box_pooler, box_head=_box_head(C, ch, 7),
            box_predictor=FastRCNNPredictor(in_dim=C.FPN.FRCNN_FC_HEAD_DIM, num_classes=num_classes),
            box_coder=BoxCoder(C.FRCNN.BBOX_REG_WEIGHTS), mask_pooler=mask_pooler, mask_head=mask_head,
            **heads_common)
    return GeneralizedRCNN(backbone=backbone, rpn=rpn, roi_heads=roi_heads, pixel_mean=C.PREPROC.PIXEL_MEAN,
                           pixel_std=C.PREPROC.PIXEL_STD, size_divisibility=C.FPN.RESOLUTION_REQUIREMENT,
                           normalize=C.COMPAT.NORMALIZE)


def _c4_model(C: Config, body: nn.Module) -> GeneralizedRCNN:
    """C4: res2-4 is the backbone, res5 becomes the box head (tensorpack's ResNetC4Model)."""
    stride = int(C.RPN.ANCHOR_STRIDE)
    shapes = body.output_shape()
    if shapes["res4"].stride != stride:
        raise ConfigError(f"config RPN.ANCHOR_STRIDE={stride}: the backbone's res4 has stride {shapes['res4'].stride}")
    res5 = body.pop_res5()
    c4 = shapes["res4"].channels
    anchors = AnchorGenerator(sizes=[tuple(C.RPN.ANCHOR_SIZES)], ratios=tuple(C.RPN.ANCHOR_RATIOS), strides=[stride],
                              style=C.COMPAT.ANCHOR_STYLE)
    rpn = RPN(head=RPNHead(in_channels=c4, head_dim=C.RPN.HEAD_DIM, num_anchors=anchors.num_anchors),
              anchor_generator=anchors, pre_nms_topk=(C.RPN.TRAIN_PRE_NMS_TOPK, C.RPN.TEST_PRE_NMS_TOPK),
              post_nms_topk=(C.RPN.TRAIN_POST_NMS_TOPK, C.RPN.TEST_POST_NMS_TOPK), per_level=False,
              **_rpn_common(C))
    pooler = ROIPooler(output_size=14, scales=[1.0 / stride], aligned=bool(C.COMPAT.ROIALIGN_ALIGNED))
    c5 = shapes["res5"].channels
    mask_head = None
    if C.MODE_MASK:
        mask_head = MaskHead(in_channels=c5, conv_dim=C.MRCNN.HEAD_DIM, num_convs=0,
                             num_category=C.DATA.NUM_CATEGORY)
    roi_heads = ROIHeads(
        box_pooler=pooler, box_head=Res5Head(res5=res5, out_channels=c5),
        box_predictor=FastRCNNPredictor(in_dim=c5, num_classes=C.DATA.NUM_CLASS),
        box_coder=BoxCoder(C.FRCNN.BBOX_REG_WEIGHTS), mask_pooler=pooler if mask_head is not None else None,
        mask_head=mask_head, **_heads_common(C))
    return GeneralizedRCNN(backbone=body, rpn=rpn, roi_heads=roi_heads, pixel_mean=C.PREPROC.PIXEL_MEAN,
                           pixel_std=C.PREPROC.PIXEL_STD, size_divisibility=0, fpn=False,
                           normalize=C.COMPAT.NORMALIZE)
