"""rgz.dataset: the rgz family (FITS layout, ClaRAN's PNG layout), caching, AP50, and training from the CLI."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from claran.config import Config, get_preset
from claran.data import DatasetRegistry, get_dataset_family
from claran.errors import DatasetError
from rgz import RGZ_CLASSES
from rgz.coords import astropy_to_detector
from rgz.dataset import after_overrides, coco_bbox_metrics, evaluate_ap50, voc_ap
from rgz.fits_io import read_radio
from rgz.frame import FrameSpec, frame_wcs, to_frame, transform_boxes
from rgz.render import REPRESENTATIONS

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _synthetic_folder(root: Path, n: int = 6, *, with_ir: bool = False) -> Path:
    """FIRST-like 100 x 100 cutouts (1.8"/px, SIN) with one Gaussian source each and its box."""
    rng = np.random.default_rng(0)
    (root / "radio").mkdir(parents=True)
    if with_ir:
        (root / "ir").mkdir()
    images, anns = [], []
    for i in range(n):
        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---SIN", "DEC--SIN"]
        w.wcs.crval = [150.0 + i, 20.0]
        w.wcs.crpix = [50.5, 50.5]
        w.wcs.cdelt = [-0.0005, 0.0005]
        yy, xx = np.mgrid[0:100, 0:100]
        cx, cy, s = 40.0 + 3 * i, 55.0 - 2 * i, 2.0 + i
        data = rng.normal(0, 1.5e-4, (100, 100)) + 0.02 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s * s))
        h = w.to_header()
        h["BUNIT"], h["BMAJ"], h["BMIN"] = "JY/BEAM", 0.0015, 0.0015
        fits.PrimaryHDU(data.astype(np.float32), h).writeto(root / "radio" / f"s{i}.fits")
        img = {"id": i + 1, "file_name": f"radio/s{i}.fits", "width": 100, "height": 100}
        if i < 2:
            img["split"] = "val"
        if with_ir:
            fits.PrimaryHDU(rng.normal(3, 0.1, (100, 100)).astype(np.float32), w.to_header()).writeto(
                root / "ir" / f"s{i}.fits")
            img["ir_file"] = f"ir/s{i}.fits"
        images.append(img)
        r = 3 * s  # box in detector coordinates of the file: centre cx + 0.5
        anns.append({"id": i + 1, "image_id": i + 1, "category_id": 1 + i % 6,
                     "bbox": [cx + 0.5 - r, cy + 0.5 - r, 2 * r, 2 * r], "area": 4 * r * r, "iscrowd": 0})
    (root / "annotations.json").write_text(json.dumps({
        "images": images, "annotations": anns,
        "categories": [{"id": k + 1, "name": c} for k, c in enumerate(RGZ_CLASSES)]}))
    return root


def _setup(root: Path, overrides: tuple[str, ...] = ()) -> Config:
    cfg = Config()
    get_dataset_family("rgz")(cfg, str(root))
    cfg.update_args(overrides)
    after_overrides(cfg, overrides)
    return cfg


def test_setup_splits_config_and_frame_boxes(tmp_path):
    root = _synthetic_folder(tmp_path / "d")
    cfg = _setup(root)
    assert cfg.DATA.TRAIN == ("rgz_train",) and cfg.DATA.VAL == ("rgz_val",)
    assert list(cfg.DATA.CLASS_NAMES) == list(RGZ_CLASSES)
    assert cfg.BACKBONE.IN_CHANNELS == 3 and cfg.PREPROC.TEST_SHORT_EDGE_SIZE == 600 and not cfg.MODE_MASK
    cfg.finalize()
    val = DatasetRegistry.get("rgz_val")
    train = DatasetRegistry.get("rgz_train")
    assert len(val.inference_roidbs()) == 2 and len(train.inference_roidbs()) == 4
    for r in train.training_roidbs():
        im = read_radio(r["file_name"])
        ann = json.loads((root / "annotations.json").read_text())["annotations"][r["image_id"] - 1]
        x, y, w, h = ann["bbox"]
        expect = transform_boxes(np.array([[x, y, x + w, y + h]]), im.wcs, frame_wcs(im.center, FrameSpec()))
        assert r["boxes"] == pytest.approx(expect.astype(np.float32), abs=1e-3)
        # the box is centred on the source in the rendered frame: the peak pixel lies at the box centre
        img = train.load_image(r)
        assert img.shape == (132, 132, 3)
        py, px = np.unravel_index(np.argmax(img[..., 0]), img.shape[:2])
        bx, by = (r["boxes"][0, 0] + r["boxes"][0, 2]) / 2, (r["boxes"][0, 1] + r["boxes"][0, 3]) / 2
        assert abs(px + 0.5 - bx) <= 1.0 and abs(py + 0.5 - by) <= 1.0
    assert len(list((root / ".cache").glob("*.npy"))) == 4
    # a second read comes from the cache and equals the rendering (float16 storage)
    r = train.training_roidbs()[0]
    assert np.allclose(train.load_image(r), train.load_image(r)) and train.load_image(r).dtype == np.float32
    # evaluation on frame pixels: the ground truth itself scores 1
    res = [{"image_id": r["image_id"], "category_id": int(c), "score": 1.0,
            "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]}
           for r in val.training_roidbs() for b, c in zip(r["boxes"], r["class"])]
    m = val.eval_inference_results(res, output=str(tmp_path / "dets.json"))
    assert m["mAP50"] == 1.0 and m["mAP(bbox)/IoU=0.5"] == pytest.approx(1.0)
    assert json.loads((tmp_path / "dets.json").read_text()) == res


@pytest.mark.parametrize("rep", list(REPRESENTATIONS))
def test_representations_and_overrides(tmp_path, rep):
    root = _synthetic_folder(tmp_path / "d", n=3, with_ir=True)
    cfg = _setup(root, (f"RGZ.REPRESENTATION={rep}", "RGZ.INPUT_SIZE=264"))
    assert cfg.BACKBONE.IN_CHANNELS == REPRESENTATIONS[rep] == len(cfg.PREPROC.PIXEL_MEAN)
    assert cfg.PREPROC.TRAIN_SHORT_EDGE_SIZE == [264, 264]
    cfg.finalize()
    split = DatasetRegistry.get("rgz_train")
    img = split.load_image(split.training_roidbs()[0])
    assert img.shape == (132, 132, REPRESENTATIONS[rep]) and np.isfinite(img).all()


def test_bad_folders(tmp_path):
    with pytest.raises(DatasetError, match="--data DIR is required"):
        get_dataset_family("rgz")(Config(), None)
    with pytest.raises(DatasetError, match="no such folder"):
        _setup(tmp_path / "missing")
    (tmp_path / "e").mkdir()
    with pytest.raises(DatasetError, match="neither annotations.json"):
        _setup(tmp_path / "e")
    (tmp_path / "e" / "annotations.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not a COCO annotation file"):
        _setup(tmp_path / "e")
    root = _synthetic_folder(tmp_path / "c", n=2)
    d = json.loads((root / "annotations.json").read_text())
    d["categories"][0]["name"] = "cat"
    (root / "annotations.json").write_text(json.dumps(d))
    with pytest.raises(DatasetError, match="RGZ's id 1 is '1C_1P'"):
        _setup(root)


def test_png_layout(tmp_path):
    """ClaRAN v0.2: annotations/instances_<split>.json + <split>/*.png, used as rendered."""
    root = tmp_path / "png"
    for split in ("trainD1new", "testD1new"):
        (root / split).mkdir(parents=True)
        cv2.imwrite(str(root / split / "a.png"), np.full((132, 132, 3), 80, np.uint8))
    (root / "annotations").mkdir()
    for split in ("trainD1new", "testD1new"):
        (root / "annotations" / f"instances_{split}.json").write_text(json.dumps({
            "images": [{"id": 1, "file_name": "a.png", "width": 132, "height": 132}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 2, "bbox": [50, 50, 20, 20], "area": 400,
                             "iscrowd": 0}],
            "categories": [{"id": k + 1, "name": c} for k, c in enumerate(RGZ_CLASSES)]}))
    cfg = _setup(root)
    assert cfg.DATA.TRAIN == ("rgz_trainD1new",) and cfg.DATA.VAL == ("rgz_testD1new",)
    cfg.finalize()
    s = DatasetRegistry.get("rgz_trainD1new")
    r = s.training_roidbs()[0]
    assert r["boxes"].tolist() == [[50, 50, 70, 70]] and r["class"].tolist() == [2]
    assert s.load_image(r).shape == (132, 132, 3)


def test_voc_ap50():
    gt = {1: (np.array([[0, 0, 10, 10], [20, 20, 40, 40]], np.float32), np.array([1, 2])),
          2: (np.array([[5, 5, 15, 15]], np.float32), np.array([1]))}
    perfect = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
               {"image_id": 1, "category_id": 2, "bbox": [20, 20, 20, 20], "score": 0.8},
               {"image_id": 2, "category_id": 1, "bbox": [5, 5, 10, 10], "score": 0.7}]
    m = evaluate_ap50(gt, perfect, RGZ_CLASSES)
    assert m["mAP50"] == 1.0 and set(m) == {"AP50/1C_1P", "AP50/1C_2P", "mAP50"}
    # a high-scoring false positive before the true ones, a duplicate, a wrong class
    worse = [{"image_id": 2, "category_id": 1, "bbox": [60, 60, 10, 10], "score": 0.99},
             {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
             {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.85},
             {"image_id": 2, "category_id": 2, "bbox": [5, 5, 10, 10], "score": 0.7}]
    m = evaluate_ap50(gt, worse, RGZ_CLASSES)
    assert m["AP50/1C_1P"] == pytest.approx(0.25) and m["AP50/1C_2P"] == 0.0
    assert voc_ap(np.array([0.5, 1.0]), np.array([1.0, 0.5])) == pytest.approx(0.75)
    assert coco_bbox_metrics(gt, perfect, 132)["mAP(bbox)/IoU=0.5"] == pytest.approx(1.0)
    assert coco_bbox_metrics(gt, [], 132)["mAP(bbox)/IoU=0.5:0.95"] == 0.0


def test_rgz_preset():
    cfg = Config()
    get_preset("rgz")(cfg)
    assert cfg.PREPROC.ROTATE90 and not cfg.MODE_MASK and cfg.RGZ.FRAME_SIZE == 132
    assert cfg.BACKBONE.IN_CHANNELS == 3 and list(cfg.DATA.CLASS_NAMES) == list(RGZ_CLASSES)
    cfg.finalize()


def test_train_from_cli_on_real_cutouts(tmp_path):
    """`claran data rgz` on real cutouts, then `claran train --dataset rgz` for a few steps; checkpoint knows rgz."""
    import torch

    from cli.main import main
    from tests.test_rgz_builder import write_label_subset

    cat, boxes, _ = write_label_subset(tmp_path)
    out = tmp_path / "rgz"
    main(["data", "rgz", "--catalogue", str(cat), "--boxes", str(boxes),
          "--images", str(SHARED / "rgz-real-dev" / "fits"), "--out", str(out)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main(["train", "--dataset", "rgz", "--data", str(out), "--preset", "tiny",
              "--logdir", str(tmp_path / "log"), "--no-progress", "--config", "TRAIN.MAX_STEPS=2",
              "DATA.NUM_WORKERS=0", "TRAIN.STEPS_PER_EPOCH=2", "TRAIN.CHECKPOINT_PERIOD=1", "TRAIN.EVAL_PERIOD=0",
              "TRAIN.LOG_PERIOD=1"])
    ck = torch.load(tmp_path / "log" / "model-2.pt", weights_only=False)
    assert ck["extra"]["rgz"]["representation"] == "D1" and ck["extra"]["rgz"]["frame_size"] == 132
    assert ck["class_names"][1:] == list(RGZ_CLASSES)
    lines = (tmp_path / "log" / "metrics.jsonl").read_text().splitlines()
    assert np.isfinite(json.loads(lines[-1])["total_loss"])


def test_frame_of_real_cutout_boxes(tmp_path):
    """A real cutout's truth boxes land in the frame on the same sky position (and inside it)."""
    dev = SHARED / "rgz-real-dev"
    if not dev.exists():
        pytest.skip("../shared/data absent")
    truth = json.loads((dev / "truth.json").read_text())
    fn, t = next(iter(truth.items()))
    im = read_radio(dev / "fits" / fn)
    fr = to_frame(im)
    b = transform_boxes(astropy_to_detector(np.asarray(t["objects"][0]["box"]))[None], im.wcs, fr.wcs)
    assert (b >= 0).all() and (b <= 132).all()


def test_checkpoint_records_whether_the_model_saw_infrared(tmp_path):
    """phys models record uses_ir from their training images (the Detector then knows whether --ir feeds the
    network or only adds host positions); D1 never uses it."""
    radio, both = _synthetic_folder(tmp_path / "r"), _synthetic_folder(tmp_path / "ri", with_ir=True)
    phys = ("RGZ.REPRESENTATION='phys'",)
    for root, overrides, want in ((both, (), False), (radio, phys, False), (both, phys, True)):
        _setup(root, overrides)
        extra = DatasetRegistry.get_metadata("rgz_train", "checkpoint_extra")()
        assert extra["rgz"]["uses_ir"] is want, (root.name, overrides)
