"""claran.data: registry, COCO family, sanitising, transforms, loader determinism, COCOeval."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest
import torch

from claran.config import Config
from claran.data import DatasetRegistry, get_dataset_family, register_coco_json, sanitize_roidbs
from claran.data.loader import InfiniteSampler, TrainDataset, load_train_roidbs
from claran.data.transforms import TransformList, rasterize_polygons, sample_train_transform
from claran.errors import DatasetError


def _coco_cfg(root, *overrides):
    cfg = Config()
    get_dataset_family("coco")(cfg, str(root))
    cfg.update_args(["DATA.NUM_WORKERS=0", *overrides])
    return cfg


def test_coco_family_registers_splits_and_remaps_ids(tiny_coco):
    cfg = _coco_cfg(tiny_coco)
    assert cfg.DATA.TRAIN == ("coco_train2017",) and cfg.DATA.VAL == ("coco_val2017",)
    assert cfg.DATA.CLASS_NAMES == ["square", "disc", "triangle"]
    split = DatasetRegistry.get("coco_val2017")
    assert split.COCO_id_to_category_id == {2: 1, 5: 2, 9: 3}
    roidbs = split.training_roidbs()
    raw = json.loads((tiny_coco / "annotations" / "instances_val2017.json").read_text())
    assert sum(len(r["boxes"]) for r in roidbs) == len(raw["annotations"])
    first = roidbs[0]
    assert first["is_crowd"].tolist().count(1) == 1 and isinstance(first["segmentation"][-1], dict)
    ann = raw["annotations"][0]
    x, y, w, h = ann["bbox"]
    np.testing.assert_allclose(first["boxes"][0], [x, y, x + w, y + h], rtol=1e-6)
    assert first["class"][0] == split.COCO_id_to_category_id[ann["category_id"]]
    assert cfg.finalize().DATA.NUM_CATEGORY == 3


def test_unknown_family_names_the_known_ones():
    with pytest.raises(DatasetError, match="known datasets: .*coco"):
        get_dataset_family("cocoa")


def test_missing_annotations_is_one_line_error(tmp_path):
    with pytest.raises(DatasetError, match="no annotations/ folder"):
        get_dataset_family("coco")(Config(), str(tmp_path))


def test_bad_entries_are_counted_reported_once_and_skipped(tmp_path, caplog):
    roidbs = [
        {"file_name": str(tmp_path / "missing.png"), "image_id": 1, "boxes": np.zeros((1, 4), np.float32),
         "class": np.array([1]), "is_crowd": np.zeros(1)},
        {"file_name": __file__, "image_id": 2, "width": 50, "height": 40,
         "boxes": np.array([[1, 1, 10, 10], [5, 5, 5, 9], [60, 1, 70, 9], [2, 2, 8, 8], [-5, -5, 10, 10]], np.float32),
         "class": np.array([1, 1, 2, 7, 3]), "is_crowd": np.zeros(5, np.int8),
         "segmentation": [[np.zeros((3, 2))]] * 5},
    ]

    from claran.data import DatasetSplit

    with caplog.at_level(logging.WARNING, logger="claran"):
        out = sanitize_roidbs(roidbs, num_category=3, name="toy", split=DatasetSplit())
    assert len(out) == 1
    assert out[0]["class"].tolist() == [1, 3]
    np.testing.assert_allclose(out[0]["boxes"][1], [0, 0, 10, 10])  # clipped, not dropped
    assert len(out[0]["segmentation"]) == 2
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 1
    for part in ("1 images (missing file)", "1 boxes (zero or negative size)", "1 boxes (outside the image)",
                 "1 boxes (unknown category id)"):
        assert part in msgs[0]


def test_training_continues_without_missing_images(tiny_coco, tmp_path):
    root = tmp_path / "coco"
    shutil.copytree(tiny_coco, root)
    (root / "train2017" / "000001.png").unlink()
    cfg = _coco_cfg(root)
    cfg.finalize()
    items = load_train_roidbs(cfg)
    assert len(items) == 5


@pytest.mark.parametrize("k", [0, 1, 2, 3])
@pytest.mark.parametrize("vflip", [False, True])
@pytest.mark.parametrize("hflip", [False, True])
def test_transforms_move_boxes_masks_and_pixels_together(k, vflip, hflip):
    img = np.zeros((20, 30), np.uint8)
    img[3:7, 10:18] = 1  # box x 10..18, y 3..7 (continuous)
    t = TransformList(20, 30).resize(40, 60).rot90(k)
    if vflip:
        t.vflip()
    if hflip:
        t.hflip()
    out = t.apply_mask(img)
    ys, xs = np.nonzero(out)
    box = t.apply_boxes(np.array([[10, 3, 18, 7]], np.float32))[0]
    np.testing.assert_allclose(box, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    poly = np.array([[10, 3], [18, 3], [18, 7], [10, 7]], np.float32)
    mask = rasterize_polygons([t.apply_coords(poly)], t.h, t.w)
    assert mask.shape == out.shape and (mask != out).mean() < 0.05


def test_short_edge_resize_respects_max_size():
    rng = np.random.default_rng(0)
    t = sample_train_transform(100, 400, rng=rng, short_edge=(64, 64), max_size=128, flip=False, rotate90=False)
    assert (t.h, t.w) == (32, 128)


def test_loader_is_deterministic_resumable_and_rank_distinct(tiny_coco):
    cfg = _coco_cfg(tiny_coco, "PREPROC.TRAIN_SHORT_EDGE_SIZE=[48,80]", "PREPROC.MAX_SIZE=200",
                    "PREPROC.ROTATE90=True")
    cfg.finalize()
    ds = TrainDataset(load_train_roidbs(cfg), cfg)
    take = lambda s, n: [next(it) for it in [iter(s)] for _ in range(n)]  # noqa: E731
    a = take(InfiniteSampler(len(ds), seed=3), 15)
    assert a == take(InfiniteSampler(len(ds), seed=3), 15)
    assert a[9:] == take(InfiniteSampler(len(ds), seed=3, start=9), 6)  # resume continues the stream
    assert {i for i, _ in a[:6]} == set(range(6))  # a pass visits every image once
    r0 = take(InfiniteSampler(len(ds), seed=3, rank=0, world_size=2), 3)
    r1 = take(InfiniteSampler(len(ds), seed=3, rank=1, world_size=2), 3)
    assert not {i for i, _ in r0} & {i for i, _ in r1}
    s1, s2 = ds[a[0]], ds[a[0]]
    assert torch.equal(s1["image"], s2["image"]) and torch.equal(s1["target"]["boxes"], s2["target"]["boxes"])
    for key in a[:8]:
        s = ds[key]
        c, h, w = s["image"].shape
        assert c == 3 and min(h, w) in range(48, 81) and s["image"].dtype == torch.float32
        m = s["target"]["masks"]
        assert m.shape[1:] == (h, w) and m.dtype == torch.uint8
        for box, mask in zip(s["target"]["boxes"], m):  # masks follow their boxes through every transform
            ys, xs = torch.nonzero(mask, as_tuple=True)
            assert abs(xs.min() - box[0]) <= 2 and abs(ys.max() + 1 - box[3]) <= 2


def test_cocoeval_perfect_results_and_id_mapping(tiny_coco, tmp_path):
    from pycocotools import mask as mask_util

    get_dataset_family("coco")(Config(), str(tiny_coco))
    split = DatasetRegistry.get("coco_val2017")
    results = []
    for r in split.training_roidbs():
        for box, cls, crowd, seg in zip(r["boxes"], r["class"], r["is_crowd"], r["segmentation"]):
            if crowd:
                continue
            m = rasterize_polygons(seg, r["height"], r["width"])
            rle = mask_util.encode(np.asfortranarray(m))
            rle["counts"] = rle["counts"].decode()
            x1, y1, x2, y2 = box.tolist()
            results.append({"image_id": r["image_id"], "category_id": int(cls), "bbox": [x1, y1, x2 - x1, y2 - y1],
                            "score": 0.9, "segmentation": rle})
    out = tmp_path / "res.json"
    m = split.eval_inference_results(results, output=str(out))
    assert len(m) == 24
    assert m["mAP(bbox)/IoU=0.5"] == pytest.approx(1.0) and m["mAP(segm)/IoU=0.5:0.95"] > 0.9
    assert {d["category_id"] for d in json.loads(out.read_text())} <= {2, 5, 9}
    wrong = [dict(d, category_id=d["category_id"] % 3 + 1) for d in results]
    assert split.eval_inference_results(wrong)["mAP(bbox)/IoU=0.5"] < 0.5


def test_user_coco_json_registers_in_a_few_lines(tiny_coco):
    register_coco_json("shapes_val", json_file=tiny_coco / "annotations" / "instances_val2017.json",
                       image_root=tiny_coco / "val2017")
    assert DatasetRegistry.get_metadata("shapes_val", "class_names") == ["square", "disc", "triangle"]
    assert len(DatasetRegistry.get("shapes_val").inference_roidbs()) == 3
