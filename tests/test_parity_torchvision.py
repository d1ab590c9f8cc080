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
    assert_same(claran.Predictor(model, fuse_bn=False)(image), ref, atol=1e-4)  # the same arithmetic
    assert_same(claran.Predictor(model)(image), ref, size_rtol=5e-4)  # FrozenBN folded into the convs
    if name.startswith("mask"):  # its scores do not saturate; also check the resize path (270x300 -> 320x356)
        tv.transform.min_size = (320,)
        small = np.random.default_rng(1).integers(0, 256, (270, 300, 3), dtype=np.uint8)
        with torch.inference_mode():
            ref = tv([torch.from_numpy(small).permute(2, 0, 1).float() / 255])[0]
        model = claran.from_torchvision(tv)
        assert model.cfg.PREPROC.TEST_SHORT_EDGE_SIZE == 320
        assert_same(claran.Predictor(model, fuse_bn=False)(small), ref, atol=1e-4)
        assert_same(claran.Predictor(model)(small), ref, size_rtol=5e-4)


def assert_same(out: dict, ref: dict, *, atol: float = 0.05, size_rtol: float = 0.0) -> None:
    """The same detections: each of torchvision's matches one of ours (same label, box within ``atol`` px plus
    ``size_rtol`` of its longer side, score within 1e-3). Matched, not compared in order: two detections whose
    scores tie to float32 rounding may come out in either order. Folding BN changes the last bits of every
    conv, which box decoding's exp() scales with the box: on this project's AVX2 machines a 127 px tall
    random-weight box moves by 0.051 px (docs/NOTES.md)."""
    n = len(ref["boxes"])
    assert n > 0 and len(out["boxes"]) == n
    rb, rs, rl = ref["boxes"].numpy(), ref["scores"].numpy(), ref["labels"].numpy()
    free = np.ones(n, bool)
    order = []
    for i in range(n):
        tol = atol + size_rtol * max(rb[i, 2] - rb[i, 0], rb[i, 3] - rb[i, 1])
        err = np.abs(out["boxes"] - rb[i]).max(axis=1) + np.where(free & (out["labels"] == rl[i]), 0.0, np.inf)
        j = int(np.argmin(err))
        assert err[j] <= tol, f"torchvision's detection {i} ({rl[i]}, {rb[i]}) has no match (closest: {err[j]:.3g} px)"
        assert abs(out["scores"][j] - rs[i]) <= 1e-3
        free[j] = False
        order.append(j)
    assert abs(np.asarray(order) - np.arange(n)).max() <= 2  # only near-ties change places
    if "masks" in ref:
        ref_masks = ref["masks"][:, 0].numpy() > 0.5
        assert out["masks"][order].shape == ref_masks.shape
        assert (out["masks"][order] != ref_masks).mean() < 0.002


def test_from_torchvision_rejects_other_models():
    tv = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=3)
    with pytest.raises(UserError, match="fasterrcnn_resnet50_fpn"):
        claran.from_torchvision(tv)
    with pytest.raises(UserError, match="fasterrcnn_resnet50_fpn"):
        claran.from_torchvision(torch.nn.Linear(2, 2))
