"""Acceptance: claran.from_torchvision reproduces torchvision's R50-FPN Faster / Mask R-CNN detections."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision

import claran
from claran.errors import UserError


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (800, 800, 3), dtype=np.uint8)


@pytest.mark.parametrize("name", ["fasterrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn"])
def test_from_torchvision_gives_torchvision_detections(name, image):
    torch.manual_seed(0)
    tv = getattr(torchvision.models.detection, name)(weights=None, weights_backbone=None, num_classes=4).eval()
    with torch.inference_mode():
        ref = tv([torch.from_numpy(image).permute(2, 0, 1).float() / 255])[0]
    model = claran.from_torchvision(tv)
    cfg = model.cfg
    assert cfg.DATA.NUM_CLASS == 4 and cfg.MODE_MASK == (name.startswith("mask"))
    assert cfg.COMPAT.ANCHOR_STYLE == "torchvision" and cfg.COMPAT.ROIALIGN_ALIGNED is False
    assert_same(claran.Predictor(model)(image), ref)
    if name.startswith("mask"):  # its scores do not saturate; also check the resize path (270x300 -> 320x356)
        tv.transform.min_size = (320,)
        small = np.random.default_rng(1).integers(0, 256, (270, 300, 3), dtype=np.uint8)
        with torch.inference_mode():
            ref = tv([torch.from_numpy(small).permute(2, 0, 1).float() / 255])[0]
        model = claran.from_torchvision(tv)
        assert model.cfg.PREPROC.TEST_SHORT_EDGE_SIZE == 320
        assert_same(claran.Predictor(model)(small), ref)


def assert_same(out: dict, ref: dict) -> None:
    n = len(ref["boxes"])
    assert n > 0 and len(out["boxes"]) == n
    np.testing.assert_array_equal(out["labels"], ref["labels"].numpy())
    np.testing.assert_allclose(out["boxes"], ref["boxes"].numpy(), rtol=0, atol=0.05)
    np.testing.assert_allclose(out["scores"], ref["scores"].numpy(), rtol=0, atol=1e-3)
    if "masks" in ref:
        ref_masks = ref["masks"][:, 0].numpy() > 0.5
        assert out["masks"].shape == ref_masks.shape
        assert (out["masks"] != ref_masks).mean() < 0.002


def test_from_torchvision_rejects_other_models():
    tv = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=3)
    with pytest.raises(UserError, match="fasterrcnn_resnet50_fpn"):
        claran.from_torchvision(tv)
    with pytest.raises(UserError, match="fasterrcnn_resnet50_fpn"):
        claran.from_torchvision(torch.nn.Linear(2, 2))
