"""claran.modeling.backbones: the registry, its output-shape contract, and the C4 / FPN builders reading only it."""

from __future__ import annotations

import pytest
import torch

from claran.config import Config, ConfigError
from claran.modeling import build_model
from claran.modeling.backbone import ResNet
from claran.modeling.backbones import ShapeSpec, backbone_names, build_backbone, register_backbone

TINY = ["BACKBONE.WIDTH_MULTIPLIER=0.25", "PREPROC.TEST_SHORT_EDGE_SIZE=64", "PREPROC.MAX_SIZE=64",
        "DATA.CLASS_NAMES=['a','b']", "MODE_MASK=False", "FPN.NUM_CHANNEL=32"]


def _cfg(*keys: str) -> Config:
    cfg = Config()
    cfg.update_args([*TINY, *keys])
    return cfg.finalize()


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_resnet_contract():
    body = build_backbone(_cfg("BACKBONE.BLOCK=basic", "BACKBONE.RESNET_NUM_BLOCKS=[1,1,1,1]"))
    assert body.output_shape() == {"res2": ShapeSpec(16, 4), "res3": ShapeSpec(32, 8), "res4": ShapeSpec(64, 16),
                                   "res5": ShapeSpec(128, 32)}
    feats = body(torch.zeros(1, 3, 64, 64))
    assert [f.shape[1] for f in feats] == [16, 32, 64, 128] and [64 // f.shape[-1] for f in feats] == [4, 8, 16, 32]


@pytest.mark.parametrize("fpn", [True, False])
def test_resnet18_name_is_the_resnet18_config(fpn):
    """BACKBONE.NAME=resnet18 (one new file + one registry line) builds exactly BLOCK=basic, RESNET_NUM_BLOCKS=[2,2,2,2]."""
    assert "resnet18" in backbone_names()
    torch.manual_seed(0)
    a = build_model(_cfg(f"MODE_FPN={fpn}", "BACKBONE.NAME=resnet18"), load_backbone=False)
    torch.manual_seed(0)
    b = build_model(_cfg(f"MODE_FPN={fpn}", "BACKBONE.BLOCK=basic", "BACKBONE.RESNET_NUM_BLOCKS=[2,2,2,2]"),
                    load_backbone=False)
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert "backbone.body.layer1.1.conv2.weight" in wa if fpn else "backbone.layer3.1.conv2.weight" in wa


def test_unknown_name_and_broken_contract(monkeypatch):
    with pytest.raises(ConfigError, match="BACKBONE.NAME='vgg'.*resnet18"):
        build_model(_cfg("BACKBONE.NAME=vgg"))

    class Strided(ResNet):  # claims strides the detector cannot use
        def output_shape(self):
            return {k: ShapeSpec(s.channels, s.stride * 2) for k, s in super().output_shape().items()}

    from claran.modeling import backbones

    monkeypatch.setattr(backbones, "_REGISTRY", dict(backbones._REGISTRY))
    register_backbone("strided", lambda cfg, load_weights: Strided(width_multiplier=0.25))
    with pytest.raises(ConfigError, match="backbone 'strided' gives"):
        build_model(_cfg("BACKBONE.NAME=strided"))


def test_a_plugin_backbone_drives_both_builders(monkeypatch):
    """A registered body that is not claran's ResNet: FPN and C4 size themselves from its output_shape."""
    from torch import nn

    from claran.modeling import backbones

    class Tiny(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            chans = (8, 12, 20, 24)
            self.stages = nn.ModuleList(nn.Conv2d(cin, cout, 3, stride=s, padding=1) for cin, cout, s in
                                        zip((3, *chans[:3]), chans, (4, 2, 2, 2)))
            self.chans = chans

        def output_shape(self):
            return {f"res{i + 2}": ShapeSpec(c, 4 * 2**i) for i, c in enumerate(self.chans)}

        def pop_res5(self):
            res5 = self.stages[3]
            self.stages = self.stages[:3]
            return res5

        def forward(self, x):
            out = []
            for s in self.stages:
                x = s(x)
                out.append(x)
            return out

    monkeypatch.setattr(backbones, "_REGISTRY", dict(backbones._REGISTRY))
    register_backbone("tiny", lambda cfg, load_weights: Tiny())
    for fpn in (True, False):
        model = build_model(_cfg("BACKBONE.NAME=tiny", f"MODE_FPN={fpn}", "RPN.HEAD_DIM=16")).eval()
        with torch.no_grad():
            out = model([torch.rand(3, 64, 64) * 255])
        assert out[0]["boxes"].shape[1] == 4
    assert model.roi_heads.box_head.out_channels == 24  # C4's box head runs the plug-in's res5
