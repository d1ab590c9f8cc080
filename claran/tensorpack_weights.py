"""tensorpack's ``.npz`` weights (its model zoo) in claran's modules, through one name mapping.

tensorpack names variables by scope (``modeling/backbone.py``, ``model_fpn.py``, ``model_rpn.py``,
``model_frcnn.py``, ``model_mrcnn.py``, ``model_cascade.py`` and ``tensorpack/models``: ``W``/``b`` for
Conv2D/FullyConnected, ``gamma``/``beta``/``mean/EMA``/``variance/EMA`` for BatchNorm, ``gamma``/``beta`` for
GroupNorm). ``_RULES`` maps each claran module path to its tensorpack scope; the reverse direction (is a name
tensorpack's at all?) is derived from the same table. Layouts: conv kernels HWIO -> OIHW, deconv kernels
[H, W, out, in] -> [in, out, H, W] (the same permutation), fc [in, out] -> [out, in]; tensorpack feeds BGR
images, so ``conv0/W``'s input channels are reversed for claran's RGB input. Class and box outputs keep
tensorpack's order (column 0 = background; boxes class-major, (dx, dy, dw, dh) inside), as claran's do.
"""

from __future__ import annotations

import logging
import os
import re
import zipfile
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from .errors import UserError

__all__ = ["tensorpack_names", "load_tensorpack_npz", "config_overrides_from_npz", "read_npz", "check_names",
           "export_tensorpack_npz", "COCO_CLASS_NAMES"]

logger = logging.getLogger("claran")

# (claran module path, tensorpack scope, architecture: "c4", "fpn" or None for both). Groups named x__m1 /
# x__p2 give tensorpack's field x as the claran index minus 1 / plus 2; {norm} is "bn" or "gn".
_RES = r"(?:backbone\.body|backbone)"
_BLOCK = _RES + r"\.layer(?P<g__m1>\d)\.(?P<j>\d+)"
_RES5 = r"roi_heads\.box_head\.res5\.(?P<j>\d+)"
_STAGE = r"roi_heads\.box_heads\.(?P<s__p1>\d+)"
_RULES: list[tuple[str, str, str | None]] = [
    (_RES + r"\.conv1", "conv0", None),
    (_RES + r"\.bn1", "conv0/{norm}", None),
    (_BLOCK + r"\.conv(?P<k>\d)", "group{g}/block{j}/conv{k}", None),
    (_BLOCK + r"\.bn(?P<k>\d)", "group{g}/block{j}/conv{k}/{norm}", None),
    (_BLOCK + r"\.downsample\.0", "group{g}/block{j}/convshortcut", None),
    (_BLOCK + r"\.downsample\.1", "group{g}/block{j}/convshortcut/{norm}", None),
    (_RES5 + r"\.conv(?P<k>\d)", "group3/block{j}/conv{k}", "c4"),
    (_RES5 + r"\.bn(?P<k>\d)", "group3/block{j}/conv{k}/{norm}", "c4"),
    (_RES5 + r"\.downsample\.0", "group3/block{j}/convshortcut", "c4"),
    (_RES5 + r"\.downsample\.1", "group3/block{j}/convshortcut/{norm}", "c4"),
    (r"backbone\.inner_blocks\.(?P<c__p2>\d)\.0", "fpn/lateral_1x1_c{c}", "fpn"),
    (r"backbone\.inner_blocks\.(?P<c__p2>\d)\.1", "fpn/gn_c{c}", "fpn"),
    (r"backbone\.layer_blocks\.(?P<c__p2>\d)\.0", "fpn/posthoc_3x3_p{c}", "fpn"),
    (r"backbone\.layer_blocks\.(?P<c__p2>\d)\.1", "fpn/gn_p{c}", "fpn"),
    (r"rpn\.head\.conv", "rpn/conv0", None),
    (r"rpn\.head\.cls_logits", "rpn/class", None),
    (r"rpn\.head\.bbox_pred", "rpn/box", None),
    (r"roi_heads\.box_head\.fc6", "fastrcnn/fc6", "fpn"),
    (r"roi_heads\.box_head\.fc7", "fastrcnn/fc7", "fpn"),
    (r"roi_heads\.box_head\.fc", "fastrcnn/fc", "fpn"),
    (r"roi_heads\.box_head\.convs\.(?P<k>\d)\.0", "fastrcnn/conv{k}", "fpn"),
    (r"roi_heads\.box_head\.convs\.(?P<k>\d)\.1", "fastrcnn/gn{k}", "fpn"),
    (r"roi_heads\.box_predictor\.cls_score", "fastrcnn/class", "c4"),
    (r"roi_heads\.box_predictor\.bbox_pred", "fastrcnn/box", "c4"),
    (r"roi_heads\.box_predictor\.cls_score", "fastrcnn/outputs/class", "fpn"),
    (r"roi_heads\.box_predictor\.bbox_pred", "fastrcnn/outputs/box", "fpn"),
    (_STAGE + r"\.fc6", "cascade_rcnn_stage{s}/head/fc6", "fpn"),
    (_STAGE + r"\.fc7", "cascade_rcnn_stage{s}/head/fc7", "fpn"),
    (_STAGE + r"\.fc", "cascade_rcnn_stage{s}/head/fc", "fpn"),
    (_STAGE + r"\.convs\.(?P<k>\d)\.0", "cascade_rcnn_stage{s}/head/conv{k}", "fpn"),
    (_STAGE + r"\.convs\.(?P<k>\d)\.1", "cascade_rcnn_stage{s}/head/gn{k}", "fpn"),
    (r"roi_heads\.box_predictors\.(?P<s__p1>\d+)\.cls_score", "cascade_rcnn_stage{s}/outputs/class", "fpn"),
    (r"roi_heads\.box_predictors\.(?P<s__p1>\d+)\.bbox_pred", "cascade_rcnn_stage{s}/outputs/box", "fpn"),
    (r"roi_heads\.mask_head\.convs\.(?P<k>\d)\.0", "maskrcnn/fcn{k}", "fpn"),
    (r"roi_heads\.mask_head\.convs\.(?P<k>\d)\.1", "maskrcnn/gn{k}", "fpn"),
    (r"roi_heads\.mask_head\.deconv", "maskrcnn/deconv", None),
    (r"roi_heads\.mask_head\.predictor", "maskrcnn/conv", None),
]
_COMPILED = [(re.compile(c + "$"), t, a) for c, t, a in _RULES]
_NORM_PARAMS = {"weight": "gamma", "bias": "beta", "running_mean": "mean/EMA", "running_var": "variance/EMA"}
_PARAMS = {"weight": "W", "bias": "b"}
# tensorpack's own grammar, from the same table: every scope template with its fields as numbers
_TP_NAME = re.compile("(?:" + "|".join(
    re.sub(r"\\\{norm\\\}", "(?:bn|gn)", re.sub(r"\\\{[a-z]\\\}", r"\\d+", re.escape(t))) for _, t, _ in _RULES
) + r")/(?:W|b|gamma|beta|mean/EMA|variance/EMA)$")
# in tensorpack's files but not model weights: step counters, the ImageNet classifier, optimizer slots
_IGNORED = re.compile(r"^(global_step|learning_rate|linear/[Wb])$|/Momentum$|/Adam(_1)?$")


def _scope(path: str, module: nn.Module, c4: bool) -> str | None:
    for rx, template, arch in _COMPILED:
        if arch is not None and (arch == "c4") != c4:
            continue
        m = rx.match(path)
        if m is None:
            continue
        fields: dict[str, Any] = {"norm": "gn" if isinstance(module, nn.GroupNorm) else "bn"}
        for key, val in m.groupdict().items():
            name, _, off = key.partition("__")
            fields[name] = int(val) + (int(off[1:]) * (-1 if off.startswith("m") else 1) if off else 0)
        return template.format(**fields)
    return None


def tensorpack_names(model: nn.Module, *, prefix: str = "") -> dict[str, str]:
    """tensorpack variable name -> claran ``state_dict`` key, for every tensor of ``model`` that has one.

    ``prefix`` places a bare module inside the detector (a ResNet is ``"backbone.body."``).
    """
    full = {prefix + n: m for n, m in model.named_modules()}
    c4 = not any(p.startswith("backbone.body.") or p.startswith("backbone.inner_blocks") for p in full)
    out: dict[str, str] = {}
    for key in model.state_dict():
        path, _, param = (prefix + key).rpartition(".")
        module = full.get(path)
        if module is None or param == "num_batches_tracked":
            continue
        scope = _scope(path, module, c4)
        if scope is None:
            continue
        is_norm = isinstance(module, (nn.GroupNorm, nn.modules.batchnorm._BatchNorm)) or "BatchNorm" in type(module).__name__
        suffix = (_NORM_PARAMS if is_norm else _PARAMS).get(param)
        if suffix is not None:
            out[f"{scope}/{suffix}"] = key
    return out


def to_claran(name: str, value: np.ndarray, target_shape: tuple[int, ...]) -> torch.Tensor:
    """One tensorpack array in claran's layout (see the module docstring)."""
    a = np.asarray(value, dtype=np.float32)
    if a.ndim == 4:
        a = a.transpose(3, 2, 0, 1)  # HWIO -> OIHW; deconv [H, W, out, in] -> [in, out, H, W]
        if name == "conv0/W":
            a = a[:, ::-1]  # tensorpack's BGR input -> claran's RGB
            if a.shape[1] == 3 and len(target_shape) == 4 and target_shape[1] != 3:
                cin = target_shape[1]  # an RGB filter for another channel count: its mean, as for .pt weights
                a = np.repeat(a.mean(1, keepdims=True), cin, 1) * (3 / cin)
    elif a.ndim == 2:
        a = a.T  # FullyConnected [in, out] -> nn.Linear [out, in]
    return torch.from_numpy(np.ascontiguousarray(a))


def to_tensorpack(name: str, value: torch.Tensor) -> np.ndarray:
    """The inverse of ``to_claran`` (for 3-channel models)."""
    a = value.detach().cpu().float().numpy()
    if a.ndim == 4:
        if name == "conv0/W":
            a = a[:, ::-1]
        a = a.transpose(2, 3, 1, 0)
    elif a.ndim == 2:
        a = a.T
    return np.ascontiguousarray(a)


def read_npz(path: str | os.PathLike, *, what: str) -> dict[str, np.ndarray]:
    """Arrays of a tensorpack .npz by variable name (``:0`` suffixes dropped); one-line errors."""
    if not os.path.isfile(path):
        raise UserError(f"{what}={path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k[:-2] if k.endswith(":0") else k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise UserError(f"{what}={path}: not a readable .npz ({type(e).__name__})") from None


def check_names(arrays: Iterable[str], path: str, what: str) -> list[str]:
    """The model-weight names of a tensorpack file; the first name tensorpack would not write is an error."""
    names = []
    for name in arrays:
        if _IGNORED.search(name):
            continue
        if not _TP_NAME.match(name):
            raise UserError(f"{what}={path}: variable {name!r} is not a tensorpack FasterRCNN/ResNet weight name "
                            "claran maps (conv0/W, group0/block0/conv1/W, fpn/..., rpn/..., fastrcnn/..., maskrcnn/..., "
                            "cascade_rcnn_stage1/...; docs/tensorpack.md)")
        names.append(name)
    return names


def load_tensorpack_npz(module: nn.Module, path: str, *, prefix: str = "", what: str = "--load",
                        strict: bool = False, skip_mismatched: bool = False) -> tuple[list[str], list[str], list[str]]:
    """Copy a tensorpack .npz into ``module``. Returns (loaded, unused npz names, claran keys left at init).

    Names tensorpack would not write are one-line errors, and so are shape mismatches unless
    ``skip_mismatched`` (``--load``: a COCO model may start one with other classes); ``strict`` also makes
    unused and missing tensors errors (a model built to match the file).
    """
    arrays = read_npz(path, what=what)
    names = check_names(arrays, path, what)
    mapping = tensorpack_names(module, prefix=prefix)
    own = module.state_dict()
    state, unused = {}, []
    for name in names:
        key = mapping.get(name)
        if key is None:
            unused.append(name)
            continue
        value = to_claran(name, arrays[name], tuple(own[key].shape))
        if tuple(value.shape) != tuple(own[key].shape):
            if skip_mismatched:
                unused.append(name)
                continue
            raise UserError(f"{what}={path}: {name} has shape {tuple(arrays[name].shape)}, which is "
                            f"{tuple(value.shape)} in claran's layout, but {prefix}{key} needs {tuple(own[key].shape)} "
                            "(check MODE_FPN, RESNET_NUM_BLOCKS, the head functions and the number of classes)")
        state[key] = value
    missing = [k for k in mapping.values() if k not in state]
    if strict and (unused or missing):
        first = f"{unused[0]} has no place in it" if unused else f"nothing in the file for {prefix}{missing[0]}"
        hint = (" (tensorpack's GN heads and GN FPN put a bias before GroupNorm; claran's do not)"
                if unused and unused[0].endswith("/b") else "")
        raise UserError(f"{what}={path}: the file does not fit this model ({len(unused)} unused, {len(missing)} "
                        f"missing): {first}{hint}")
    if not state:
        raise UserError(f"{what}={path}: no variable of this file fits this model")
    module.load_state_dict(state, strict=False)
    logger.info("loaded %d tensors from %s (%d of its variables not used, %d of the model's left at their init)",
                len(state), path, len(unused), len(missing))
    return list(state), unused, missing


# ------------------------------------------------------------------ whole models
def config_overrides_from_npz(arrays: dict[str, np.ndarray]) -> list[str]:
    """The ``KEY=VALUE`` overrides describing the architecture a tensorpack detector .npz holds."""
    def has(p: str) -> bool:
        return any(n.startswith(p) for n in arrays)

    def shape(n: str) -> tuple[int, ...] | None:
        return tuple(arrays[n].shape) if n in arrays else None

    fpn, cascade = has("fpn/"), has("cascade_rcnn_stage")
    blocks = [len({m.group(1) for n in arrays if (m := re.match(rf"group{g}/block(\d+)/", n))}) for g in range(4)]
    stem = shape("conv0/W")
    if stem is None or 0 in blocks:
        raise UserError("the .npz holds no complete tensorpack ResNet (conv0/W and group0..3/block*/...)")
    out = [f"MODE_FPN={fpn}", f"MODE_MASK={has('maskrcnn/')}", f"FPN.CASCADE={cascade}",
           f"BACKBONE.RESNET_NUM_BLOCKS={blocks}",
           f"BACKBONE.BLOCK={'bottleneck' if has('group0/block0/conv3/') else 'basic'}",
           f"BACKBONE.WIDTH_MULTIPLIER={stem[3] / 64}", f"BACKBONE.IN_CHANNELS={stem[2]}",
           f"BACKBONE.NORM={'GN' if has('conv0/gn/') else 'FreezeBN' if has('conv0/bn/') else 'None'}"]
    head = "cascade_rcnn_stage1/head/" if cascade else "fastrcnn/"
    cls = shape("cascade_rcnn_stage1/outputs/class/W" if cascade else
                "fastrcnn/outputs/class/W" if fpn else "fastrcnn/class/W")
    if cls is None:
        raise UserError("the .npz holds a backbone only (no fastrcnn/ class outputs): use it as BACKBONE.WEIGHTS")
    names = COCO_CLASS_NAMES if cls[1] == 81 else [f"class{i}" for i in range(1, cls[1])]
    out.append(f"DATA.CLASS_NAMES={names!r}")
    if fpn:
        out += [f"FPN.NUM_CHANNEL={shape('fpn/lateral_1x1_c2/W')[3]}", f"FPN.NORM={'GN' if has('fpn/gn_') else 'None'}"]
        if has(head + "conv0/"):
            gn = "_gn" if has(head + "gn0/") else ""
            out += [f"FPN.FRCNN_HEAD_FUNC=fastrcnn_4conv1fc{gn}_head", f"FPN.FRCNN_CONV_HEAD_DIM={shape(head + 'conv0/W')[3]}",
                    f"FPN.FRCNN_FC_HEAD_DIM={shape(head + 'fc/W')[1]}"]
        else:
            out += ["FPN.FRCNN_HEAD_FUNC=fastrcnn_2fc_head", f"FPN.FRCNN_FC_HEAD_DIM={shape(head + 'fc6/W')[1]}"]
        if has("maskrcnn/"):
            out.append(f"FPN.MRCNN_HEAD_FUNC=maskrcnn_up4conv{'_gn' if has('maskrcnn/gn0/') else ''}_head")
        if cascade:
            n = len({m.group(1) for k in arrays if (m := re.match(r"cascade_rcnn_stage(\d+)/", k))})
            if n != 3:
                raise UserError(f"the .npz has {n} cascade stages; claran's CASCADE defaults describe 3")
    else:
        out.append(f"RPN.HEAD_DIM={shape('rpn/conv0/W')[3]}")
    if has("maskrcnn/"):
        out.append(f"MRCNN.HEAD_DIM={shape('maskrcnn/deconv/W')[2]}")
    return out


def export_tensorpack_npz(model: nn.Module, path: str | os.PathLike) -> list[str]:
    """Write ``model``'s weights under tensorpack's names (what tensorpack's model zoo files hold)."""
    from .fileio import atomic_write

    own = model.state_dict()
    arrays = {name: to_tensorpack(name, own[key]) for name, key in tensorpack_names(model).items()}
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    atomic_write(path, write)
    return list(arrays)


# tensorpack's (and COCO's) 80 category names in id order, for a zoo file used without the COCO json
COCO_CLASS_NAMES = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
]

