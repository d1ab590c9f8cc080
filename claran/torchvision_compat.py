"""``from_torchvision``: a claran model that reproduces torchvision's Faster/Mask R-CNN R50-FPN (v1)."""

from __future__ import annotations

import math
import re

import torch
from torch import nn

from .config import Config
from .errors import UserError

__all__ = ["from_torchvision"]

_SUPPORTED = "fasterrcnn_resnet50_fpn and maskrcnn_resnet50_fpn (v1, any ResNet depth)"


def _unsupported(why: str) -> UserError:
    return UserError(f"from_torchvision supports {_SUPPORTED}; this model {why}")


def _config(tv: nn.Module, *, mask: bool) -> Config:
    from torchvision.models.detection.backbone_utils import BackboneWithFPN
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.resnet import BasicBlock, Bottleneck
    from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

    bb = tv.backbone
    if not isinstance(bb, BackboneWithFPN) or not isinstance(bb.fpn.extra_blocks, LastLevelMaxPool):
        raise _unsupported("has no ResNet + FPN (LastLevelMaxPool) backbone")
    body = bb.body
    if any(not hasattr(body, f"layer{i}") for i in range(1, 5)):
        raise _unsupported("has no layer1..layer4 ResNet body")
    first = body.layer1[0]
    block = "bottleneck" if isinstance(first, Bottleneck) else "basic" if isinstance(first, BasicBlock) else None
    if block is None:
        raise _unsupported(f"uses {type(first).__name__} ResNet blocks")
    rh = tv.roi_heads
    if not isinstance(rh.box_head, TwoMLPHead) or not isinstance(rh.box_predictor, FastRCNNPredictor):
        raise _unsupported(f"has a {type(rh.box_head).__name__} box head (v2 models are not supported)")
    if getattr(rh, "keypoint_head", None) is not None:
        raise _unsupported("is a keypoint model")
    if len(tv.rpn.head.conv) != 1 or any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in tv.rpn.head.modules()):
        raise _unsupported("has a multi-conv or normalised RPN head (v2)")
    if mask and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in rh.mask_head.modules()):
        raise _unsupported("has a normalised mask head (v2)")
    ag = tv.rpn.anchor_generator
    if any(len(s) != 1 for s in ag.sizes) or any(tuple(r) != tuple(ag.aspect_ratios[0]) for r in ag.aspect_ratios):
        raise _unsupported("uses several anchor sizes per level or per-level ratios")
    pool = rh.box_roi_pool
    if pool.sampling_ratio != 2 or list(pool.featmap_names) != ["0", "1", "2", "3"]:
        raise _unsupported("pools RoIs with other settings than MultiScaleRoIAlign(['0'..'3'], 7, 2)")
    for coder, w in ((tv.rpn.box_coder, (1.0, 1.0, 1.0, 1.0)), (rh.box_coder, None)):
        if abs(coder.bbox_xform_clip - math.log(1000.0 / 16)) > 1e-9 or (w and tuple(coder.weights) != w):
            raise _unsupported("uses a non-default box coder")
    if tv.rpn.score_thresh > 0:
        raise _unsupported(f"filters proposals at score {tv.rpn.score_thresh}")
    tr = tv.transform
    if getattr(tr, "fixed_size", None) or tr.size_divisible != 32:
        raise _unsupported("resizes to a fixed size or pads to other than 32")

    num_classes = rh.box_predictor.cls_score.out_features
    cfg = Config()
    sizes = [int(s[0]) for s in ag.sizes]
    cfg.update({
        "MODE_MASK": mask, "MODE_FPN": True,
        "BACKBONE.WEIGHTS": "", "BACKBONE.BLOCK": block,
        "BACKBONE.RESNET_NUM_BLOCKS": [len(getattr(body, f"layer{i}")) for i in range(1, 5)],
        "BACKBONE.NORM": "FreezeBN", "BACKBONE.IN_CHANNELS": body.conv1.in_channels,
        "BACKBONE.FREEZE_AT": _freeze_at(body),
        "PREPROC.PIXEL_MEAN": [float(m) * 255 for m in tr.image_mean],
        "PREPROC.PIXEL_STD": [float(s) * 255 for s in tr.image_std],
        "PREPROC.TEST_SHORT_EDGE_SIZE": int(tr.min_size[-1]), "PREPROC.MAX_SIZE": int(tr.max_size),
        "PREPROC.TRAIN_SHORT_EDGE_SIZE": [int(min(tr.min_size)), int(max(tr.min_size))],
        "RPN.ANCHOR_SIZES": tuple(sizes), "RPN.ANCHOR_RATIOS": tuple(float(r) for r in ag.aspect_ratios[0]),
        "FPN.ANCHOR_STRIDES": tuple(4 * 2**i for i in range(len(sizes))),
        "RPN.PROPOSAL_NMS_THRESH": float(tv.rpn.nms_thresh), "RPN.MIN_SIZE": float(tv.rpn.min_size),
        "RPN.TRAIN_PER_LEVEL_NMS_TOPK": int(tv.rpn._pre_nms_top_n["training"]),
        "RPN.TEST_PER_LEVEL_NMS_TOPK": int(tv.rpn._pre_nms_top_n["testing"]),
        "RPN.TRAIN_POST_NMS_TOPK": int(tv.rpn._post_nms_top_n["training"]),
        "RPN.TEST_POST_NMS_TOPK": int(tv.rpn._post_nms_top_n["testing"]),
        "RPN.POSITIVE_ANCHOR_THRESH": float(tv.rpn.proposal_matcher.high_threshold),
        "RPN.NEGATIVE_ANCHOR_THRESH": float(tv.rpn.proposal_matcher.low_threshold),
        "RPN.BATCH_PER_IM": int(tv.rpn.fg_bg_sampler.batch_size_per_image),
        "RPN.FG_RATIO": float(tv.rpn.fg_bg_sampler.positive_fraction),
        "FPN.PROPOSAL_MODE": "Level", "FPN.NUM_CHANNEL": int(bb.out_channels), "FPN.NORM": "None",
        "FPN.FRCNN_HEAD_FUNC": "fastrcnn_2fc_head", "FPN.FRCNN_FC_HEAD_DIM": int(rh.box_head.fc6.out_features),
        "FRCNN.BBOX_REG_WEIGHTS": [float(w) for w in rh.box_coder.weights],
        "FRCNN.FG_THRESH": float(rh.proposal_matcher.high_threshold),
        "FRCNN.BATCH_PER_IM": int(rh.fg_bg_sampler.batch_size_per_image),
        "FRCNN.FG_RATIO": float(rh.fg_bg_sampler.positive_fraction),
        "TEST.FRCNN_NMS_THRESH": float(rh.nms_thresh), "TEST.RESULT_SCORE_THRESH": float(rh.score_thresh),
        "TEST.RESULTS_PER_IM": int(rh.detections_per_img),
        "COMPAT.ANCHOR_STYLE": "torchvision", "COMPAT.ROIALIGN_ALIGNED": False, "COMPAT.RESIZE": "torch",
        "COMPAT.MASK_PASTE": "torchvision", "COMPAT.RPN_SCORE": "sigmoid", "COMPAT.RESULT_MIN_SIZE": 1e-2,
        "COMPAT.LEVEL_MAPPER": "torchvision", "COMPAT.NORMALIZE": "torchvision",
    })
    if mask:
        cfg.set_key("MRCNN.HEAD_DIM", int(rh.mask_predictor.conv5_mask.out_channels))
    cfg.DATA.CLASS_NAMES = _class_names(num_classes)
    return cfg.finalize(is_training=False)


def _freeze_at(body: nn.Module) -> int:
    """torchvision's trainable_layers as tensorpack's FREEZE_AT (frozen stem + res2.. stages)."""
    stages = [body.conv1, *(getattr(body, f"layer{i}") for i in range(1, 5))]
    n = 0
    for s in stages:
        if any(p.requires_grad for p in s.parameters()):
            break
        n += 1
    return n


def _class_names(num_classes: int) -> list[str]:
    from torchvision.models.detection import FasterRCNN_ResNet50_FPN_Weights

    coco = FasterRCNN_ResNet50_FPN_Weights.COCO_V1.meta["categories"]  # shipped with torchvision, no download
    if num_classes == len(coco):
        return list(coco[1:])
    return [f"class{i}" for i in range(1, num_classes)]


_RENAMES = [
    (r"^backbone\.fpn\.", "backbone."),
    (r"^rpn\.head\.conv\.0\.0\.", "rpn.head.conv."),  # torchvision >= 0.13 wraps the conv twice
    (r"^roi_heads\.mask_head\.(\d)\.0\.", r"roi_heads.mask_head.convs.\1.0."),
    (r"^roi_heads\.mask_head\.mask_fcn(\d)\.", None),  # old names, handled below
    (r"^roi_heads\.mask_predictor\.conv5_mask\.", "roi_heads.mask_head.deconv."),
    (r"^roi_heads\.mask_predictor\.mask_fcn_logits\.", "roi_heads.mask_head.predictor."),
]


def _convert_state_dict(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            continue
        m = re.match(r"^roi_heads\.mask_head\.mask_fcn(\d)\.", k)
        if m:  # torchvision < 0.13 names
            k = f"roi_heads.mask_head.convs.{int(m.group(1)) - 1}.0." + k[m.end():]
        for pat, rep in _RENAMES:
            if rep is not None:
                k = re.sub(pat, rep, k)
        if k.startswith("roi_heads.mask_head.predictor."):
            v = v[1:]  # tensorpack predicts masks for the K categories only; torchvision's BG mask is unused
        out[k] = v
    return out


def from_torchvision(tv_model: nn.Module) -> nn.Module:
    """A claran ``GeneralizedRCNN`` with ``tv_model``'s weights and settings (in eval mode, on its device).

    Supports torchvision's ``fasterrcnn_resnet50_fpn`` and ``maskrcnn_resnet50_fpn`` (v1). The returned
    model's ``cfg`` sets the ``COMPAT.*`` keys to torchvision's conventions (anchors, RoIAlign, resize,
    mask pasting, proposal scores, min sizes) and copies its thresholds, top-k values, sizes and classes.
    """
    from torchvision.models.detection import FasterRCNN, MaskRCNN

    from .modeling import build_model

    if not isinstance(tv_model, FasterRCNN) or type(tv_model).__name__ not in ("FasterRCNN", "MaskRCNN"):
        raise _unsupported(f"is a {type(tv_model).__name__}")
    mask = isinstance(tv_model, MaskRCNN)
    cfg = _config(tv_model, mask=mask)
    model = build_model(cfg)
    sd = _convert_state_dict(tv_model.state_dict())
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    extra = [k for k in sd if k not in own]
    if missing or extra:
        raise _unsupported(f"does not map onto claran's layout (missing {missing[:2]}, unexpected {extra[:2]})")
    model.load_state_dict(sd, strict=True)
    # BatchNorm2d (random-init torchvision models) and FrozenBatchNorm2d may carry their own eps
    tv_bn = {n: m for n, m in tv_model.backbone.body.named_modules() if hasattr(m, "running_var")}
    for n, m in model.backbone.body.named_modules():
        if n in tv_bn and hasattr(m, "eps"):
            m.eps = float(tv_bn[n].eps)
    device = next(tv_model.parameters()).device
    return model.to(device).eval()
