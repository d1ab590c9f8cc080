"""catalogs.noise: the one global MAD sigma and the local background rms map."""

from __future__ import annotations

import time

import numpy as np
import pytest
from astropy.io import fits

from catalogs.noise import box_px_for, mad_sigma, rms_at, rms_map
from tests.shared_data import shared


def test_mad_sigma_is_claran_estimate():
    rng = np.random.default_rng(1)
    d = rng.normal(0, 2e-4, (100, 100)).astype(np.float32)
    d[0, :5] = np.nan
    v = d[np.isfinite(d)]
    assert mad_sigma(d) == float(np.median(np.abs(v - np.median(v))) / 0.6745)
    assert mad_sigma(d) == pytest.approx(2e-4, rel=0.05)
    d[40:60, 40:60] += 5e-3  # a bright source: clipping keeps it out of the estimate
    assert mad_sigma(d, clip_sigma=3.0) == pytest.approx(2e-4, rel=0.1)
    assert mad_sigma(d) > mad_sigma(d, clip_sigma=3.0)
    assert np.isnan(mad_sigma(np.full((4, 4), np.nan)))


def test_rms_map_follows_local_noise_and_ignores_sources():
    rng = np.random.default_rng(2)
    d = rng.normal(0, 1.0, (160, 160))
    d[:, 80:] *= 3.0  # noisier right half
    yy, xx = np.mgrid[:160, :160]
    d += 200.0 * np.exp(-((xx - 40) ** 2 + (yy - 80) ** 2) / (2 * 3.0**2))  # a bright source on the quiet side
    d[0, 0] = np.nan
    m = rms_map(d, box_px=40)
    assert m.shape == d.shape and m.dtype == np.float32 and np.isnan(m[0, 0])
    assert rms_at(m, 40, 80) == pytest.approx(1.0, rel=0.15)  # at the source: the sky around it
    assert rms_at(m, 140, 80) == pytest.approx(3.0, rel=0.15)
    assert np.isnan(rms_at(m, float("nan"), 3))


def test_box_px_for_first():
    assert box_px_for(1.8, 5.4) == 40
    assert box_px_for(1.8) == 40
    assert box_px_for(15.0, 45.0) == 40  # NVSS: the same number of beams


def test_same_source_same_rms_in_50_and_132_px_first_cutouts():
    """The issue's pair: one FIRST field cut at 50 and 132 px. A global MAD gives 0.63 vs 0.23 mJy/beam."""
    d = shared("first-cutouts")
    small = fits.getdata(d / "J085556+491113.fits").squeeze()
    big = fits.getdata(d / "J085556.090+491113.15.fits").squeeze()
    assert mad_sigma(small) / mad_sigma(big) > 2.5  # the problem
    box = box_px_for(1.8, 5.4)
    t0 = time.perf_counter()
    mb = rms_map(big, box_px=box)
    assert time.perf_counter() - t0 < 2.0  # it runs on every cutout (about 50 ms here when idle)
    ms = rms_map(small, box_px=box)
    # the same sky position in both: the brightest pixel of the small cutout (the source)
    y, x = np.unravel_index(np.nanargmax(small), small.shape)
    off = (big.shape[0] - small.shape[0]) // 2
    assert big[y + off, x + off] == small[y, x]  # both cutouts share the pixel grid
    assert ms[y, x] / mb[y + off, x + off] == pytest.approx(1.0, abs=0.1)
    assert mb[y + off, x + off] == pytest.approx(2.2e-4, rel=0.15)


def test_centre_crops_of_132px_cutouts_give_the_same_rms():
    """Every 132 px FIRST cutout, cropped to 50 and 67 px about its centre: rms at the brightest pixel within 10 %."""
    d = shared("first-cutouts")
    box = box_px_for(1.8, 5.4)
    for f in sorted(d.glob("*.fits")):
        big = fits.getdata(f).squeeze()
        if big.shape != (132, 132):
            continue
        mb = rms_map(big, box_px=box)
        for c in (50, 67):
            o = (132 - c) // 2
            small = big[o:o + c, o:o + c]
            y, x = np.unravel_index(np.nanargmax(small), small.shape)
            ratio = rms_map(small, box_px=box)[y, x] / mb[y + o, x + o]
            assert ratio == pytest.approx(1.0, abs=0.1), (f.name, c, ratio)
