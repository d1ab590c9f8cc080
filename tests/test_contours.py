"""RGZ's contour rule (rgz.contours): islands, peaks and the class of a detected box.

The same rule labels the simulator's cutouts and classifies the Detector's sources (``classes="contours"``).
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from rgz import RGZ_CLASSES
from rgz.contours import LabelRules, assign_sources, classify_boxes, contour_extent, find_islands, source_box

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


def test_group_class_counts_the_islands_given():
    """The class of a group of islands is their number and their peaks, whatever else the image holds."""
    from rgz.contours import group_class

    img = sky(blob(20, 50, 60), blob(50, 50, 40), blob(80, 50, 60), blob(50, 85, 50))
    isl = find_islands(img, LabelRules())
    at = [int(isl.labels[50, x]) for x in (20, 50, 80)]
    assert all(at) and len(set(at)) == 3 and isl.count >= 4
    got = [RGZ_CLASSES[group_class(img, isl, ids) - 1] for ids in (at[:1], at[:2], at)]
    assert got == ["1C_1P", "2C_2P", "3C_3P"]
    assert group_class(img, isl, []) is None


def test_islands_join_diagonal_pixels_as_conrec_closes_them():
    """Two pixel groups touching only at a corner are one island when their cell's centre (the mean of its four
    pixels, CONREC's saddle) is above the level, two when it is below; 8-connectivity joins them either way."""
    from rgz.contours import label_above

    img = np.zeros((6, 6))
    img[1:3, 1:3] = img[3:5, 3:5] = 5.0  # corner to corner at the cell (2, 2)-(3, 3)
    assert label_above(img, 3.0, "eight")[1] == 1
    assert label_above(img, 1.0, "conrec")[1] == 1  # the cell's mean, (5 + 0 + 0 + 5) / 4 = 2.5, is above 1
    assert label_above(img, 3.0, "conrec")[1] == 2  # and below 3
    img[2, 3] = 2.0  # the cell's mean is now 3.0
    lab, n = label_above(img, 2.9, "conrec")
    assert n == 1 and lab[1, 1] == lab[4, 4] == 1
    assert label_above(img, 3.1, "conrec")[1] == 2
    with pytest.raises(ValueError, match="island_join"):
        LabelRules(island_join="four")


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


def test_contour_extent_follows_the_interpolated_line():
    """A Gaussian's contour at a level crosses where the Gaussian equals it, between pixel centres."""
    img = blob(50.3, 49.6, 100.0, sigma=3.0)
    level = 20.0
    r = 3.0 * np.sqrt(2 * np.log(100.0 / level))  # analytic radius of the contour
    x1, y1, x2, y2 = contour_extent(img, img >= level, level)
    # detector convention: the centre of pixel i is i + 0.5; linear interpolation is within ~0.1 px here
    np.testing.assert_allclose([x1, y1, x2, y2], [50.8 - r, 50.1 - r, 50.8 + r, 50.1 + r], atol=0.15)


def test_rgz_boxes_are_squares_at_least_one_island_diagonal_wide():
    """ClaRAN's box of a one-component source has the component's angular extent (its contour box's diagonal)
    as its side; with two components, the joint box's longer side when that is larger."""
    rules = LabelRules()
    elongated = sky(20 * np.exp(-((XX - 50) ** 2 / (2 * 6.0**2) + (YY - 50) ** 2 / (2 * 2.0**2))))
    isl = find_islands(elongated, rules)
    (k,) = range(1, isl.count + 1)
    ext = contour_extent(elongated, isl.labels == k, isl.levels[0])
    box = source_box(isl, [k], elongated.shape, image=elongated, rules=rules)
    assert box[2] - box[0] == pytest.approx(box[3] - box[1])
    assert box[2] - box[0] == pytest.approx(np.hypot(ext[2] - ext[0], ext[3] - ext[1]))
    old = source_box(isl, [k], elongated.shape, image=elongated, rules=LabelRules(box_side="longer"))
    assert old[2] - old[0] == pytest.approx(ext[2] - ext[0])
    double = sky(blob(20, 50, 60), blob(80, 50, 60))
    isl = find_islands(double, rules)
    box = source_box(isl, [1, 2], double.shape, image=double, rules=rules)
    assert box[2] - box[0] == pytest.approx(box[3] - box[1]) and 60 < box[2] - box[0] < 72


def test_one_source_per_group_of_islands():
    """A double found whole and as its two lobes is one source; a box on noise is none; two sources whose
    boxes overlap keep their own islands and are flagged blended."""
    double = sky(blob(25, 50, 60), blob(75, 50, 60))
    boxes = np.array([[18, 43, 82, 57], [18, 43, 32, 57], [68, 43, 82, 57], [40, 80, 50, 90]], float)
    srcs = assign_sources(double, boxes, np.array([0.9, 0.95, 0.5, 0.99]))
    assert [(s.index, s.n_components) for s in srcs] == [(1, 1), (0, 1)]  # the lobe first; the rest keeps one
    assert [RGZ_CLASSES[s.class_id - 1] for s in srcs] == ["1C_1P", "1C_1P"] and not any(s.blended for s in srcs)
    srcs = assign_sources(double, boxes[[0, 1, 2]], np.array([0.99, 0.5, 0.4]))  # the double wins: one row
    assert [(s.index, s.n_components, RGZ_CLASSES[s.class_id - 1]) for s in srcs] == [(0, 2, "2C_2P")]
    assert srcs[0].peak_snr > 40
    # a compact source between the lobes, found first: it keeps its island, the double its lobes, both blended
    triple = sky(blob(25, 50, 60), blob(75, 50, 60), blob(50, 52, 30))
    srcs = assign_sources(triple, np.array([[18, 43, 82, 57], [46, 48, 54, 56]], float), np.array([0.7, 0.8]))
    assert [(s.index, s.n_components) for s in srcs] == [(1, 1), (0, 2)]
    assert all(s.blended for s in srcs) and not set(srcs[0].islands) & set(srcs[1].islands)
    # a box smaller than half of its island (the core of an extended source) still finds the island
    core = assign_sources(double, np.array([[24, 49, 26, 51]], float), np.array([0.9]))
    assert len(core) == 1 and core[0].n_components == 1


def test_detector_box_modes(tmp_path):
    """Contour boxes are RGZ's squares around the source's islands; 'network' keeps the network's box."""
    from rgz.detector import Detector

    f = _fits(tmp_path / "double.fits", sky(blob(42, 50, 60), blob(57, 50, 60)))
    rows = {m: Detector(predictor=CentreBox(), representation="phys", boxes=m).detect_many([f], min_score=0.1).table
            for m in ("contours", "network")}
    c, n = rows["contours"][0], rows["network"][0]
    assert c["morphology"] == n["morphology"] == "2C_2P"
    assert c["x_max"] - c["x_min"] == pytest.approx(c["y_max"] - c["y_min"], abs=1e-3)  # square
    assert c["x_min"] < 40 < 59 < c["x_max"]  # holds both components
    assert (n["x_max"] - n["x_min"]) != pytest.approx(c["x_max"] - c["x_min"], abs=0.5)


def _two_peaks(saddle_over_level: float) -> np.ndarray:
    """Two peaks whose saddle is ``saddle_over_level`` x the second contour (9 sigma), on a +-1 checkerboard
    (the noise sigma) that is noise-free around them, so the saddle sits exactly where it is put."""
    from rgz.contours import noise_sigma

    bg = np.where((XX + YY) % 2, 1.0, -1.0)
    bg[35:65, 25:75] = 0.0
    src = blob(44, 50, 1.0, 3.0) + blob(53, 50, 1.0, 3.0)
    src /= max(src[50, 48], src[50, 49])  # the highest pixel path between the peaks crosses here
    img = bg + src
    for _ in range(3):  # the source moves the MAD a little
        img = bg + src * saddle_over_level * 9.0 * noise_sigma(img)
    return img


@pytest.mark.parametrize("saddle, marginal", [(0.99, True), (0.7, False)])
def test_marginal_class(saddle, marginal):
    """A class that a 4 % shift of the ladder changes (two peaks whose saddle is just under a contour) is
    marginal; one well clear of every contour is not."""
    from rgz.contours import marginal_classes

    img = _two_peaks(saddle)
    isl = find_islands(img)
    assert max(img[50, 48], img[50, 49]) == pytest.approx(saddle * isl.levels[1], rel=1e-4) and isl.count == 1
    srcs = assign_sources(img, np.array([[30, 40, 70, 60]], float), np.array([0.9]))
    assert [RGZ_CLASSES[s.class_id - 1] for s in srcs] == ["1C_2P"] and srcs[0].marginal is marginal
    assert marginal_classes(img, isl, [[1]], [srcs[0].class_id]) == [marginal]
    assert marginal_classes(img, isl, [[1]], [srcs[0].class_id], LabelRules(marginal_spread=0.0)) == [False]


def test_detector_scores_marginal_classes(tmp_path):
    """The catalogue flags a marginal class and scales its score by the rule's measured reliability."""
    from rgz.detector import Detector

    det = Detector(predictor=CentreBox(), representation="phys")
    rows = {s: det.detect_many([_fits(tmp_path / f"{s}.fits", _two_peaks(s))], min_score=0.1).table
            for s in (0.99, 0.7)}
    assert [(r["morphology"], bool(r["flag_class_marginal"])) for s in rows for r in rows[s]] == [
        ("1C_2P", True), ("1C_2P", False)]
    assert rows[0.99]["score"][0] == pytest.approx(0.9 * LabelRules().marginal_weight, rel=1e-5)
    assert rows[0.7]["score"][0] == pytest.approx(0.9, rel=1e-5)
    # min_score cuts the final score
    assert not len(det.detect_many([_fits(tmp_path / "m.fits", _two_peaks(0.99))], min_score=0.8).table)


def test_companion_weights_follow_rgz_separation_curve():
    """A compact source's factor is 1 - P(one source) at its nearest neighbour's distance; others, isolated ones
    and those beyond the measured range keep their score; an empty curve turns it off."""
    from rgz.companions import companion_weights

    rules = LabelRules()
    c = np.array([[0.0, 0.0], [35.0, 0.0], [500.0, 0.0], [500.0, 80.0], [1000.0, 0.0], [1000.0, 100.0]])
    w = companion_weights(c, np.array([True, False, True, True, True, True]), rules)
    assert w[0] == pytest.approx(1 - rules.companion_one_source[2])  # 35" from a source: the 35" bin
    assert w[1] == 1.0  # not compact
    assert w[2] == pytest.approx(1 - np.interp(80.0, rules.companion_arcsec, rules.companion_one_source))
    assert w[3] == w[2] and w[4] == w[5] == 1.0  # 100" apart: beyond companion_max_arcsec
    assert companion_weights(c[:1], np.array([True])).tolist() == [1.0]
    off = LabelRules(companion_arcsec=(), companion_one_source=())
    assert companion_weights(c, np.ones(6, bool), off).tolist() == [1.0] * 6
    assert LabelRules(companion_arcsec=[10, 20], companion_one_source=[0.5, 0.1]).companion_arcsec == (10.0, 20.0)
    with pytest.raises(ValueError, match="companion_arcsec"):
        LabelRules(companion_arcsec=(20.0, 10.0), companion_one_source=(0.5, 0.1))
    with pytest.raises(ValueError, match="companion_arcsec"):
        LabelRules(companion_arcsec=(10.0,), companion_one_source=(0.5, 0.1))


def test_detector_lowers_compact_sources_beside_another_and_keeps_them(tmp_path):
    """Two compact sources 30" apart are flagged possible components with their scores lowered (the factor
    comes after min_score, so both stay); a compact source 170" from any other keeps the network's score."""
    from rgz.detector import Detector
    from tests.stand_ins import IslandPredictor

    img = sky(blob(15, 15, 60), blob(15 + 30 / 1.8, 15, 60), blob(85, 85, 60))
    det = Detector(predictor=IslandPredictor(), representation="D1")
    t = det.detect_many([_fits(tmp_path / "pair.fits", img)], min_score=0.25).table
    t.sort("x_min")
    assert list(t["morphology"]) == ["1C_1P"] * 3
    assert list(t["flag_possible_component"]) == [True, True, False]
    factor = 1 - np.interp(30.0, LabelRules().companion_arcsec, LabelRules().companion_one_source)
    # the rule's box centres lie within a pixel of the blobs, so within a few per cent of the 30" factor
    assert np.allclose(t["score"], [0.9 * factor, 0.9 * factor, 0.9], rtol=0.05)
    assert t["score"][0] < 0.25  # below min_score, still in the catalogue
