"""ResNet backbones (tensorpack's ``basemodel.py`` / ``backbone.py``) with torchvision's parameter names.

Names follow ``torchvision.models.resnet`` (``conv1``, ``bn1``, ``layer1..4``, ``downsample.0/1``) so that
torchvision's ImageNet state_dicts load unchanged. The classification ``fc`` is not built.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import torch
from torch import nn

from ..config import Config
from ..errors import UserError
from ..ops import FrozenBatchNorm2d
from .backbones import ShapeSpec

__all__ = ["ResNet", "build_resnet_backbone", "get_norm", "gn_groups", "load_backbone_weights", "resnet_depth"]


def gn_groups(channels: int) -> int:
    """tensorpack's 32 groups, fewer when a tiny model has too few channels (keep >= 2 channels a group)."""
    g = math.gcd(32, channels)
    if channels // g < 2 and channels >= 2:
        g = math.gcd(32, channels // 2)
    return g


def get_norm(norm: str, channels: int) -> nn.Module:
    if norm == "FreezeBN":
        return FrozenBatchNorm2d(channels)
    if norm == "BN":
        return nn.BatchNorm2d(channels)
    if norm == "SyncBN":
        return nn.SyncBatchNorm(channels)  # plain BN when no process group is initialised
    if norm == "GN":
        return nn.GroupNorm(gn_groups(channels), channels)
    if norm == "None":
        return nn.Identity()
    raise ValueError(f"unknown norm {norm!r}")


def conv_stack(in_channels: int, dim: int, num_convs: int, *, norm: str = "None") -> nn.ModuleList:
    """``num_convs`` 3x3 convs (each optionally followed by GN) for the 4conv box head and the mask head."""
    gn = norm == "GN"
    convs, c = nn.ModuleList(), in_channels
    for _ in range(num_convs):
        layers: list[nn.Module] = [nn.Conv2d(c, dim, 3, padding=1, bias=not gn)]
        if gn:
            layers.append(get_norm("GN", dim))
        convs.append(nn.Sequential(*layers))
        c = dim
    return convs


def _conv(cin: int, cout: int, k: int, stride: int = 1, *, norm: str) -> nn.Conv2d:
    # A conv followed by a norm has no bias, as in torchvision; without a norm the bias is needed.
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=norm == "None")


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, width: int, stride: int, *, norm: str, stride_1x1: bool = False) -> None:
        super().__init__()
        cout = width * self.expansion
        self.conv1 = _conv(cin, width, 3, stride, norm=norm)
        self.bn1 = get_norm(norm, width)
        self.conv2 = _conv(width, cout, 3, norm=norm)
        self.bn2 = get_norm(norm, cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(cin, cout, stride, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        idt = x if self.downsample is None else self.downsample(x)
        return self.relu(out + idt)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int, *, norm: str, stride_1x1: bool = False) -> None:
        super().__init__()
        cout = width * self.expansion
        s1, s3 = (stride, 1) if stride_1x1 else (1, stride)  # tensorpack's STRIDE_1X1 (caffe) vs torchvision
        self.conv1 = _conv(cin, width, 1, s1, norm=norm)
        self.bn1 = get_norm(norm, width)
        self.conv2 = _conv(width, width, 3, s3, norm=norm)
        self.bn2 = get_norm(norm, width)
        self.conv3 = _conv(width, cout, 1, norm=norm)
        self.bn3 = get_norm(norm, cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(cin, cout, stride, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        idt = x if self.downsample is None else self.downsample(x)
        return self.relu(out + idt)


def _shortcut(cin: int, cout: int, stride: int, norm: str) -> nn.Module | None:
    if cin == cout and stride == 1:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=norm == "None"), get_norm(norm, cout))


_BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}
_DEPTHS = {
    ("basic", (2, 2, 2, 2)): 18, ("basic", (3, 4, 6, 3)): 34,
    ("bottleneck", (3, 4, 6, 3)): 50, ("bottleneck", (3, 4, 23, 3)): 101, ("bottleneck", (3, 8, 36, 3)): 152,
}


def resnet_depth(block: str, num_blocks: Sequence[int]) -> int | None:
    return _DEPTHS.get((block, tuple(int(n) for n in num_blocks)))


class ResNet(nn.Module):
    """A ResNet trunk returning ``res2..res5`` (strides 4..32).

    ``freeze_at``: 0 trains everything, 1 freezes the stem, k >= 2 also freezes ``res2..res{k}``.
    """

    def __init__(
        self,
        *,
        block: str = "bottleneck",
        num_blocks: Sequence[int] = (3, 4, 6, 3),
        width_multiplier: float = 1.0,
        in_channels: int = 3,
        norm: str = "FreezeBN",
        freeze_at: int = 2,
        freeze_affine: bool = False,
        stride_1x1: bool = False,
    ) -> None:
        super().__init__()
        blk = _BLOCKS[block]
        self.norm = norm
        stem = max(8, int(round(64 * width_multiplier)))
        self.conv1 = nn.Conv2d(in_channels, stem, 7, stride=2, padding=3, bias=norm == "None")
        self.bn1 = get_norm(norm, stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = stem
        self.out_channels: list[int] = []
        for i, n in enumerate(num_blocks):
            width = max(4, int(round(64 * 2**i * width_multiplier)))
            layers = []
            for j in range(int(n)):
                stride = 2 if (j == 0 and i > 0) else 1
                layers.append(blk(cin, width, stride, norm=norm, stride_1x1=stride_1x1))
                cin = width * blk.expansion
            self.add_module(f"layer{i + 1}", nn.Sequential(*layers))
            self.out_channels.append(cin)
        self._init_weights()
        self.freeze_at = int(freeze_at)
        self.freeze_affine = bool(freeze_affine)
        self._freeze()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def _frozen_modules(self) -> list[nn.Module]:
        mods: list[nn.Module] = []
        if self.freeze_at >= 1:
            mods += [self.conv1, self.bn1]
        for i in range(1, 5):
            if self.freeze_at >= i + 1 and hasattr(self, f"layer{i}"):
                mods.append(getattr(self, f"layer{i}"))
        return mods

    def _freeze(self) -> None:
        for m in self._frozen_modules():
            for p in m.parameters():
                p.requires_grad_(False)
        if self.freeze_affine:
            for m in self.modules():
                if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                    for p in m.parameters():
                        p.requires_grad_(False)

    def train(self, mode: bool = True) -> ResNet:
        super().train(mode)
        # BN statistics of frozen stages must not move either.
        for m in self._frozen_modules():
            for sub in m.modules():
                if isinstance(sub, nn.modules.batchnorm._BatchNorm):
                    sub.eval()
        return self

    def output_shape(self) -> dict[str, ShapeSpec]:
        """The backbone contract (claran.modeling.backbones): channels and stride of res2..res5."""
        return {f"res{i + 2}": ShapeSpec(c, 4 * 2**i) for i, c in enumerate(self.out_channels)}

    def pop_res5(self) -> nn.Module:
        """Remove ``layer4`` (res5) and return it: C4 models run it as the box head."""
        res5 = self.layer4
        del self.layer4
        return res5

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for i in range(1, 5):
            layer = getattr(self, f"layer{i}", None)
            if layer is None:  # C4 models move res5 into the box head
                break
            x = layer(x)
            outs.append(x)
        return outs


def build_resnet_backbone(cfg: Config, *, load_weights: bool = True) -> ResNet:
    """``BACKBONE.NAME=resnet``: the ResNet that BACKBONE.BLOCK / RESNET_NUM_BLOCKS / WIDTH_MULTIPLIER describe."""
    B = cfg.BACKBONE
    body = ResNet(block=B.BLOCK, num_blocks=B.RESNET_NUM_BLOCKS, width_multiplier=B.WIDTH_MULTIPLIER,
                  in_channels=B.IN_CHANNELS, norm=B.NORM, freeze_at=B.FREEZE_AT, freeze_affine=B.FREEZE_AFFINE,
                  stride_1x1=B.STRIDE_1X1)
    if load_weights:
        load_backbone_weights(body, str(B.WEIGHTS or ""), block=B.BLOCK, num_blocks=B.RESNET_NUM_BLOCKS)
    return body


# ---------------------------------------------------------------------------- weights
def _extract_state_dict(obj: object, path: str) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict) and obj.get("format") == "claran-checkpoint":
        obj = obj["model"]
    elif isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UserError(f"BACKBONE.WEIGHTS={path}: not a state_dict or claran checkpoint")
    return obj


def load_backbone_weights(resnet: ResNet, weights: str, *, block: str, num_blocks: Sequence[int]) -> None:
    """Load ``BACKBONE.WEIGHTS`` into ``resnet``: "" (nothing), "imagenet", a tensorpack .npz or a .pt path."""
    if not weights:
        return
    if weights.lower() == "imagenet":
        depth = resnet_depth(block, num_blocks)
        if depth is None:
            raise UserError(f"BACKBONE.WEIGHTS=imagenet: torchvision has no ImageNet ResNet with {block} blocks "
                            f"{list(num_blocks)}; use a standard depth or BACKBONE.WEIGHTS=''")
        import torchvision

        enum = torchvision.models.get_model_weights(f"resnet{depth}")
        sd = enum.DEFAULT.get_state_dict(progress=False)
        src = "imagenet"
    elif weights.lower().endswith(".npz"):  # tensorpack's model zoo (ImageNet-R50-AlignPadding.npz, ...)
        from ..tensorpack_weights import load_tensorpack_npz

        _, _, missing = load_tensorpack_npz(resnet, weights, prefix="backbone.body.", what="BACKBONE.WEIGHTS")
        if missing and resnet.norm not in ("GN", "None"):  # as below: GN/None models take the convs only
            raise UserError(f"BACKBONE.WEIGHTS={weights}: {len(missing)} backbone tensors missing, e.g. {missing[0]}")
        return
    else:
        if not os.path.isfile(weights):
            raise UserError(f"BACKBONE.WEIGHTS={weights}: file not found; give a state_dict/.pt path, 'imagenet' or ''")
        try:
            obj = torch.load(weights, map_location="cpu", weights_only=False)
        except Exception as e:
            raise UserError(f"BACKBONE.WEIGHTS={weights}: cannot read it ({type(e).__name__})") from None
        sd = _extract_state_dict(obj, weights)
        src = weights
    own = resnet.state_dict()
    # Accept bare ResNet keys as well as whole-detector checkpoints (claran's and torchvision's).
    best: dict[str, torch.Tensor] = {}
    for prefix in ("", "backbone.body.", "backbone.", "body.", "module."):
        cand = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix) and k[len(prefix):] in own}
        if len(cand) > len(best):
            best = cand
    if not best:
        raise UserError(f"BACKBONE.WEIGHTS={src}: no parameter names match this ResNet")
    if "conv1.weight" in best and best["conv1.weight"].shape[1] != own["conv1.weight"].shape[1]:
        # e.g. RGB ImageNet weights for a 1-channel radio input: spread the mean filter over the channels
        w = best["conv1.weight"]
        cin = own["conv1.weight"].shape[1]
        best["conv1.weight"] = w.mean(1, keepdim=True).repeat(1, cin, 1, 1) * (w.shape[1] / cin)
    bad = [k for k, v in best.items() if v.shape != own[k].shape]
    if bad:
        raise UserError(f"BACKBONE.WEIGHTS={src}: {bad[0]} has shape {tuple(best[bad[0]].shape)}, the model "
                        f"needs {tuple(own[bad[0]].shape)} (check RESNET_NUM_BLOCKS, BLOCK, WIDTH_MULTIPLIER)")
    # FrozenBN/GN/None layers have no num_batches_tracked; missing BN keys are only ever that buffer.
    missing = [k for k in own if k not in best and not k.endswith("num_batches_tracked")]
    # A GN/None model takes the convs of BN weights; its norms/biases start fresh.
    if missing and resnet.norm not in ("GN", "None"):
        raise UserError(f"BACKBONE.WEIGHTS={src}: {len(missing)} backbone tensors missing, e.g. {missing[0]}")
    resnet.load_state_dict(best, strict=False)
