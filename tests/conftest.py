"""Shared fixtures: a tiny COCO-format dataset of shapes with polygon masks, written into tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tiny test models spend their time in thread hand-offs, not arithmetic: one intra-op thread is several
    times faster on a 2-core machine (tests/test_modeling.py: 107 s -> 12 s under load)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# non-contiguous category ids on purpose: training remaps them to 1..3 and evaluation maps them back
TINY_CATEGORIES = [{"id": 2, "name": "square"}, {"id": 5, "name": "disc"}, {"id": 9, "name": "triangle"}]


def _shape_polygon(kind: str, cx: float, cy: float, r: float) -> np.ndarray:
    if kind == "square":
        return np.array([[cx - r, cy - r], [cx + r, cy - r], [cx + r, cy + r], [cx - r, cy + r]])
    if kind == "disc":
        a = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        return np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], 1)
    return np.array([[cx, cy - r], [cx + r, cy + r], [cx - r, cy + r]])


def write_tiny_coco(root: Path, *, n_train: int = 6, n_val: int = 3, size: tuple[int, int] = (72, 96),
                    seed: int = 0, rle_crowd: bool = True) -> Path:
    """COCO layout under ``root``: annotations/instances_{train,val}2017.json, train2017/, val2017/ PNGs.

    Each image holds 1-3 bright shapes on a noisy background; every annotation has a polygon mask. The
    first val image also carries a crowd annotation stored as RLE.
    """
    from pycocotools import mask as mask_util

    rng = np.random.default_rng(seed)
    h, w = size
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    ann_id = 1
    for split, n in (("train2017", n_train), ("val2017", n_val)):
        (root / split).mkdir(exist_ok=True)
        images, anns = [], []
        for i in range(n):
            img = rng.integers(0, 40, (h, w, 3), dtype=np.uint8)
            img_id = 100 * (split == "val2017") + i + 1
            for _ in range(int(rng.integers(1, 4))):
                cat = TINY_CATEGORIES[int(rng.integers(3))]
                r = float(rng.uniform(8, 16))
                cx, cy = float(rng.uniform(r + 1, w - r - 1)), float(rng.uniform(r + 1, h - r - 1))
                poly = _shape_polygon(cat["name"], cx, cy, r)
                color = {"square": (220, 60, 60), "disc": (60, 220, 60), "triangle": (60, 60, 220)}[cat["name"]]
                cv2.fillPoly(img, [np.round(poly).astype(np.int32)], color)
                x1, y1 = poly.min(0)
                x2, y2 = poly.max(0)
                anns.append({"id": ann_id, "image_id": img_id, "category_id": cat["id"], "iscrowd": 0,
                             "bbox": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
                             "area": float((x2 - x1) * (y2 - y1)), "segmentation": [poly.reshape(-1).tolist()]})
                ann_id += 1
            if rle_crowd and split == "val2017" and i == 0:
                m = np.zeros((h, w), np.uint8, order="F")
                m[2:10, 2:20] = 1
                rle = mask_util.encode(np.asfortranarray(m))
                anns.append({"id": ann_id, "image_id": img_id, "category_id": 2, "iscrowd": 1,
                             "bbox": [2.0, 2.0, 18.0, 8.0], "area": 144.0,
                             "segmentation": {"size": [h, w], "counts": rle["counts"].decode()}})
                ann_id += 1
            name = f"{img_id:06d}.png"
            cv2.imwrite(str(root / split / name), img[:, :, ::-1])
            images.append({"id": img_id, "file_name": name, "width": w, "height": h})
        doc = {"images": images, "annotations": anns, "categories": TINY_CATEGORIES}
        (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(doc))
    return root


@pytest.fixture(scope="session")
def tiny_coco(tmp_path_factory) -> Path:
    """A tiny COCO dataset shared by a test session (read-only: copy it before changing it)."""
    return write_tiny_coco(tmp_path_factory.mktemp("tiny_coco"))


@pytest.fixture
def shared_data() -> Path:
    d = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not d.is_dir():
        pytest.skip("../shared/data is not present")
    return d


@pytest.fixture
def fake_model(monkeypatch):
    """``Detector.load`` returns a Detector driven by tests/stand_ins.IslandPredictor; yields the class."""
    from rgz.detector import Detector
    from tests.stand_ins import island_load

    monkeypatch.setattr(Detector, "load", classmethod(island_load))
    return Detector
