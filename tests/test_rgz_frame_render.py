"""rgz.frame and rgz.render: sky positions survive framing and mapping back; renderings are well formed."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from rgz.coords import astropy_to_detector, detector_to_astropy
from rgz.fits_io import RadioImage, read_infrared, read_radio
from rgz.frame import (
    FrameSpec,
    boxes_to_sky,
    frame_boxes_to_image,
    frame_wcs,
    image_boxes_to_frame,
    tiles,
    to_frame,
)
from rgz.render import REPRESENTATIONS, estimate_noise, radio_components, render
from tests.shared_data import shared as _shared
from tests.wcs_builders import celestial_wcs


def _read(path: Path) -> RadioImage:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_radio(path)


def _synthetic(n: int = 100, scale_arcsec: float = 1.8, *, ra=150.0, dec=30.0, rot_deg=0.0, proj="SIN",
               sources=()) -> RadioImage:
    """A noise image with Gaussian sources at given sky positions (ra, dec, peak, fwhm_arcsec)."""
    w = WCS(naxis=2)
    w.wcs.ctype = [f"RA---{proj}", f"DEC--{proj}"]
    w.wcs.crval = [ra, dec]
    w.wcs.crpix = [n / 2 + 0.5, n / 2 + 0.5]
    s = scale_arcsec / 3600
    t = np.radians(rot_deg)
    w.wcs.cd = np.array([[-s * np.cos(t), s * np.sin(t)], [s * np.sin(t), s * np.cos(t)]])
    data = np.random.default_rng(1).normal(0, 1.5e-4, (n, n)).astype(np.float32)
    yy, xx = np.mgrid[0:n, 0:n]
    for sra, sdec, peak, fwhm in sources:
        x, y = w.world_to_pixel(SkyCoord(sra, sdec, unit="deg"))
        sig = fwhm / scale_arcsec / 2.3548
        data += (peak * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sig**2))).astype(np.float32)
    return RadioImage(data=data, wcs=w, header=w.to_header(), path="synthetic.fits")


def _peak_sky(framed) -> SkyCoord:
    """Sub-pixel peak of a framed image (parabola through log intensities: exact for a Gaussian), on the sky."""
    d = np.nan_to_num(framed.data, nan=-np.inf)
    y, x = np.unravel_index(np.argmax(d), d.shape)

    def sub(lo: float, c: float, hi: float) -> float:
        a, b, e = np.log(max(lo, 1e-12)), np.log(c), np.log(max(hi, 1e-12))
        return 0.5 * (a - e) / (a - 2 * b + e)

    cx = x + sub(d[y, x - 1], d[y, x], d[y, x + 1])
    cy = y + sub(d[y - 1, x], d[y, x], d[y + 1, x])
    return framed.wcs.pixel_to_world(cx, cy)


# ----------------------------------------------------------------- frame geometry
def test_frame_wcs_north_up_east_left_and_centred():
    c = SkyCoord(150.0, 30.0, unit="deg")
    spec = FrameSpec()
    w = frame_wcs(c, spec)
    # the centre is the corner shared by the four middle pixels: detector coordinate size/2
    x, y = w.world_to_pixel(c)
    assert astropy_to_detector(np.array([x, y])) == pytest.approx([66.0, 66.0], abs=1e-9)
    north = w.world_to_pixel(c.directional_offset_by(0 * u.deg, 10 * 1.3748 * u.arcsec))
    east = w.world_to_pixel(c.directional_offset_by(90 * u.deg, 10 * 1.3748 * u.arcsec))
    assert north[1] == pytest.approx(y + 10, abs=1e-3)  # FITS order: north = increasing row
    assert east[0] == pytest.approx(x - 10, abs=1e-3)  # east = decreasing column, 1.3748"/px


@pytest.mark.parametrize("scale,rot,proj", [(1.8, 0.0, "SIN"), (15.0, 0.0, "TAN"), (1.0, 0.0, "SIN"),
                                            (0.6, 0.0, "TAN"), (1.8, 25.0, "TAN")])
def test_source_lands_where_the_wcs_says(scale, rot, proj):
    c = SkyCoord(150.0, 30.0, unit="deg")
    src = c.spherical_offsets_by(-40 * u.arcsec, 25 * u.arcsec)
    sra, sdec = float(src.ra.deg), float(src.dec.deg)
    fwhm = max(5.4, 3 * scale)
    n = max(40, int(400 / scale))
    im = _synthetic(n, scale, rot_deg=rot, proj=proj, sources=[(sra, sdec, 0.05, fwhm)])
    fr = to_frame(im, center=c)
    assert fr.data.shape == (132, 132) and fr.data.dtype == np.float32
    tol = max(0.35 * 1.3748, 0.25 * scale)  # arcsec: bilinear resampling biases peaks by up to ~0.2 input px
    assert _peak_sky(fr).separation(SkyCoord(sra, sdec, unit="deg")).arcsec < tol
    # a box around the source maps to the input and back, and its centre is the source on both grids
    x, y = fr.wcs.world_to_pixel(SkyCoord(sra, sdec, unit="deg"))
    b = astropy_to_detector(np.array([[x - 6, y - 5, x + 6, y + 5]]))
    bi = frame_boxes_to_image(b, fr, im)
    assert boxes_to_sky(bi, im.wcs).separation(SkyCoord(sra, sdec, unit="deg")).arcsec[0] < 0.05 + 0.1 * abs(rot)
    if rot == 0.0:  # pure scale: widths scale by the pixel-scale ratio, and the round trip is exact
        assert (bi[0, 2] - bi[0, 0]) == pytest.approx(12 * 1.3748 / scale, rel=2e-3)
        assert image_boxes_to_frame(bi, im, fr) == pytest.approx(b, abs=1e-3)
    else:  # rotated input: the hull grows but still contains the box
        back = image_boxes_to_frame(bi, im, fr)
        assert (back[0, :2] <= b[0, :2] + 1e-6).all() and (back[0, 2:] >= b[0, 2:] - 1e-6).all()


def test_nan_outside_footprint_and_small_image():
    im = _synthetic(40, 1.8)  # 72" image in a 181" frame
    fr = to_frame(im)
    assert np.isnan(fr.data[0, 0]) and np.isfinite(fr.data[66, 66])
    assert np.isfinite(fr.data).sum() == pytest.approx((72 / 1.3748) ** 2, rel=0.1)


def test_tiles_cover_large_image_with_overlap():
    im = _synthetic(300, 1.8)  # 9' x 9' like MiraBest
    spec = FrameSpec()
    cs = tiles(im, spec, overlap=0.25)
    x, y = im.wcs.world_to_pixel(cs)
    side = spec.side_arcsec / 1.8
    xs, ys = np.unique(np.round(x, 6)), np.unique(np.round(y, 6))
    assert len(cs) == len(xs) * len(ys) == 16
    assert xs[0] - side / 2 == pytest.approx(-0.5) and xs[-1] + side / 2 == pytest.approx(299.5)
    assert np.diff(xs).max() <= side * 0.75 + 1e-6
    assert len(tiles(_synthetic(60, 1.8), spec)) == 1


# ----------------------------------------------------------------- real data
def test_truth_positions_after_framing_and_back():
    d = _shared("rgz-real-dev")
    truth = json.loads((d / "truth.json").read_text())
    n = 0
    for fn, t in truth.items():
        im = _read(d / "fits" / fn)
        fr = to_frame(im)
        for o in t["objects"]:
            sky = SkyCoord(o["ra"], o["dec"], unit="deg")
            box = astropy_to_detector(np.asarray(o["box"], float))[None]
            assert boxes_to_sky(box, im.wcs).separation(sky).arcsec[0] < 0.05
            fb = image_boxes_to_frame(box, im, fr)
            assert boxes_to_sky(fb, fr.wcs).separation(sky).arcsec[0] < 0.05
            assert frame_boxes_to_image(fb, fr, im) == pytest.approx(box, abs=0.01)
            n += 1
    assert n >= 18


def test_first_vla_nvss_same_field_agree():
    """The bright source of J001357-091951 lands on the same sky position framed from FIRST, VLASS and NVSS."""
    f = _read(_shared("first-cutouts") / "FIRST_J001357-091951.fits")
    o = _shared("other-surveys")
    v = _read(next(o.glob("VLASS*.fits")))
    nv = _read(o / "NVSS_J001357.2-091951.5.fits")
    c = f.center
    pf, pv, pn = (_peak_sky(to_frame(x, center=c)) for x in (f, v, nv))
    assert pf.separation(pv).arcsec < 3.0  # FIRST 5.4" beam vs VLASS 2.5"
    assert pf.separation(pn).arcsec < 15.0  # NVSS 45" beam


def test_wise_onto_the_radio_frame():
    rad = _read(_shared("first-cutouts") / "FIRST_J153149.9+113421.7.fits")
    ir = read_infrared(_shared("other-surveys") / "WISE_J153149.9+113421.7_w1.fits")
    fr = to_frame(rad)
    fi = to_frame(ir, center=fr.center)
    assert fi.data.shape == fr.data.shape and np.isfinite(fi.data).all()  # WISE (8') covers the frame
    assert fi.wcs.wcs.compare(fr.wcs.wcs)


def test_mirabest_tiles():
    im = _read(next(iter(sorted(_shared("mirabest-sample").glob("*.fits")))))
    cs = tiles(im, FrameSpec(), overlap=0.2)  # 540" image, 181.5" frames, step <= 145": 4 x 4
    assert len(cs) == 16
    for c in cs[[0, 3, 12, 15]]:  # the corner tiles are flush with the image edges and inside it
        assert np.isfinite(to_frame(im, center=c).data).all()  # tiles lie inside the image


# ----------------------------------------------------------------- renderings
def test_estimate_noise_robust_to_sources():
    rng = np.random.default_rng(0)
    d = rng.normal(0, 2e-4, (132, 132))
    d[50:70, 50:70] += 0.05
    d[0, :10] = np.nan
    assert estimate_noise(d) == pytest.approx(2e-4, rel=0.05)
    assert estimate_noise(d, clip_sigma=None) > estimate_noise(d)


def test_render_all_representations():
    c = SkyCoord(150.0, 30.0, unit="deg")
    srcs = [(150.0, 30.0, 0.02, 6.0), (150.0 + 30 / 3600 / np.cos(np.radians(30)), 30.0, 0.01, 6.0)]
    fr = to_frame(_synthetic(100, 1.8, sources=srcs), center=c)
    ir = fr.data * 0 + np.random.default_rng(2).normal(3.0, 0.13, fr.data.shape).astype(np.float32)
    for name, ch in REPRESENTATIONS.items():
        for irx in (None, ir):
            x = render(name, fr, ir=irx)
            assert x.shape == (132, 132, ch) and x.dtype == np.float32
            assert np.isfinite(x).all() and x.min() >= 0 and x.max() <= 255
    d1 = render("D1", fr)
    assert d1[..., 0].max() == 255 and (d1[..., 0] == d1[..., 1]).all()
    # D3: contours (green) around both sources, none in the empty corners
    d3 = render("D3", fr, ir=ir)
    green = (d3[..., 1] == 255) & (d3[..., 0] == 0)
    assert green[50:80, 50:80].any() and not green[:20, :20].any()
    # D4: IR constant outside the hull of the two components, kept inside it
    comps = radio_components(fr.data)
    assert len(comps) == 2
    d4 = render("D4", fr, ir=ir)
    assert (d4[5, 5] == 127.5).all() and not (d4[66, 50] == 127.5).all()
    # phys: the same S/N gives the same value whatever the noise level
    p1 = render("phys", fr.data, noise=1e-4)
    p2 = render("phys", fr.data * 10, noise=1e-3)
    assert np.allclose(p1, p2, atol=1e-3)
    assert p1[..., 0].max() > render("phys", fr.data, noise=1e-3)[..., 0].max()
    with pytest.raises(ValueError, match="unknown representation"):
        render("D2", fr)


def test_render_real_cutout_fast():
    import time

    rad = _read(_shared("first-cutouts") / "FIRST_J153149.9+113421.7.fits")
    fr = to_frame(rad)
    t = time.perf_counter()
    for name in REPRESENTATIONS:
        render(name, fr)
    assert time.perf_counter() - t < 1.0


def test_fits_written_frame_roundtrip(tmp_path):
    """A framed image written as FITS reads back on the same grid (the builder and simulator rely on it)."""
    fr = to_frame(_synthetic(100, 1.8))
    p = tmp_path / "f.fits"
    fits.PrimaryHDU(fr.data, fr.wcs.to_header()).writeto(p)
    im = read_radio(p, beam_arcsec=5.4)
    assert im.wcs.wcs.compare(fr.wcs.wcs, tolerance=1e-9)
    assert im.center.separation(fr.center).arcsec < 1e-6
    assert detector_to_astropy(np.array([66.0, 66.0])) == pytest.approx([65.5, 65.5])


def test_fast_path_matches_reproject():
    """to_frame's direct bilinear path gives reproject_interp's result (same NaN footprint, same values)."""
    c = SkyCoord(150.0, 30.0, unit="deg")
    src = c.spherical_offsets_by(20 * u.arcsec, -10 * u.arcsec)
    im = _synthetic(60, 1.8, rot_deg=10.0, sources=[(float(src.ra.deg), float(src.dec.deg), 0.05, 6.0)])
    im.data[30, 30] = np.nan
    fast = to_frame(im, center=c)
    ref = to_frame(im, center=c, return_footprint=True)  # the footprint request takes the reproject path
    assert (np.isnan(fast.data) == np.isnan(ref.data)).all()
    assert np.nanmax(np.abs(fast.data - ref.data)) < 1e-6


def test_transform_boxes_fast_path_equals_skycoord(monkeypatch):
    """Same frame or FK5 J2000 <-> ICRS: a fixed rotation instead of SkyCoord, equal to 1e-6 px; others fall back."""

    import rgz.frame as frame

    def grid(ctype, crval, radesys=None, equinox=None, scale=5e-4):
        return celestial_wcs(ctype, crval, crpix=[50, 50], scale_deg=scale, radesys=radesys, equinox=equinox)

    fk5 = grid(["RA---SIN", "DEC--SIN"], [150, 30], "FK5", 2000.0)
    icrs = grid(["RA---TAN", "DEC--TAN"], [150.01, 30.01], "ICRS", scale=3.8e-4)
    gal = grid(["GLON-TAN", "GLAT-TAN"], [196.87, 52.34], scale=3.8e-4)
    boxes = np.random.default_rng(0).uniform(0, 100, (20, 4))
    boxes[:, 2:] += boxes[:, :2]
    fast = {k: frame.transform_boxes(boxes, fk5, dst) for k, dst in (("icrs", icrs), ("fk5", fk5), ("gal", gal))}
    assert frame._rotation(frame._sky_frame(fk5), frame._sky_frame(gal)) is None
    monkeypatch.setattr(frame, "_rotation", lambda src, dst: None)  # force the general SkyCoord path
    for k, dst in (("icrs", icrs), ("fk5", fk5), ("gal", gal)):
        np.testing.assert_allclose(fast[k], frame.transform_boxes(boxes, fk5, dst), rtol=0, atol=1e-6)
