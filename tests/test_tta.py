"""Test-time augmentation (rgz.tta): views, boxes back to the frame, fusion, and the Detector's --tta path."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from rgz.tta import VIEWS, boxes_to_original, fuse, view


def _bbox(mask: np.ndarray) -> list[float]:
    r, c = np.nonzero(mask)
    return [c.min(), r.min(), c.max() + 1.0, r.max() + 1.0]


def test_eight_distinct_views_and_their_boxes_map_back():
    x = np.zeros((20, 20, 2))
    x[3:7, 10:17] = 1  # rows 3-6, columns 10-16: box (10, 3, 17, 7)
    x[3, 10] = 2  # a marker that makes every view different
    seen = set()
    for k, flip in VIEWS:
        v = view(x, k, flip)
        seen.add(v[..., 0].tobytes())
        assert boxes_to_original(np.array([_bbox(v[..., 0] > 0)]), k, flip, 20).tolist() == [[10, 3, 17, 7]]
    assert len(seen) == 8


def test_fuse_averages_over_views_and_counts_misses():
    a = {"boxes": [[10, 10, 20, 20]], "scores": [0.8], "labels": [2]}
    b = {"boxes": [[11, 10, 21, 20]], "scores": [0.4], "labels": [3]}
    none = {"boxes": np.zeros((0, 4)), "scores": [], "labels": []}
    far = {"boxes": [[50, 50, 60, 60]], "scores": [0.9], "labels": [1]}
    out = fuse([a, b, none, far])
    order = np.argsort(-out["scores"])
    assert out["scores"][order].tolist() == pytest.approx([(0.8 + 0.4) / 4, 0.9 / 4])
    assert out["labels"][order].tolist() == [2, 1]  # the class of the cluster's best member
    assert out["boxes"][order[0]].tolist() == pytest.approx([10 + 0.4 / 1.2, 10, 20 + 0.4 / 1.2, 20])
    assert len(fuse([none, none])["boxes"]) == 0


class BrightIslands:
    """Stands in for a network: one box per bright island of channel 0 (the same in any orientation)."""

    def predict_batch(self, imgs: list) -> list:
        out = []
        for x in imgs:
            lab, _ = ndimage.label(x[..., 0] >= 0.6 * x[..., 0].max())
            b = np.array([[s[1].start, s[0].start, s[1].stop, s[0].stop] for s in ndimage.find_objects(lab)],
                         np.float32).reshape(-1, 4)
            out.append({"boxes": b, "scores": np.full(len(b), 0.9, np.float32), "labels": np.ones(len(b), np.int64)})
        return out


def test_detector_tta_finds_the_same_sources(tmp_path):
    from rgz.detector import Detector
    from tests.test_contours import _fits, blob, bridge, sky

    f = _fits(tmp_path / "double.fits", sky(blob(42, 50, 60), blob(57, 50, 60), bridge(42, 57, 50, 25), blob(70, 20, 40)))
    plain = Detector(predictor=BrightIslands(), representation="phys").detect_many([f], min_score=0.1).table
    tta = Detector(predictor=BrightIslands(), representation="phys", tta=True).detect_many([f], min_score=0.1).table
    assert len(plain) == len(tta) == 2
    assert list(tta["morphology"]) == list(plain["morphology"])
    for c in ("x_min", "y_min", "x_max", "y_max"):
        assert np.allclose(tta[c], plain[c], atol=0.05)
    # 0.9 from the stand-in, the same with and without TTA; the compact source beside the double also gets its
    # possible-component factor (rgz.companions), the double does not
    assert np.allclose(tta["score"], plain["score"], atol=1e-4)
    compact = np.asarray(plain["morphology"]) == "1C_1P"
    assert list(plain["flag_possible_component"]) == compact.tolist() and compact.sum() == 1
    assert np.allclose(plain["score"][~compact], 0.9) and plain["score"][compact][0] < 0.9
