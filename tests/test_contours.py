"""RGZ's contour rule (rgz.contours): islands, peaks and the class of a detected box.

The same rule labels the simulator's cutouts and classifies the Detector's sources (``classes="contours"``).
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from rgz import RGZ_CLASSES
from rgz.contours import LabelRules, classify_boxes

YY, XX = np.mgrid[0:100, 0:100]


def blob(x: float, y: float, amp: float, sigma: float = 2.0) -> np.ndarray:
    return amp * np.exp(-((XX - x) ** 2 + (YY - y) ** 2) / (2 * sigma**2))


def sky(*parts: np.ndarray, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.0, (100, 100)) + sum(parts)


def bridge(x1: int, x2: int, y: float, amp: float) -> np.ndarray:
    return amp * np.exp(-((YY - y) ** 2) / (2 * 1.5**2)) * ((XX > x1) & (XX < x2))


def names(image: np.ndarray, boxes, **kw) -> list[str | None]:
    return [RGZ_CLASSES[c - 1] if c else None for c in classify_boxes(image, np.asarray(boxes, float), **kw)]


def test_components_and_peaks_by_rule():
    connected = sky(blob(30, 50, 60), blob(45, 50, 60), bridge(30, 45, 50, 25))
    separated = sky(blob(30, 50, 60), blob(45, 50, 60))
    triple = sky(blob(20, 50, 60), blob(50, 50, 40), blob(80, 50, 60))
    box = [[24, 44, 52, 57]]
    assert names(connected, box) == ["1C_2P"]
    assert names(separated, box) == ["2C_2P"]
    assert names(triple, [[14, 44, 87, 57]]) == ["3C_3P"]
    # a box that holds under half of an island does not own it; no island at all gives no class
    assert names(separated, [[24, 44, 28, 57]]) == [None]  # a third of the left lobe's island
    assert names(separated, [[24, 44, 33, 57]]) == ["1C_1P"]  # most of it
    assert names(separated, [[70, 70, 90, 90]]) == [None]
    assert names(separated, np.zeros((0, 4))) == []


def test_lowest_contour_decides_connection():
    # the bridge sits at 12 sigma (between contour levels 10 and 20): one island at 5 sigma with two peaks,
    # two islands at 40 sigma (where only the lobes' cores survive)
    img = sky(blob(30, 50, 80), blob(45, 50, 80), bridge(30, 45, 50, 12))
    box = [[24, 44, 52, 57]]
    assert names(img, box, rules=LabelRules(level_sigma=5)) == ["1C_2P"]
    assert names(img, box, rules=LabelRules(level_sigma=40)) == ["2C_2P"]


def test_nan_pixels_and_edges():
    img = sky(blob(3, 50, 60), blob(50, 50, 60))
    img[:, 90:] = np.nan
    assert names(img, [[0, 45, 8, 56], [44, 44, 57, 57], [88, 40, 100, 60]]) == ["1C_1P", "1C_1P", None]


def _fits(path, data: np.ndarray) -> str:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    w.wcs.crval = [150.0, 30.0]
    w.wcs.crpix = [50.5, 50.5]
    w.wcs.cdelt = [-1.8 / 3600, 1.8 / 3600]
    h = w.to_header()
    h["BMAJ"] = h["BMIN"] = 5.4 / 3600
    h["BUNIT"] = "JY/BEAM"
    fits.writeto(path, (data * 1.5e-4).astype(np.float32), h)
    return str(path)


class CentreBox:
    """Stands in for a network: one 1C_1P box over the frame's centre, whatever the image."""

    def predict_batch(self, imgs: list) -> list:
        n = imgs[0].shape[0]
        b = np.array([[0.3 * n, 0.4 * n, 0.7 * n, 0.6 * n]], np.float32)
        return [{"boxes": b, "scores": np.array([0.9], np.float32), "labels": np.array([1])} for _ in imgs]


@pytest.mark.parametrize("mode, expect", [("contours", ["1C_2P", "2C_2P"]), ("network", ["1C_1P", "1C_1P"])])
def test_detector_class_modes(tmp_path, mode, expect):
    from rgz.detector import Detector

    files = [_fits(tmp_path / "connected.fits", sky(blob(42, 50, 60), blob(57, 50, 60), bridge(42, 57, 50, 25))),
             _fits(tmp_path / "separated.fits", sky(blob(42, 50, 60), blob(57, 50, 60)))]
    det = Detector(predictor=CentreBox(), representation="phys", classes=mode)
    t = det.detect_many(files, min_score=0.1).table
    assert list(t["morphology"]) == expect
    assert list(t["n_components"]) == [int(c[0]) for c in expect]


def test_detector_rejects_unknown_mode():
    from claran.errors import UserError
    from rgz.detector import Detector

    with pytest.raises(UserError, match="classes='votes'"):
        Detector(predictor=CentreBox(), classes="votes")


def test_specks_are_judged_on_the_sky_not_by_image_width():
    """A compact source in a large mosaic keeps its island: RGZ's speck threshold is 8/301 of a 3' cutout."""
    yy, xx = np.mgrid[0:1000, 0:1000]
    img = np.random.default_rng(1).normal(0.0, 1.0, (1000, 1000))
    img += 60 * np.exp(-((xx - 500) ** 2 + (yy - 500) ** 2) / (2 * 2.0**2))
    box = [[493, 493, 508, 508]]
    assert classify_boxes(img, box) == [None]  # 8/301 of 1000 px: a 27 px diagonal would be a speck
    assert classify_boxes(img, box, pixel_scale_arcsec=1.8) == [1]  # 2.7 px on FIRST's pixels
