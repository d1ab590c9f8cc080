"""Configuration with tensorpack's key names.

A ``Config`` is a tree of attribute dicts. Build one with ``Config()`` (tensorpack's defaults), apply a
named preset and ``KEY=VALUE`` overrides, then ``finalize`` it: derived values are filled in and the tree is
frozen. Model code never reads a global config: ``build_model`` passes each module what it needs.

(Over 350 lines because it holds tensorpack's whole key table with a comment per key, next to the checks
``finalize`` runs on them; splitting the table from its checks would make both harder to read.)
"""

from __future__ import annotations

import ast
import copy
import difflib
import os
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Config", "ConfigError", "register_preset", "get_preset", "list_presets", "lr_schedule_steps", "parse_value"]


class ConfigError(ValueError):
    """A config key or value that cannot be used. The message is one line meant for users."""


class _Node(dict):
    """A dict whose keys are also attributes, with an optional freeze."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        object.__setattr__(self, "_frozen", False)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self:
            if self._frozen:
                raise AttributeError(f"config has no key {name!r}")
            self[name] = _Node()
        return self[name]

    def __setattr__(self, name: str, value: Any) -> None:
        if self._frozen:
            raise ConfigError(f"config is frozen; cannot set {name!r} (set it before finalize())")
        self[name] = value

    def __deepcopy__(self, memo: dict) -> _Node:
        new = type(self)()
        for k, v in self.items():
            dict.__setitem__(new, k, copy.deepcopy(v, memo))
        return new

    def _set_frozen(self, frozen: bool) -> None:
        object.__setattr__(self, "_frozen", frozen)
        for v in self.values():
            if isinstance(v, _Node):
                v._set_frozen(frozen)


def _flatten(node: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in node.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


class Config(_Node):
    """tensorpack's configuration tree (see ``_defaults`` for every key)."""

    def __init__(self) -> None:
        super().__init__()
        _defaults(self)

    # ---------------------------------------------------------------- access
    def flat(self) -> dict[str, Any]:
        """All leaves as ``{"RPN.ANCHOR_SIZES": (32, ...), ...}``."""
        return _flatten(self)

    def get_key(self, key: str) -> Any:
        node: Any = self
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise self._unknown(key)
            node = node[part]
        return node

    def set_key(self, key: str, value: Any) -> None:
        """Set an existing key, converting ``value`` to the type of its default."""
        parts = key.split(".")
        node: Any = self
        for part in parts[:-1]:
            if not isinstance(node, dict) or part not in node or not isinstance(node[part], dict):
                raise self._unknown(key)
            node = node[part]
        if not isinstance(node, dict) or parts[-1] not in node or isinstance(node[parts[-1]], dict):
            raise self._unknown(key)
        setattr(node, parts[-1], _coerce(key, value, node[parts[-1]]))

    def _unknown(self, key: str) -> ConfigError:
        close = difflib.get_close_matches(key, list(self.flat()), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; run `claran train --list-config` to see all keys"
        return ConfigError(f"unknown config key {key!r}{hint}")

    def update_args(self, args: Iterable[str]) -> Config:
        """Apply ``KEY=VALUE`` strings. Values are Python literals (never ``eval``), else plain strings."""
        for arg in args:
            if "=" not in arg:
                raise ConfigError(f"config override {arg!r} is not KEY=VALUE (for example TRAIN.BASE_LR=0.01)")
            key, text = arg.split("=", 1)
            self.set_key(key.strip(), parse_value(text.strip()))
        return self

    def update(self, other: Any = (), **kwargs: Any) -> None:  # type: ignore[override]
        """Merge a (possibly nested, possibly dotted-key) mapping, checking every key."""
        items = dict(other, **kwargs) if other or kwargs else {}
        for k, v in _flatten(items).items():
            self.set_key(k, v)

    # ---------------------------------------------------------------- (de)serialise
    def to_dict(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            if isinstance(v, tuple):
                return [plain(x) for x in v]
            return v

        return plain(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, freeze: bool = True) -> Config:
        """Rebuild a config saved by ``to_dict`` (for example from a checkpoint).

        Keys this version does not define (a plug-in's namespace, see ``extend``) are kept as saved;
        keys it added since keep their defaults.
        """
        cfg = cls()
        known = cfg.flat()
        for k, v in _flatten(d).items():
            if k in known:
                dict.__setitem__(_parent(cfg, k), k.split(".")[-1], _coerce(k, v, known[k], strict=False))
            else:
                cfg.extend({k: v})
        if freeze:
            cfg.freeze()
        return cfg

    def extend(self, defaults: dict[str, Any]) -> Config:
        """Add new keys with their defaults (a dataset plug-in's own namespace, e.g. ``{"RGZ.FRAME_SIZE": 132}``).

        Existing keys keep their values, so extending twice is harmless.
        """
        for key, value in _flatten(defaults).items():
            node: Any = self
            parts = key.split(".")
            for part in parts[:-1]:
                if part not in node:
                    dict.__setitem__(node, part, _Node())
                node = node[part]
                if not isinstance(node, dict):
                    raise ConfigError(f"config key {key!r} clashes with an existing value")
            if parts[-1] not in node:
                dict.__setitem__(node, parts[-1], value)
        return self

    def freeze(self, frozen: bool = True) -> Config:
        self._set_frozen(frozen)
        return self

    @property
    def frozen(self) -> bool:
        return self._frozen

    def clone(self) -> Config:
        new = copy.deepcopy(self)
        new._set_frozen(False)
        return new

    # ---------------------------------------------------------------- derived values
    def finalize(self, *, is_training: bool = True, num_devices: int | None = None) -> Config:
        """Fill in derived values (tensorpack's ``finalize_configs``) and freeze."""
        _finalize(self, is_training=is_training, num_devices=num_devices)
        return self.freeze()

    def __repr__(self) -> str:
        return "\n".join(f"{k} = {v!r}" for k, v in sorted(self.flat().items()))


def _parent(cfg: dict, key: str) -> dict:
    node = cfg
    for part in key.split(".")[:-1]:
        node = node[part]
    return node


def parse_value(text: str) -> Any:
    """A ``KEY=VALUE`` value: a Python literal (never ``eval``), true/false/none in any case, else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        low = text.lower()
        if low in ("true", "false"):
            return low == "true"
        if low == "none":
            return None
        return text


def _coerce(key: str, value: Any, default: Any, *, strict: bool = True) -> Any:
    """Convert ``value`` to the kind of ``default``; raise a one-line ConfigError when impossible."""
    if value is None and isinstance(default, str):
        return "None"  # string keys such as BACKBONE.NORM spell "no norm" as None (tensorpack's convention)
    if default is None or value is None:
        return value
    bad = ConfigError(f"config {key}={value!r}: expected {type(default).__name__} like {default!r}")
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise bad
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            if isinstance(value, str) or isinstance(value, (list, tuple)):
                # keys such as TRAIN.LR_SCHEDULE accept both a string and a list
                if key in _POLYMORPHIC:
                    return value
            raise bad
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if isinstance(default, str):
        if key in _POLYMORPHIC and isinstance(value, (list, tuple)):
            return list(value)
        if not isinstance(value, str):
            if strict:
                raise bad
            return value
        return value
    if isinstance(default, (list, tuple)):
        if key in _POLYMORPHIC and isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise bad
        return type(default)(value) if isinstance(default, tuple) else list(value)
    return value


# Keys whose value may legitimately change kind (tensorpack allows "1x" or a list of steps, etc.).
_POLYMORPHIC = {"TRAIN.LR_SCHEDULE", "DATA.TRAIN", "DATA.VAL", "BACKBONE.WEIGHTS", "TRAIN.NUM_GPUS"}


def _defaults(C: _Node) -> None:
    # mode flags
    C.MODE_MASK = True  # Faster R-CNN or Mask R-CNN
    C.MODE_FPN = False  # tensorpack's default: R50-C4 Mask R-CNN ("this is the default" in its results table)
    C.TRAINER = "replicated"  # tensorpack's key; claran trains under torchrun ("horovod" is answered with that)

    # dataset
    C.DATA.BASEDIR = "/path/to/your/DATA/DIR"
    C.DATA.FAMILY = ""  # the dataset family trained on (coco, rgz, ...), so evaluate needs no --dataset; claran addition
    C.DATA.TRAIN = ("coco_train2017",)  # names registered in claran.data.DatasetRegistry
    C.DATA.VAL = ("coco_val2017",)
    C.DATA.NUM_CATEGORY = -1  # derived from the dataset's metadata
    C.DATA.CLASS_NAMES = []  # derived; index 0 is "BG"
    C.DATA.NUM_CLASS = -1  # derived: NUM_CATEGORY + 1
    C.DATA.FILTER_EMPTY_ANNOTATIONS = True
    C.DATA.NUM_WORKERS = 2  # DataLoader workers per process (tensorpack used 10 on its 8-GPU hosts)
    C.DATA.ABSOLUTE_COORD = True

    # backbone
    C.BACKBONE.NAME = "resnet"  # claran.modeling.backbones registry: resnet (BLOCK/RESNET_NUM_BLOCKS), resnet18
    C.BACKBONE.WEIGHTS = ""  # a .pt/.npz (tensorpack model zoo) path, "imagenet" (torchvision weights API) or ""
    C.BACKBONE.RESNET_NUM_BLOCKS = [3, 4, 6, 3]  # R50; [3, 4, 23, 3] is R101, [2, 2, 2, 2] with BASIC is R18
    C.BACKBONE.BLOCK = "bottleneck"  # "bottleneck" (R50/101) or "basic" (R18/34); claran addition
    C.BACKBONE.WIDTH_MULTIPLIER = 1.0  # scales every stage's width; claran addition for small models
    C.BACKBONE.NORM = "FreezeBN"  # FreezeBN, SyncBN, BN, GN, None
    C.BACKBONE.FREEZE_AFFINE = False  # do not train gamma/beta of norm layers
    C.BACKBONE.FREEZE_AT = 2  # 0: train all, 1: freeze the stem, 2: freeze stem and res2
    C.BACKBONE.STRIDE_1X1 = False  # True: caffe-style stride in the 1x1 conv
    C.BACKBONE.IN_CHANNELS = 3  # input image channels; claran addition

    # pre-processing
    C.PREPROC.TRAIN_SHORT_EDGE_SIZE = [800, 800]  # [min, max] to sample from
    C.PREPROC.TEST_SHORT_EDGE_SIZE = 800
    C.PREPROC.MAX_SIZE = 1333
    C.PREPROC.PIXEL_MEAN = [123.675, 116.28, 103.53]  # RGB, 0..255
    C.PREPROC.PIXEL_STD = [58.395, 57.12, 57.375]
    C.PREPROC.FLIP = True  # horizontal flips in training; claran addition
    C.PREPROC.ROTATE90 = False  # random k*90 degree rotations and vertical flips (valid for sky images)

    # anchors / RPN
    C.RPN.ANCHOR_STRIDE = 16  # C4 only
    C.RPN.ANCHOR_SIZES = (32, 64, 128, 256, 512)
    C.RPN.ANCHOR_RATIOS = (0.5, 1.0, 2.0)
    C.RPN.POSITIVE_ANCHOR_THRESH = 0.7
    C.RPN.NEGATIVE_ANCHOR_THRESH = 0.3
    C.RPN.FG_RATIO = 0.5
    C.RPN.BATCH_PER_IM = 256
    C.RPN.MIN_SIZE = 0.0
    C.RPN.PROPOSAL_NMS_THRESH = 0.7
    C.RPN.CROWD_OVERLAP_THRESH = 9.99  # boxes overlapping crowd by more than this are ignored; >1 disables
    C.RPN.HEAD_DIM = 1024  # C4 only
    C.RPN.TRAIN_PRE_NMS_TOPK = 12000  # C4
    C.RPN.TRAIN_POST_NMS_TOPK = 2000
    C.RPN.TEST_PRE_NMS_TOPK = 6000
    C.RPN.TEST_POST_NMS_TOPK = 1000
    C.RPN.NUM_ANCHOR = -1  # derived
    C.RPN.TRAIN_PER_LEVEL_NMS_TOPK = 2000  # FPN
    C.RPN.TEST_PER_LEVEL_NMS_TOPK = 1000

    # Fast R-CNN head
    C.FRCNN.BATCH_PER_IM = 512
    C.FRCNN.BBOX_REG_WEIGHTS = [10.0, 10.0, 5.0, 5.0]
    C.FRCNN.FG_THRESH = 0.5
    C.FRCNN.FG_RATIO = 0.25

    # FPN
    C.FPN.ANCHOR_STRIDES = (4, 8, 16, 32, 64)
    C.FPN.PROPOSAL_MODE = "Level"  # "Level" or "Joint"
    C.FPN.NUM_CHANNEL = 256
    C.FPN.NORM = "None"  # "None" or "GN"
    C.FPN.FRCNN_HEAD_FUNC = "fastrcnn_2fc_head"  # or fastrcnn_4conv1fc_head, fastrcnn_4conv1fc_gn_head
    C.FPN.FRCNN_CONV_HEAD_DIM = 256
    C.FPN.FRCNN_FC_HEAD_DIM = 1024
    C.FPN.MRCNN_HEAD_FUNC = "maskrcnn_up4conv_head"  # or maskrcnn_up4conv_gn_head
    C.FPN.CASCADE = False
    C.FPN.RESOLUTION_REQUIREMENT = 32  # derived: images are padded to a multiple of this

    # Mask R-CNN
    C.MRCNN.HEAD_DIM = 256
    C.MRCNN.ACCURATE_PASTE = True

    # Cascade R-CNN
    C.CASCADE.IOUS = [0.5, 0.6, 0.7]
    C.CASCADE.BBOX_REG_WEIGHTS = [[10.0, 10.0, 5.0, 5.0], [20.0, 20.0, 10.0, 10.0], [30.0, 30.0, 15.0, 15.0]]

    # training
    C.TRAIN.NUM_GPUS = None  # derived: number of processes (GPUs or CPU workers)
    C.TRAIN.BATCH_PER_DEVICE = 1  # images per process and step (tensorpack: always 1); claran addition
    C.TRAIN.WEIGHT_DECAY = 1e-4
    C.TRAIN.BASE_LR = 1e-2  # for a total batch of 8; scaled linearly to the real total batch
    C.TRAIN.WARMUP = 1000  # steps, in terms of a total batch of 8
    C.TRAIN.WARMUP_INIT_LR = 1e-5
    C.TRAIN.STEPS_PER_EPOCH = 500
    C.TRAIN.STARTING_EPOCH = 1
    C.TRAIN.LR_SCHEDULE = "1x"  # "1x", "2x", ... or a list of steps for a total batch of 8
    C.TRAIN.EVAL_PERIOD = 50  # epochs; 0 disables
    C.TRAIN.CHECKPOINT_PERIOD = 20  # epochs
    C.TRAIN.MAX_STEPS = 0  # >0 caps the run (smoke runs, benchmarks); claran addition
    C.TRAIN.AMP = True  # mixed precision on GPUs (ignored on CPU); claran addition
    C.TRAIN.SEED = 42  # claran addition
    C.TRAIN.LOG_PERIOD = 20  # steps between metric lines; claran addition

    # inference
    C.TEST.FRCNN_NMS_THRESH = 0.5
    C.TEST.RESULT_SCORE_THRESH = 0.05
    C.TEST.RESULT_SCORE_THRESH_VIS = 0.5
    C.TEST.RESULTS_PER_IM = 100

    # Differences from tensorpack that torchvision's models need (set by claran.from_torchvision).
    C.COMPAT.ANCHOR_STYLE = "tensorpack"  # "tensorpack": centres at (i + 0.5) * stride; "torchvision"
    C.COMPAT.ROIALIGN_ALIGNED = True  # torchvision's MultiScaleRoIAlign uses aligned=False
    C.COMPAT.RESIZE = "cv2"  # "cv2" (tensorpack) or "torch" (torchvision's F.interpolate bilinear)
    C.COMPAT.MASK_PASTE = "accurate"  # or "torchvision" (its +1 box convention)
    C.COMPAT.RPN_SCORE = "logit"  # proposals ranked the same either way; "sigmoid" like torchvision
    C.COMPAT.RESULT_MIN_SIZE = 0.0  # torchvision drops final boxes smaller than 1e-2 px
    C.COMPAT.LEVEL_MAPPER = "tensorpack"  # FPN RoI level: eps inside log2 (tensorpack) or outside ("torchvision")
    C.COMPAT.NORMALIZE = "tensorpack"  # (x - MEAN) / STD; "torchvision": x / 255 first, then on a 0..1 scale


def lr_schedule_steps(schedule: str | list[int]) -> list[int]:
    """tensorpack's schedule shorthand: "1x" = [120k, 160k, 180k]; "Nx" = [180N-120, 180N-40, 180N] k."""
    if isinstance(schedule, str):
        s = schedule.strip()
        if not (s.endswith("x") and s[:-1].isdigit() and int(s[:-1]) >= 1):
            raise ConfigError(f"config TRAIN.LR_SCHEDULE={schedule!r}: expected 'Nx' (like '1x') or a list of steps")
        k = int(s[:-1])
        kiter = [120, 160, 180] if k == 1 else [180 * k - 120, 180 * k - 40, 180 * k]
        return [x * 1000 for x in kiter]
    steps = [int(x) for x in schedule]
    if not steps or steps != sorted(steps):
        raise ConfigError(f"config TRAIN.LR_SCHEDULE={schedule!r}: steps must be a non-empty increasing list")
    return steps


_NORMS = ("FreezeBN", "SyncBN", "BN", "GN", "None")


def _finalize(C: Config, *, is_training: bool, num_devices: int | None) -> None:
    def check(ok: bool, msg: str) -> None:
        if not ok:
            raise ConfigError(msg)

    check(C.TRAINER in ("replicated", "horovod"), f"config TRAINER={C.TRAINER!r}: choose replicated or horovod")
    check(C.BACKBONE.NORM in _NORMS, f"config BACKBONE.NORM={C.BACKBONE.NORM!r}: choose one of {', '.join(_NORMS)}")
    check(C.FPN.NORM in ("None", "GN"), f"config FPN.NORM={C.FPN.NORM!r}: choose None or GN")
    check(C.BACKBONE.BLOCK in ("bottleneck", "basic"), "config BACKBONE.BLOCK: choose bottleneck or basic")
    check(len(C.BACKBONE.RESNET_NUM_BLOCKS) == 4, "config BACKBONE.RESNET_NUM_BLOCKS needs 4 numbers")
    check(0 <= C.BACKBONE.FREEZE_AT <= 5, "config BACKBONE.FREEZE_AT must be in 0..5")
    check(C.FPN.PROPOSAL_MODE in ("Level", "Joint"), "config FPN.PROPOSAL_MODE: choose Level or Joint")
    check(C.COMPAT.ANCHOR_STYLE in ("tensorpack", "torchvision"), "config COMPAT.ANCHOR_STYLE: tensorpack|torchvision")
    check(C.COMPAT.RESIZE in ("cv2", "torch"), "config COMPAT.RESIZE: choose cv2 or torch")
    check(C.COMPAT.MASK_PASTE in ("accurate", "torchvision"), "config COMPAT.MASK_PASTE: accurate|torchvision")
    check(C.COMPAT.LEVEL_MAPPER in ("tensorpack", "torchvision"), "config COMPAT.LEVEL_MAPPER: tensorpack|torchvision")
    check(C.COMPAT.RPN_SCORE in ("logit", "sigmoid"), "config COMPAT.RPN_SCORE: choose logit or sigmoid")
    check(C.COMPAT.NORMALIZE in ("tensorpack", "torchvision"), "config COMPAT.NORMALIZE: tensorpack|torchvision")
    check(len(C.PREPROC.PIXEL_MEAN) == len(C.PREPROC.PIXEL_STD) == C.BACKBONE.IN_CHANNELS,
          "config PREPROC.PIXEL_MEAN/PIXEL_STD need one value per BACKBONE.IN_CHANNELS")
    if C.FPN.CASCADE:
        check(C.MODE_FPN, "config FPN.CASCADE=True needs MODE_FPN=True")
        check(len(C.CASCADE.IOUS) == len(C.CASCADE.BBOX_REG_WEIGHTS), "config CASCADE.IOUS and BBOX_REG_WEIGHTS differ in length")
    if C.MODE_FPN:
        check(len(C.FPN.ANCHOR_STRIDES) == len(C.RPN.ANCHOR_SIZES),
              "config RPN.ANCHOR_SIZES needs one size per FPN.ANCHOR_STRIDES level")
        C.FPN.RESOLUTION_REQUIREMENT = int(C.FPN.ANCHOR_STRIDES[3])
    else:
        C.FPN.RESOLUTION_REQUIREMENT = 0
    if C.FPN.NORM == "GN" or C.BACKBONE.NORM == "GN":
        pass  # GN models train from scratch fine; nothing derived
    C.RPN.NUM_ANCHOR = len(C.RPN.ANCHOR_SIZES) * len(C.RPN.ANCHOR_RATIOS)
    if C.DATA.CLASS_NAMES:
        names = list(C.DATA.CLASS_NAMES)
        if names[0] != "BG":
            names = ["BG", *names]
        C.DATA.CLASS_NAMES = names
        C.DATA.NUM_CATEGORY = len(names) - 1
    check(C.DATA.NUM_CATEGORY > 0, "config DATA.NUM_CATEGORY is unknown: set DATA.CLASS_NAMES or register the dataset")
    C.DATA.NUM_CLASS = C.DATA.NUM_CATEGORY + 1
    if is_training:
        C.TRAIN.LR_SCHEDULE = lr_schedule_steps(C.TRAIN.LR_SCHEDULE)
        ts = C.PREPROC.TRAIN_SHORT_EDGE_SIZE
        if isinstance(ts, (int, float)):
            C.PREPROC.TRAIN_SHORT_EDGE_SIZE = [int(ts), int(ts)]
        check(len(C.PREPROC.TRAIN_SHORT_EDGE_SIZE) == 2, "config PREPROC.TRAIN_SHORT_EDGE_SIZE needs [min, max]")
        if num_devices is not None:
            C.TRAIN.NUM_GPUS = int(num_devices)
        if C.TRAIN.NUM_GPUS is None:
            C.TRAIN.NUM_GPUS = 1
        C.DATA.NUM_WORKERS = max(0, min(int(C.DATA.NUM_WORKERS), os.cpu_count() or 1))


# ------------------------------------------------------------------ presets
_PRESETS: dict[str, Callable[[Config], None]] = {}


def register_preset(name: str, apply: Callable[[Config], None] | dict[str, Any]) -> None:
    """Register a named preset: a function editing a Config, or a ``{"KEY": value}`` mapping."""
    if isinstance(apply, dict):
        overrides = dict(apply)

        def apply(cfg: Config, _o: dict = overrides) -> None:  # noqa: F811
            for k, v in _o.items():
                cfg.set_key(k, v)

    _PRESETS[name] = apply


def get_preset(name: str) -> Callable[[Config], None]:
    if name not in _PRESETS:
        close = difflib.get_close_matches(name, list(_PRESETS), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known presets: {', '.join(sorted(_PRESETS))}"
        raise ConfigError(f"unknown preset {name!r}{hint}")
    return _PRESETS[name]


def list_presets() -> list[str]:
    return sorted(_PRESETS)


# tensorpack's published COCO configurations
register_preset("R50-C4", {"MODE_MASK": False, "MODE_FPN": False})
register_preset("R50-FPN", {"MODE_MASK": False, "MODE_FPN": True})
register_preset("R50-FPN-Mask", {"MODE_MASK": True, "MODE_FPN": True})
register_preset("R50-FPN-Mask-Cascade", {"MODE_MASK": True, "MODE_FPN": True, "FPN.CASCADE": True})
register_preset(
    "R50-FPN-Mask-GN",
    {
        "MODE_MASK": True, "MODE_FPN": True, "BACKBONE.NORM": "GN", "FPN.NORM": "GN",
        "FPN.FRCNN_HEAD_FUNC": "fastrcnn_4conv1fc_gn_head", "FPN.MRCNN_HEAD_FUNC": "maskrcnn_up4conv_gn_head",
        "TRAIN.LR_SCHEDULE": "2x",
    },
)
register_preset(
    "R50-FPN-Mask-scratch",
    {
        "MODE_MASK": True, "MODE_FPN": True, "BACKBONE.NORM": "GN", "FPN.NORM": "GN", "BACKBONE.WEIGHTS": "",
        "BACKBONE.FREEZE_AT": 0, "FPN.FRCNN_HEAD_FUNC": "fastrcnn_4conv1fc_gn_head",
        "FPN.MRCNN_HEAD_FUNC": "maskrcnn_up4conv_gn_head", "TRAIN.LR_SCHEDULE": "9x",
        "PREPROC.TRAIN_SHORT_EDGE_SIZE": [640, 800],
    },
)


# A tiny model for tests and smoke runs: seconds per step on a CPU.
register_preset(
    "tiny",
    {
        "MODE_FPN": True,
        "BACKBONE.RESNET_NUM_BLOCKS": [1, 1, 1, 1], "BACKBONE.BLOCK": "basic", "BACKBONE.WIDTH_MULTIPLIER": 0.25,
        "BACKBONE.FREEZE_AT": 0, "FPN.NUM_CHANNEL": 32, "FPN.FRCNN_FC_HEAD_DIM": 64, "FPN.FRCNN_CONV_HEAD_DIM": 32,
        "MRCNN.HEAD_DIM": 32, "RPN.HEAD_DIM": 64, "RPN.ANCHOR_SIZES": (16, 32, 64, 128, 256),
        "PREPROC.TRAIN_SHORT_EDGE_SIZE": [128, 128], "PREPROC.TEST_SHORT_EDGE_SIZE": 128, "PREPROC.MAX_SIZE": 256,
        "RPN.BATCH_PER_IM": 64, "FRCNN.BATCH_PER_IM": 64, "RPN.TRAIN_PRE_NMS_TOPK": 400, "RPN.TRAIN_POST_NMS_TOPK": 200,
        "RPN.TEST_PRE_NMS_TOPK": 200, "RPN.TEST_POST_NMS_TOPK": 100, "RPN.TRAIN_PER_LEVEL_NMS_TOPK": 200,
        "RPN.TEST_PER_LEVEL_NMS_TOPK": 100, "TRAIN.WARMUP": 10, "TRAIN.BASE_LR": 0.01,
    },
)
