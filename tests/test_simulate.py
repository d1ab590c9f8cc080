"""The simulated sky: determinism, RGZ layout + WCS + beam keywords, labels consistent with the pixels, CLI."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from cli.main import main
from rgz.coords import detector_to_astropy
from rgz.simulate import (
    LabelRules,
    SimConfig,
    class_id,
    count_peaks,
    find_islands,
    simulate_field,
    source_box,
    write_dataset,
)

pytestmark = pytest.mark.filterwarnings("ignore:The WCS transformation has more axes")  # as real FIRST

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    write_dataset(out, count=24, seed=7, ir=True)
    return out, json.loads((out / "annotations.json").read_text())


def test_deterministic_per_seed(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write_dataset(a, count=4, seed=5)
    write_dataset(b, count=4, seed=5, workers=2)
    write_dataset(c, count=4, seed=6)
    ja, jb = json.loads((a / "annotations.json").read_text()), json.loads((b / "annotations.json").read_text())
    assert ja["annotations"] == jb["annotations"]
    for f in sorted((a / "radio").glob("*.fits")):
        np.testing.assert_array_equal(fits.getdata(f), fits.getdata(b / "radio" / f.name))
    assert not np.array_equal(fits.getdata(a / "radio" / "sim5_000000.fits"),
                              fits.getdata(c / "radio" / "sim6_000000.fits"))


def test_layout_wcs_and_beam(dataset):
    out, coco = dataset
    assert [c["name"] for c in coco["categories"]] == ["1C_1P", "1C_2P", "1C_3P", "2C_2P", "2C_3P", "3C_3P"]
    assert len(coco["images"]) == 24
    for im in coco["images"]:
        h = fits.getheader(out / im["file_name"])
        assert h["BUNIT"] == "JY/BEAM" and h["CTYPE3"] == "FREQ" and h["CRVAL3"] > 1e9
        assert 4.9 / 3600 < h["BMIN"] <= h["BMAJ"] < 7.5 / 3600  # FIRST beam by declination, +-3% jitter
        w = WCS(h).celestial
        assert w.wcs.ctype[0] == "RA---SIN"
        # north up, east left, 1.8"/px, cutout centre at (ra, dec)
        assert w.wcs.cdelt[0] == pytest.approx(-0.0005) and w.wcs.cdelt[1] == pytest.approx(0.0005)
        c = w.pixel_to_world(49.5, 49.5)
        assert c.ra.deg == pytest.approx(im["ra"]) and c.dec.deg == pytest.approx(im["dec"])
        ir = fits.getheader(out / im["ir_file"])
        assert ir["BUNIT"] == "DN" and abs(ir["CDELT2"] * 3600 - 1.375) < 1e-6
        d = fits.getdata(out / im["ir_file"])
        assert 2.5 < np.median(d) < 3.5
    # a box's sky position round-trips through the WCS
    a = coco["annotations"][0]
    im = coco["images"][a["image_id"] - 1]
    w = WCS(fits.getheader(out / im["file_name"])).celestial
    x, y, bw, bh = a["bbox"]
    cx, cy = detector_to_astropy(np.array([x + bw / 2, y + bh / 2]))
    sky = w.pixel_to_world(cx, cy)
    back = np.array(w.world_to_pixel(sky))
    np.testing.assert_allclose(back, [cx, cy], atol=1e-6)


def test_labels_match_written_pixels(dataset):
    out, coco = dataset
    rules = LabelRules()
    by_image = {}
    for a in coco["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    assert len(by_image) == 24 and all(sum(a["target"] for a in v) == 1 for v in by_image.values())
    for im in coco["images"]:
        data = fits.getdata(out / im["file_name"]).astype(np.float64)
        isl = find_islands(data, rules)
        for a in by_image[im["id"]]:
            ids = sorted({int(isl.labels[int(py), int(px)]) for px, py in a["component_peaks"]})
            assert 0 not in ids and len(ids) == a["n_components"]
            n_p = count_peaks(data, np.isin(isl.labels, ids), isl.levels)
            assert class_id(len(ids), n_p) == a["category_id"] and min(n_p, 3) == a["n_peaks"]
            # the box holds every component pixel's centre (the contour runs between pixel centres) and is
            # RGZ's square around their contours, at least one island's contour-box diagonal wide
            x, y, w, h = a["bbox"]
            ys, xs = np.nonzero(np.isin(isl.labels, ids))
            assert xs.min() + 0.5 >= x - 1e-6 and xs.max() + 0.5 <= x + w + 1e-6
            assert ys.min() + 0.5 >= y - 1e-6 and ys.max() + 0.5 <= y + h + 1e-6
            box = source_box(isl, ids, data.shape, image=data, rules=rules)
            np.testing.assert_allclose([x, y, x + w, y + h], box, atol=1e-4)
            if 0 < x and x + w < data.shape[1] and 0 < y and y + h < data.shape[0]:  # not clipped by the edge
                diag = max(np.hypot(*(np.ptp(np.nonzero(isl.labels == i), axis=1))) for i in ids)
                assert w == pytest.approx(h, abs=1e-4) and w >= diag - 1e-6
        t = next(a for a in by_image[im["id"]] if a["target"])
        x, y, w, h = t["bbox"]
        assert x - 2 <= 50 <= x + w + 2 and y - 2 <= 50 <= y + h + 2  # the target sits at the centre


def test_class_mix_and_noise():
    rng = np.random.default_rng(11)
    cfg = SimConfig(size=64)
    fields = [simulate_field(rng, cfg) for _ in range(90)]
    cls = Counter(f.labels[0]["category_id"] for f in fields)
    assert set(cls) == {1, 2, 3, 4, 5, 6}
    assert 0.3 < cls[1] / 90 < 0.62  # DR1: 45% 1C_1P
    rms = np.array([f.rms for f in fields])
    assert rms.min() >= 0.11e-3 and rms.max() <= 0.35e-3 and 0.13e-3 < np.median(rms) < 0.2e-3
    for f in fields[:10]:  # the measured noise of the image agrees with what was put in
        d = f.image[np.isfinite(f.image)]
        mad = np.median(np.abs(d - np.median(d))) / 0.6745
        assert 0.8 * f.rms < mad < 1.5 * f.rms


def test_real_backgrounds(tmp_path):
    mb = DATA / "mirabest-sample"
    if not mb.is_dir():
        pytest.skip("../shared/data/mirabest-sample not present")
    from rgz.simulate import RealBackgrounds

    names = sorted(p.name for p in mb.glob("*.fits"))
    bg = RealBackgrounds(mb, exclude=frozenset(names[8:]))
    assert len(bg) == 8
    rng = np.random.default_rng(0)
    f = simulate_field(rng, SimConfig(real_background_fraction=1.0), bg)
    assert f.real_background and 0.1e-3 < f.rms < 0.3e-3


def test_cli(tmp_path, capsys):
    out = tmp_path / "o"
    main(["simulate", "--count", "3", "--seed", "2", "--size", "64", str(out)])
    assert len(list((out / "radio").glob("*.fits"))) == 3 and (out / "annotations.json").exists()
    assert "wrote 3 cutouts" in capsys.readouterr().out
    for argv, msg in ((["simulate", "--count", "2", str(out)], "not empty; use --overwrite"),
                      (["simulate", "--count", "0", str(tmp_path / "z")], "--count"),
                      (["simulate", "--count", "1", "--size", "8", str(tmp_path / "z")], "--size")):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code != 0
        assert msg in capsys.readouterr().err
    main(["simulate", "--count", "2", "--overwrite", str(out)])
    assert len(list((out / "radio").glob("*.fits"))) == 2
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SystemExit):
        main(["simulate", "--count", "1", str(blocker / "sub")])
    err = capsys.readouterr().err
    assert err.startswith("Error:") and "Traceback" not in err
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # our headers are valid FITS: no fixes needed on read
        fits.getheader(out / "radio" / "sim0_000000.fits")


def test_class_balance_and_randomise(tmp_path):
    """--class-balance draws targets near uniformly (DR1 would give ~45% 1C_1P); --randomise jitters the beam."""
    main(["simulate", "--count", "30", "--seed", "3", "--class-balance", "--randomise", str(tmp_path / "b")])
    coco = json.loads((tmp_path / "b" / "annotations.json").read_text())
    targets = Counter(a["category_id"] for a in coco["annotations"] if a["target"])
    assert targets[1] <= 10 and len(targets) >= 5
    assert coco["info"]["config"]["class_weights"] == [0.15, 0.15, 0.2, 0.15, 0.2, 0.15]
    assert coco["info"]["config"]["pixel_scale_jitter"] > 0


def test_label_rule_options(tmp_path):
    """--label-sigma/--label-factor set the contour rule of the labels, recorded in annotations.json."""
    out = tmp_path / "old"
    main(["simulate", "--count", "4", "--seed", "5", "--label-sigma", "4", "--label-factor", "2", str(out)])
    coco = json.loads((out / "annotations.json").read_text())
    assert coco["info"]["config"]["rules"]["level_sigma"] == 4 and coco["info"]["config"]["rules"]["level_factor"] == 2
    rules = LabelRules(level_sigma=4, level_factor=2, n_levels=28)
    for im in coco["images"]:  # the labels follow that rule, not the default one
        data = fits.getdata(out / im["file_name"]).astype(np.float64)
        isl = find_islands(data, rules)
        for a in (a for a in coco["annotations"] if a["image_id"] == im["id"]):
            ids = sorted({int(isl.labels[int(py), int(px)]) for px, py in a["component_peaks"]})
            assert class_id(len(ids), count_peaks(data, np.isin(isl.labels, ids), isl.levels)) == a["category_id"]
    # the default is RGZ's own ladder: 3 sqrt 3 sigma, x sqrt 3, 13 levels
    assert LabelRules().level_sigma == pytest.approx(3 * 3**0.5) and LabelRules().level_factor == pytest.approx(3**0.5)
    assert LabelRules().n_levels == 13


def _near_centre_neighbours(fields, size: int, radius: float) -> int:
    c = (size - 1) / 2 + 0.5  # detector coordinates of the cutout centre
    return sum(any(np.hypot(px - c, py - c) < radius for lab in f.labels if not lab["target"]
                   for px, py in lab["peaks"]) for f in fields)


def test_close_companions(tmp_path, capsys):
    """close_companion puts an unrelated source 6-20 px from the target, labelled on its own (not merged into
    the target's label); without it field sources keep neighbour_min_sep from the centre."""
    rng = np.random.default_rng(4)
    one = (1, 0, 0, 0, 0, 0)  # compact targets: a companion cannot hide in a large target's islands
    with_c = [simulate_field(rng, SimConfig(close_companion=1.0, class_weights=one)) for _ in range(16)]
    without = [simulate_field(rng, SimConfig(class_weights=one)) for _ in range(16)]
    assert _near_centre_neighbours(with_c, 100, 22) >= 10
    assert _near_centre_neighbours(without, 100, 22) <= 3
    assert SimConfig.for_survey("vlass").close_companion_sep == pytest.approx((10.8, 36.0))  # the same arcsec
    main(["simulate", "--count", "2", "--seed", "1", "--close-companions", "0.3", str(tmp_path / "c")])
    assert json.loads((tmp_path / "c" / "annotations.json").read_text())["info"]["config"]["close_companion"] == 0.3
    with pytest.raises(SystemExit) as e:
        main(["simulate", "--count", "2", "--close-companions", "1.5", str(tmp_path / "d")])
    assert e.value.code != 0 and "--close-companions" in capsys.readouterr().err
