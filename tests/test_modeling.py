"""Detector core: every configuration trains and predicts; building blocks against references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torchvision
from torchvision.ops import box_iou

import claran
from claran.config import Config, get_preset
from claran.errors import UserError
from claran.modeling.anchors import AnchorGenerator, tensorpack_cell_anchors
from claran.modeling.backbone import ResNet, gn_groups, load_backbone_weights
from claran.modeling.box_coder import BoxCoder
from claran.modeling.mask_head import paste_masks
from claran.modeling.matcher import label_anchors, sample_proposals
from claran.ops import FrozenBatchNorm2d


def tiny_cfg(*overrides: str, classes: int = 2) -> Config:
    cfg = Config()
    get_preset("tiny")(cfg)
    names = ", ".join(f'"c{i}"' for i in range(classes))
    cfg.update_args([f"DATA.CLASS_NAMES=[{names}]", *overrides])
    return cfg.finalize()


def synthetic(seed: int = 0):
    """Two images of different sizes, the second without objects."""
    g = torch.Generator().manual_seed(seed)
    imgs = [torch.rand(3, 96, 128, generator=g) * 60, torch.rand(3, 64, 96, generator=g) * 60]
    imgs[0][:, 20:60, 30:70] += 150
    masks = torch.zeros(2, 96, 128, dtype=torch.uint8)
    masks[0, 20:60, 30:70] = 1
    masks[1, 70:90, 5:25] = 1
    targets = [
        {"boxes": torch.tensor([[30.0, 20.0, 70.0, 60.0], [5.0, 70.0, 25.0, 90.0]]), "labels": torch.tensor([1, 2]),
         "masks": masks, "is_crowd": torch.tensor([False, False])},
        {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64),
         "masks": torch.zeros(0, 64, 96, dtype=torch.uint8)},
    ]
    return imgs, targets


CONFIGS = {
    "fpn-faster": ["MODE_MASK=False"],
    "fpn-mask": [],
    "c4-faster": ["MODE_FPN=False", "MODE_MASK=False"],
    "c4-mask": ["MODE_FPN=False"],
    "cascade-mask": ["FPN.CASCADE=True"],
    "cascade-faster": ["FPN.CASCADE=True", "MODE_MASK=False"],
    "4conv1fc": ["FPN.FRCNN_HEAD_FUNC=fastrcnn_4conv1fc_head"],
    "gn-heads": ["FPN.NORM=GN", "FPN.FRCNN_HEAD_FUNC=fastrcnn_4conv1fc_gn_head",
                 "FPN.MRCNN_HEAD_FUNC=maskrcnn_up4conv_gn_head"],
    "norm-BN": ["BACKBONE.NORM=BN"],
    "norm-SyncBN": ["BACKBONE.NORM=SyncBN", "MODE_MASK=False"],
    "norm-GN": ["BACKBONE.NORM=GN", "MODE_MASK=False"],
    "norm-None": ["BACKBONE.NORM=None", "MODE_MASK=False"],
    "joint": ["FPN.PROPOSAL_MODE=Joint", "MODE_MASK=False"],
    "bottleneck-stride1x1": ["BACKBONE.BLOCK=bottleneck", "BACKBONE.STRIDE_1X1=True", "BACKBONE.FREEZE_AT=2"],
    "1-channel": ["BACKBONE.IN_CHANNELS=1", "PREPROC.PIXEL_MEAN=[100.0]", "PREPROC.PIXEL_STD=[50.0]",
                  "MODE_MASK=False"],
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_train_and_eval_every_configuration(name):
    torch.manual_seed(0)
    cfg = tiny_cfg(*CONFIGS[name])
    model = claran.build_model(cfg)
    assert model.cfg is cfg
    imgs, targets = synthetic()
    if cfg.BACKBONE.IN_CHANNELS == 1:
        imgs = [im[:1] for im in imgs]
    model.train()
    losses = model(imgs, targets)
    assert losses and all(v.dim() == 0 and torch.isfinite(v) for v in losses.values()), losses
    assert ("maskrcnn_loss" in losses) == cfg.MODE_MASK
    if cfg.FPN.CASCADE:
        assert {f"fastrcnn_box_loss_stage{k}" for k in (1, 2, 3)} <= set(losses)
    sum(losses.values()).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    model.eval()
    with torch.no_grad():
        out = model(imgs)
    assert len(out) == 2
    for det, im in zip(out, imgs):
        n = len(det["boxes"])
        assert det["boxes"].shape == (n, 4) and det["scores"].shape == (n,) and det["labels"].shape == (n,)
        assert n <= cfg.TEST.RESULTS_PER_IM
        assert det["labels"].dtype == torch.int64
        if n:
            assert det["labels"].min() >= 1 and det["labels"].max() <= cfg.DATA.NUM_CATEGORY
            assert (det["scores"] > cfg.TEST.RESULT_SCORE_THRESH).all()
            assert (det["scores"][:-1] >= det["scores"][1:]).all()
            b = det["boxes"]
            assert (b[:, 0] >= 0).all() and (b[:, 2] <= im.shape[-1]).all() and (b[:, 3] <= im.shape[-2]).all()
        if cfg.MODE_MASK:
            m = 28 if cfg.MODE_FPN else 14
            assert det["masks"].shape == (n, 1, m, m)
            assert ((det["masks"] >= 0) & (det["masks"] <= 1)).all()
        else:
            assert "masks" not in det


def test_frozen_parts_get_no_gradient():
    model = claran.build_model(tiny_cfg("BACKBONE.FREEZE_AT=2", "MODE_MASK=False"))
    body = model.backbone.body
    assert not any(p.requires_grad for p in body.conv1.parameters())
    assert not any(p.requires_grad for p in body.layer1.parameters())
    assert all(p.requires_grad for p in body.layer2.parameters())
    model = claran.build_model(tiny_cfg("BACKBONE.NORM=BN", "BACKBONE.FREEZE_AT=1", "BACKBONE.FREEZE_AFFINE=True"))
    model.train()
    assert not model.backbone.body.bn1.training  # frozen stem keeps its statistics
    assert model.backbone.body.layer1[0].bn1.training
    assert not model.backbone.body.layer1[0].bn1.weight.requires_grad


def test_tiny_mask_model_overfits_two_images_and_finds_their_objects():
    torch.manual_seed(0)
    model = claran.build_model(tiny_cfg(classes=2)).train()
    imgs, targets = [], []
    for (x1, y1, x2, y2), label, value in [((20, 30, 50, 70), 1, 220.0), ((40, 10, 84, 40), 2, 120.0)]:
        img = torch.full((3, 96, 96), 20.0)
        img[:, y1:y2, x1:x2] = value
        mask = torch.zeros(1, 96, 96, dtype=torch.uint8)
        mask[0, y1:y2, x1:x2] = 1
        imgs.append(img)
        targets.append({"boxes": torch.tensor([[x1, y1, x2, y2]], dtype=torch.float32),
                        "labels": torch.tensor([label]), "masks": mask})
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9,
                          weight_decay=1e-4)
    history = []
    for _ in range(60):
        loss = sum(model(imgs, targets).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    assert np.mean(history[-5:]) < 0.5 * np.mean(history[:3]), history
    model.eval()
    with torch.no_grad():
        out = model(imgs)
    for det, tgt in zip(out, targets):
        assert len(det["boxes"]) and det["scores"][0] > 0.5
        assert det["labels"][0] == tgt["labels"][0]
        assert box_iou(det["boxes"][:1], tgt["boxes"]).item() > 0.6, det["boxes"][:3]
        assert det["masks"][0, 0].mean() > 0.5  # a filled square: its mask covers the box


# ------------------------------------------------------------------ anchors, boxes, matching
def test_tensorpack_anchors_match_detectron_legacy():
    # Detectron's generate_anchors() docstring values (inclusive coords), made continuous with +1 on x2/y2
    legacy = np.array([[-84, -40, 99, 55], [-176, -88, 191, 103], [-360, -184, 375, 199], [-56, -56, 71, 71],
                       [-120, -120, 135, 135], [-248, -248, 263, 263], [-36, -80, 51, 95], [-80, -168, 95, 183],
                       [-168, -344, 183, 359]], dtype=np.float32)
    legacy[:, 2:] += 1
    np.testing.assert_array_equal(tensorpack_cell_anchors(16, (128, 256, 512), (0.5, 1, 2)), legacy)
    gen = AnchorGenerator(sizes=[(32,)], ratios=(1.0,), strides=[16])
    a = gen([(2, 3)], (32, 48))[0]
    centres = (a[:, :2] + a[:, 2:]) / 2
    np.testing.assert_array_equal(centres[:, 0].numpy(), [8, 24, 40, 8, 24, 40])  # (i + 0.5) * stride


def test_torchvision_anchors_match_torchvision():
    from torchvision.models.detection.anchor_utils import AnchorGenerator as TVAnchors
    from torchvision.models.detection.image_list import ImageList

    sizes = ((32,), (64,), (128,), (256,), (512,))
    tv = TVAnchors(sizes, ((0.5, 1.0, 2.0),) * 5)
    shapes = [(50, 40), (25, 20), (13, 10), (7, 5), (4, 3)]  # an 200 x 160 padded image, P2..P6
    feats = [torch.zeros(1, 1, h, w) for h, w in shapes]
    ref = tv(ImageList(torch.zeros(1, 3, 200, 160), [(200, 160)]), feats)[0]
    ours = AnchorGenerator(sizes=sizes, ratios=(0.5, 1.0, 2.0), strides=(4, 8, 16, 32, 64), style="torchvision")
    torch.testing.assert_close(torch.cat(ours(shapes, (200, 160))), ref, rtol=0, atol=0)


def test_box_coder_round_trip_and_torchvision_decode():
    from torchvision.models.detection._utils import BoxCoder as TVCoder

    g = torch.Generator().manual_seed(0)
    ref = torch.rand(50, 2, generator=g) * 100
    ref = torch.cat([ref, ref + 1 + torch.rand(50, 2, generator=g) * 80], 1)
    gt = torch.rand(50, 2, generator=g) * 100
    gt = torch.cat([gt, gt + 1 + torch.rand(50, 2, generator=g) * 80], 1)
    coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
    torch.testing.assert_close(coder.decode(coder.encode(gt, ref), ref), gt, atol=1e-3, rtol=1e-5)
    deltas = torch.randn(50, 12, generator=g) * 3  # large dw/dh exercise the clamp
    tvc = TVCoder((10.0, 10.0, 5.0, 5.0))
    torch.testing.assert_close(coder.decode(deltas, ref), tvc.decode(deltas, [ref]).reshape(50, 12))
    assert coder.decode(torch.tensor([[0.0, 0, 100, 100]]), ref[:1])[0, 2].isfinite()


def test_label_anchors_rules_and_sampling():
    torch.manual_seed(0)
    gen = AnchorGenerator(sizes=[(16,), (32,)], ratios=(0.5, 1.0, 2.0), strides=[8, 16])
    anchors = torch.cat(gen([(12, 12), (6, 6)], (96, 96)))
    gt = torch.tensor([[10.0, 10.0, 40.0, 30.0], [60.0, 50.0, 64.0, 54.0]])  # the second matches nothing well
    labels, matched = label_anchors(anchors, gt, (96, 96), batch_per_im=10000, fg_ratio=0.5)
    inside = (anchors[:, :2] >= 0).all(1) & (anchors[:, 2] <= 96) & (anchors[:, 3] <= 96)
    assert (labels[~inside] == -1).all()
    iou = box_iou(anchors, gt)
    best = iou.max(1).values
    assert (labels[inside & (best >= 0.7)] == 1).all()
    assert (labels[inside & (best < 0.3)] == 0).all()
    best_for_gt0 = iou[inside, 0].max()
    hit = inside & (iou[:, 0] == best_for_gt0)
    if best_for_gt0 >= 0.3:
        assert (labels[hit] == 1).all()
    pos = labels == 1
    torch.testing.assert_close(matched[pos], gt[iou[pos].argmax(1)])
    # subsampling: at most batch_per_im, at most half positive
    labels, _ = label_anchors(anchors, gt, (96, 96), batch_per_im=16, fg_ratio=0.25)
    assert (labels >= 0).sum() == 16 and (labels == 1).sum() <= 4
    # no gt: every inside anchor is a negative candidate
    labels, _ = label_anchors(anchors, gt[:0], (96, 96), batch_per_im=16)
    assert (labels == 1).sum() == 0 and (labels == 0).sum() == 16
    # crowd regions make overlapping anchors "ignore"
    labels, _ = label_anchors(anchors, gt[:1], (96, 96), crowd_boxes=torch.tensor([[0.0, 0, 96, 96]]),
                              crowd_thresh=0.7, batch_per_im=10000)
    assert (labels == 0).sum() == 0


def test_sample_proposals():
    torch.manual_seed(0)
    gt = torch.tensor([[10.0, 10.0, 50.0, 50.0]])
    props = torch.cat([gt + torch.randn(40, 4), torch.rand(200, 4).sort(1).values.mul(90)[:, [0, 1, 2, 3]]])
    props[:, 2:] = torch.max(props[:, 2:], props[:, :2] + 1)
    boxes, labels, gt_idx = sample_proposals(props, gt, torch.tensor([3]), batch_per_im=64, fg_ratio=0.25)
    iou = box_iou(boxes, gt)[:, 0]
    assert len(boxes) == 64 and (labels > 0).sum() == 16
    assert (labels[iou >= 0.5] == 3).all() and (labels[iou < 0.5] == 0).all()
    assert ((labels > 0).nonzero().max() < (labels == 0).nonzero().min())  # foreground first
    boxes, labels, _ = sample_proposals(props[40:], gt[:0], torch.zeros(0, dtype=torch.int64), batch_per_im=64)
    assert (labels == 0).all() and len(boxes) == 64


# ------------------------------------------------------------------ mask pasting
def _slow_accurate_paste(mask: np.ndarray, box: np.ndarray, h: int, w: int) -> np.ndarray:
    """Per-pixel reference: bilinear sample of the M x M grid stretched over the continuous box, zero outside."""
    m = mask.shape[0]
    out = np.zeros((h, w), bool)
    padded = np.pad(mask, 1)
    for y in range(h):
        for x in range(w):
            u = (x + 0.5 - box[0]) / (box[2] - box[0]) * m - 0.5 + 1  # +1: padded index
            v = (y + 0.5 - box[1]) / (box[3] - box[1]) * m - 0.5 + 1
            if not (0 <= u <= m + 1 and 0 <= v <= m + 1):
                continue
            x0, y0 = min(int(np.floor(u)), m), min(int(np.floor(v)), m)
            fx, fy = u - x0, v - y0
            val = (padded[y0, x0] * (1 - fx) * (1 - fy) + padded[y0, x0 + 1] * fx * (1 - fy)
                   + padded[y0 + 1, x0] * (1 - fx) * fy + padded[y0 + 1, x0 + 1] * fx * fy)
            out[y, x] = val > 0.5
    return out


def test_paste_masks_accurate_matches_slow_reference():
    g = torch.Generator().manual_seed(0)
    masks = torch.rand(3, 1, 7, 7, generator=g)
    boxes = torch.tensor([[3.3, 4.1, 20.7, 15.2], [-5.0, 10.0, 12.0, 40.0], [30.5, 2.5, 39.9, 30.0]])
    out = paste_masks(masks, boxes, (32, 36), style="accurate", chunk_pixels=32 * 36)  # exercises chunking
    for i in range(3):
        ref = _slow_accurate_paste(masks[i, 0].numpy().astype(np.float64), boxes[i].numpy().astype(np.float64), 32, 36)
        assert (out[i].numpy() != ref).sum() <= 2  # float32 vs float64 at the 0.5 level


def test_paste_masks_torchvision_matches_torchvision():
    from torchvision.models.detection.roi_heads import paste_masks_in_image

    g = torch.Generator().manual_seed(1)
    masks = torch.rand(20, 1, 28, 28, generator=g)
    xy = torch.rand(20, 2, generator=g) * 90 - 10
    boxes = torch.cat([xy, xy + 2 + torch.rand(20, 2, generator=g) * 60], 1)
    ref = paste_masks_in_image(masks, boxes, (80, 100))[:, 0] > 0.5
    out = paste_masks(masks, boxes, (80, 100), style="torchvision")
    assert (out != ref).float().mean() < 1e-3


# ------------------------------------------------------------------ backbone
def test_resnet_loads_torchvision_state_dict_and_matches_features(tmp_path):
    tv = torchvision.models.resnet18(weights=None).eval()
    ours = ResNet(block="basic", num_blocks=[2, 2, 2, 2], norm="FreezeBN", freeze_at=0)
    torch.save(tv.state_dict(), tmp_path / "r18.pth")
    load_backbone_weights(ours, str(tmp_path / "r18.pth"), block="basic", num_blocks=[2, 2, 2, 2])
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref = tv.layer4(tv.layer3(tv.layer2(tv.layer1(tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))))))
        torch.testing.assert_close(ours.eval()(x)[-1], ref, rtol=1e-4, atol=1e-4)
    with pytest.raises(UserError, match="BACKBONE.WEIGHTS"):
        load_backbone_weights(ours, str(tmp_path / "missing.pth"), block="basic", num_blocks=[2, 2, 2, 2])
    (tmp_path / "junk.pth").write_text("not a checkpoint")
    with pytest.raises(UserError, match="junk.pth"):
        load_backbone_weights(ours, str(tmp_path / "junk.pth"), block="basic", num_blocks=[2, 2, 2, 2])


def test_imagenet_weights_through_torchvision_weights_api(monkeypatch, tmp_path):
    sd = torchvision.models.resnet18(weights=None).state_dict()
    sd["conv1.weight"] = torch.full_like(sd["conv1.weight"], 0.125)
    enum = torchvision.models.get_model_weights("resnet18")
    calls = []

    def fake_get_state_dict(self, *args, **kwargs):  # never download in tests
        calls.append(self)
        return sd

    monkeypatch.setattr(type(enum.DEFAULT), "get_state_dict", fake_get_state_dict)
    cfg = tiny_cfg("BACKBONE.WEIGHTS=imagenet", "BACKBONE.RESNET_NUM_BLOCKS=[2, 2, 2, 2]",
                   "BACKBONE.WIDTH_MULTIPLIER=1.0", "MODE_MASK=False")
    model = claran.build_model(cfg)
    assert calls and (model.backbone.body.conv1.weight == 0.125).all()
    with pytest.raises(UserError, match="imagenet"):
        claran.build_model(tiny_cfg("BACKBONE.WEIGHTS=imagenet"))  # [1, 1, 1, 1] has no ImageNet weights
    # a checkpoint of an "imagenet" config reloads without touching the weights API
    from claran.engine.checkpoint import load_model, save_checkpoint

    calls.clear()
    save_checkpoint(tmp_path / "model-1.pt", model=model, cfg=cfg, step=1)
    loaded, _ = load_model(tmp_path / "model-1.pt")
    assert not calls and (loaded.backbone.body.conv1.weight == 0.125).all()


def test_gn_group_count_divides_channels():
    for c in (8, 16, 24, 32, 64, 96, 256, 2048):
        g = gn_groups(c)
        assert c % g == 0 and c // g >= 2 and g <= 32
    assert gn_groups(256) == 32


def test_fuse_frozen_bn_keeps_outputs():
    torch.manual_seed(0)
    model = claran.build_model(tiny_cfg("MODE_MASK=False")).eval()
    for m in model.modules():  # non-trivial frozen statistics
        if isinstance(m, FrozenBatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.uniform_(0.5, 1.5)
    x = [torch.rand(3, 64, 64) * 255]
    with torch.no_grad():
        ref = model.backbone(model.preprocess(x)[0])
        model.fuse_frozen_bn()
        out = model.backbone(model.preprocess(x)[0])
    assert not any(isinstance(m, FrozenBatchNorm2d) for m in model.modules())
    for a, b in zip(ref, out):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------ Predictor
def test_predictor_maps_back_to_input_pixels_and_batches():
    torch.manual_seed(0)
    cfg = tiny_cfg()
    model = claran.build_model(cfg)
    pred = claran.Predictor(model)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (60, 90, 3), dtype=np.uint8)  # upscaled to 128 x 192 inside
    out = pred(img)
    assert set(out) == {"boxes", "scores", "labels", "masks"}
    assert out["boxes"].dtype == np.float32 and out["masks"].dtype == bool
    assert out["masks"].shape == (len(out["boxes"]), 60, 90)
    assert (out["boxes"][:, 2] <= 90).all() and (out["boxes"][:, 3] <= 60).all()
    # the same detections as the model on the resized image, scaled by 60/128
    import cv2

    big = cv2.resize(img, (192, 128), interpolation=cv2.INTER_LINEAR)
    with torch.inference_mode():
        ref = model.eval()([torch.from_numpy(big).permute(2, 0, 1).float()])[0]
    np.testing.assert_allclose(out["boxes"], np.clip(ref["boxes"].numpy() * (60 / 128), 0, [90, 60, 90, 60]),
                               rtol=1e-5, atol=1e-3)
    other = rng.integers(0, 255, (70, 50, 3), dtype=np.uint8)  # a different size in the same batch
    batch = pred.predict_batch([other, img])
    assert len(batch) == 2 and batch[0]["masks"].shape[1:] == (70, 50) and batch[1]["masks"].shape[1:] == (60, 90)
    assert (batch[0]["boxes"][:, 2] <= 50).all() and (batch[0]["boxes"][:, 3] <= 70).all()
    batch = pred.predict_batch([img[::-1].copy(), img])  # same size: no extra padding, same result
    np.testing.assert_allclose(batch[1]["scores"], out["scores"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(batch[1]["boxes"], out["boxes"], rtol=1e-4, atol=1e-3)
    as_float = pred(img.astype(np.float32))  # float input on a 0..255 scale (cv2 resizes it without rounding)
    assert len(as_float["boxes"]) == len(out["boxes"])


def test_predictor_rejects_bad_input_with_one_line():
    pred = claran.Predictor(claran.build_model(tiny_cfg("MODE_MASK=False")))
    for bad in (np.zeros((10, 10), np.uint8), np.zeros((10, 10, 4), np.uint8), "img.png",
                np.zeros((10, 10, 3), np.int32), np.full((10, 10, 3), np.nan, np.float32)):
        with pytest.raises(UserError) as e:
            pred(bad)
        assert "\n" not in str(e.value)


def test_build_model_needs_finalized_config():
    cfg = Config()
    get_preset("tiny")(cfg)
    with pytest.raises(claran.ConfigError, match="finalize"):
        claran.build_model(cfg)
    assert math.isfinite(1.0)
