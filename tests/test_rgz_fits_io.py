"""rgz.fits_io: real cutouts from ../shared/data and synthetic files with every quirk the reader handles."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from claran.errors import UserError
from rgz.fits_io import FIRST_BEAM_ARCSEC, FitsInputError, read_infrared, read_radio
from tests.shared_data import shared as _shared


# ----------------------------------------------------------------- real files
def test_every_real_fits_loads():
    root = _shared("")
    files = sorted(root.rglob("*.fits"))
    assert len(files) > 150
    for f in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = read_infrared(f) if "WISE" in f.name else read_radio(f)
        assert im.data.ndim == 2 and im.data.dtype == np.float32, f
        assert im.wcs.naxis == 2 and im.wcs.has_celestial, f
        assert np.isfinite(im.data).any() and im.pixel_scale_arcsec > 0, f
        assert im.beam is not None and im.beam.bmaj >= im.beam.bmin > 0, f


def test_first_cutout_header_beam_and_4d_keywords():
    f = _shared("first-cutouts") / "FIRST_J001357-091951.fits"
    im = read_radio(f)
    assert im.shape == (132, 132)
    assert im.bunit == "Jy/beam"
    assert im.beam.bmaj == pytest.approx(6.4, abs=0.01) and im.beam.bmin == pytest.approx(5.4, abs=0.01)
    assert im.pixel_scale_arcsec == pytest.approx(1.8, rel=1e-3)
    # the image centre is where the name says (J001357-091951: truncated name, so within 1.5")
    c = im.center
    assert abs(c.ra.deg - (0 + 13 / 60 + 57 / 3600) * 15) * 3600 * np.cos(np.radians(9.33)) < 15
    assert abs(c.dec.deg - (-(9 + 19 / 60 + 51 / 3600))) * 3600 < 2


def test_skyview_without_beam_warns_and_defaults(recwarn, tmp_path):
    f = next(iter(sorted(_shared("mirabest-sample").glob("*.fits"))))
    im = read_radio(f)
    assert im.beam.bmaj == FIRST_BEAM_ARCSEC
    assert any("no beam" in str(w.message) for w in recwarn)
    im2 = read_radio(f, beam_arcsec=(6.4, 5.4, 10))
    assert tuple(im2.beam) == (6.4, 5.4, 10.0)
    # the header with tabs in COMMENT cards was cleaned: it can be written back
    fits.PrimaryHDU(im.data, im.header).writeto(tmp_path / "copy.fits")


def test_vlass_cube_and_galactic_magpis():
    d = _shared("other-surveys")
    v = read_radio(next(d.glob("VLASS*.fits")))
    assert v.shape == (241, 241) and v.pixel_scale_arcsec == pytest.approx(1.0, rel=1e-3)
    m = read_radio(d / "magpis_G10.5+0.0_300px.fits")
    assert m.center.galactic.l.deg == pytest.approx(10.5, abs=0.01)
    w = read_infrared(d / "WISE_J153149.9+113421.7_w1.fits")
    assert w.bunit == "DN" and w.pixel_scale_arcsec == pytest.approx(1.375, rel=1e-3)


# ----------------------------------------------------------------- synthetic quirks
def _header(n: int = 20, *, naxis: int = 2) -> fits.Header:
    w = WCS(naxis=naxis)
    ctype = ["RA---SIN", "DEC--SIN", "FREQ", "STOKES"][:naxis]
    w.wcs.ctype = ctype
    w.wcs.crval = [150.0, 30.0, 1.4e9, 1.0][:naxis]
    w.wcs.crpix = [n / 2 + 0.5, n / 2 + 0.5, 1, 1][:naxis]
    w.wcs.cdelt = [-0.0005, 0.0005, 1e6, 1][:naxis]
    h = w.to_header()
    h["BUNIT"] = "JY/BEAM"
    h["BMAJ"], h["BMIN"], h["BPA"] = 0.0015, 0.0015, 0.0
    return h


def _img(n: int = 20, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1e-4, (n, n)).astype(np.float32)


def test_cube_with_degenerate_axes(tmp_path):
    p = tmp_path / "cube.fits"
    fits.PrimaryHDU(_img()[None, None], _header(naxis=4)).writeto(p)
    im = read_radio(p)
    assert im.shape == (20, 20) and im.wcs.naxis == 2
    assert im.center.ra.deg == pytest.approx(150.0, abs=1e-3)


def test_4d_keywords_on_2d_image(tmp_path):
    h = _header(naxis=4)
    p = tmp_path / "first.fits"
    hdu = fits.PrimaryHDU(_img(), h)
    hdu.header["NAXIS"] = 2
    hdu.writeto(p)
    im = read_radio(p)
    assert im.shape == (20, 20) and im.wcs.naxis == 2


def test_extension_compressed_and_scaled_int(tmp_path):
    data = _img()
    p = tmp_path / "ext.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, _header())]).writeto(p)
    assert np.allclose(read_radio(p).data, data)
    p = tmp_path / "comp.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, _header())]).writeto(p)
    assert np.allclose(read_radio(p).data, data, atol=2e-5)  # float compression quantizes
    p = tmp_path / "int.fits"
    raw = np.round(data / 1e-6).astype(np.int16)
    h = _header()
    hdu = fits.PrimaryHDU(raw, h)
    hdu.header["BSCALE"], hdu.header["BZERO"] = 1e-6, 0.0
    hdu.writeto(p)
    assert np.allclose(read_radio(p).data, raw * 1e-6, atol=1e-9)


def test_bunit_mjy_converted_and_nan_kept(tmp_path):
    data = _img() * 1000
    data[0, :5] = np.nan
    h = _header()
    h["BUNIT"] = "mJy/beam"
    p = tmp_path / "mjy.fits"
    fits.PrimaryHDU(data, h).writeto(p)
    im = read_radio(p)
    assert im.bunit == "Jy/beam"
    assert np.isnan(im.data[0, :5]).all()
    assert np.allclose(im.data[1:], data[1:] / 1000, rtol=1e-5)


def _bad(tmp_path: Path, name: str, write) -> str:
    p = tmp_path / name
    write(p)
    with pytest.raises(FitsInputError) as e:
        read_radio(p)
    msg = str(e.value)
    assert isinstance(e.value, UserError)
    assert "\n" not in msg and msg.startswith(str(p)) and ";" in msg
    return msg


def test_unusable_files_fail_with_one_line(tmp_path):
    _bad(tmp_path, "text.fits", lambda p: p.write_text("hello, not FITS\n"))
    _bad(tmp_path, "empty.fits", lambda p: p.write_bytes(b""))

    def truncated(p):
        fits.PrimaryHDU(_img(200), _header(200)).writeto(p)
        p.write_bytes(p.read_bytes()[:10000])
    _bad(tmp_path, "truncated.fits", truncated)
    _bad(tmp_path, "table.fits", lambda p: fits.HDUList(
        [fits.PrimaryHDU(), fits.BinTableHDU.from_columns([fits.Column("a", "E", array=np.ones(3))])]).writeto(p))
    msg = _bad(tmp_path, "cube.fits", lambda p: fits.PrimaryHDU(np.stack([_img(), _img(seed=1)])[None],
                                                                  _header(naxis=4)).writeto(p))
    assert "2-D" in msg
    msg = _bad(tmp_path, "nowcs.fits", lambda p: fits.PrimaryHDU(_img()).writeto(p))
    assert "celestial" in msg
    msg = _bad(tmp_path, "nan.fits", lambda p: fits.PrimaryHDU(np.full((20, 20), np.nan, np.float32),
                                                                _header()).writeto(p))
    assert "finite" in msg
    _bad(tmp_path, "zeros.fits", lambda p: fits.PrimaryHDU(np.zeros((20, 20), np.float32), _header()).writeto(p))
    with pytest.raises(FitsInputError, match="no such file"):
        read_radio(tmp_path / "missing.fits")
