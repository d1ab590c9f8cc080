"""catalogs/: names, measurements, table schema, writers (VOTable validity, atomicity), regions, plots."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.io.votable import parse, validate
from astropy.io.votable.ucd import check_ucd
from astropy.wcs import WCS

from catalogs import (
    ClassScheme,
    ImageDetections,
    build_catalog,
    catalog_regions,
    columns,
    empty_catalog,
    iau_name,
    plot_detections,
    read_catalog,
    save_plot,
    write_catalog,
    write_regions,
)
from catalogs.measure import beam_area_pixels
from claran.errors import UserError

SCHEME = ClassScheme(names=("1C_1P", "1C_2P", "1C_3P", "2C_2P", "2C_3P", "3C_3P"))


def _wcs(n: int = 64, scale_arcsec: float = 1.8) -> WCS:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    w.wcs.crval = [150.0, 30.0]
    w.wcs.crpix = [n / 2 + 0.5, n / 2 + 0.5]
    w.wcs.cdelt = [-scale_arcsec / 3600, scale_arcsec / 3600]
    return w


def _gauss(n: int, x: float, y: float, amp: float, sigma: float = 1.3) -> np.ndarray:
    yy, xx = np.mgrid[:n, :n]
    return amp * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))


@pytest.fixture
def det() -> ImageDetections:
    n = 64
    rng = np.random.default_rng(0)
    data = rng.normal(0, 1e-4, (n, n)) + _gauss(n, 20, 30, 0.01) + _gauss(n, 44, 40, 0.004, 2.0)
    boxes = np.array([[14.5, 24.5, 25.5, 35.5], [36.0, 32.0, 52.0, 48.0]])
    probs = np.array([[0.8, 0.1, 0.05, 0.02, 0.02, 0.01], [0.1, 0.6, 0.1, 0.1, 0.05, 0.05]])
    return ImageDetections(image="field.fits", data=data, wcs=_wcs(n), boxes=boxes, labels=["1C_1P", "1C_2P"],
                           scores=probs.max(1), class_scores=probs, beam=(1.5e-3, 1.5e-3), n_components=[1, 1],
                           n_peaks=[1, 2])


def test_iau_name_truncates():
    # 10h 00m 00.09s +30d 00' 59.9" -> truncated to 00.0 and 59
    ra = (10 + 0.09 / 3600) * 15
    dec = 30 + 59.9 / 3600
    assert iau_name(ra, dec) == "CLARAN J100000.0+300059"
    assert iau_name(359.99999, -0.0001) == "CLARAN J235959.9-000000"
    assert iau_name(0.0, -89.99) == "CLARAN J000000.0-895924"
    # 12.3 s exactly must not become 12.2 through floating point
    assert iau_name((12.3 / 3600) * 15, 1.0) == "CLARAN J000012.3+010000"


def test_every_column_has_ucd_description_and_valid_units(det):
    t = build_catalog([det], scheme=SCHEME)
    assert len(t) == 2
    for c in columns(SCHEME):
        col = t[c.name]
        assert col.description, c.name
        assert check_ucd(col.meta["ucd"], check_controlled_vocabulary=True), (c.name, col.meta["ucd"])
    assert str(t["peak_flux"].unit.to_string("vounit")) == "Jy.beam**-1"
    assert t["ra"].unit == "deg" and t["size"].unit == "arcsec" and t["int_flux"].unit == "Jy"


def test_measurements(det):
    t = build_catalog([det], scheme=SCHEME)
    r = t[0]
    # centroid at the Gaussian's centre (20, 30): check by converting back through the WCS
    x, y = det.wcs.world_to_pixel_values(r["ra"], r["dec"])
    assert abs(x - 20) < 0.1 and abs(y - 30) < 0.1
    assert r["peak_flux"] == pytest.approx(0.01, rel=0.05)
    # integrated flux of a point source equals its peak when the beam matches the Gaussian
    beam_fwhm = 1.3 * np.sqrt(8 * np.log(2)) * 1.8 / 3600
    t2 = build_catalog([ImageDetections(**{**det.__dict__, "beam": (beam_fwhm, beam_fwhm)})], scheme=SCHEME)
    assert t2[0]["int_flux"] == pytest.approx(0.01, rel=0.05)
    assert beam_area_pixels(det.wcs, (beam_fwhm, beam_fwhm)) == pytest.approx(2 * np.pi * 1.3**2, rel=1e-6)
    assert r["size"] == pytest.approx(11 * 1.8, rel=0.01)
    assert (r["n_components"], r["n_peaks"]) == (1, 1) and (t[1]["n_components"], t[1]["n_peaks"]) == (1, 2)
    assert r["score_1C_1P"] == pytest.approx(0.8) and r["morphology"] == "1C_1P"
    assert r["name"] == iau_name(r["ra"], r["dec"])
    assert np.isnan(r["ir_ra"])  # no infrared image given


def test_infrared_host(det):
    # an IR image on a finer grid with one bright peak inside box 0, near the radio centroid
    n = 90
    ir_wcs = _wcs(n, 1.375)
    ra, dec = det.wcs.pixel_to_world_values(21.0, 30.0)
    ix, iy = ir_wcs.world_to_pixel_values(ra, dec)
    rng = np.random.default_rng(1)
    ir = 3 + rng.normal(0, 0.1, (n, n)) + _gauss(n, float(ix), float(iy), 5.0, 2.0)
    t = build_catalog([ImageDetections(**{**det.__dict__, "ir_data": ir, "ir_wcs": ir_wcs})], scheme=SCHEME)
    assert abs(t[0]["ir_ra"] - ra) * 3600 < 2 and abs(t[0]["ir_dec"] - dec) * 3600 < 2
    assert np.isnan(t[1]["ir_ra"])  # no IR peak in the second box


@pytest.mark.parametrize("suffix", [".vot", ".xml", ".fits", ".csv", ".ecsv"])
def test_writers_roundtrip(det, tmp_path, suffix):
    t = build_catalog([det], scheme=SCHEME)
    p = write_catalog(t, tmp_path / f"cat{suffix}")
    back = read_catalog(p)
    assert back.colnames == t.colnames and len(back) == 2
    assert list(back["name"]) == list(t["name"])
    np.testing.assert_allclose(back["ra"], t["ra"], atol=1e-6)
    assert [f.name for f in tmp_path.iterdir()] == [f"cat{suffix}"]  # no temp file left
    if suffix == ".fits":
        h = fits.getheader(p, 1)
        i = t.colnames.index("ra") + 1
        assert h[f"TUCD{i}"] == "pos.eq.ra;meta.main" and h[f"TUNIT{i}"] == "deg" and h[f"TCOMM{i}"]


@pytest.mark.parametrize("table", ["full", "empty"])
def test_votable_validates_without_warnings(det, tmp_path, table):
    t = build_catalog([det], scheme=SCHEME) if table == "full" else empty_catalog(SCHEME)
    p = write_catalog(t, tmp_path / "cat.vot")
    out = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert validate(str(p), output=out), out.getvalue()
        fields = {f.name: f for f in parse(str(p)).get_first_table().fields}
    assert "no violations" in out.getvalue()
    assert fields["peak_flux"].unit.to_string("vounit") == "Jy.beam**-1"
    assert fields["ra"].ucd == "pos.eq.ra;meta.main" and fields["ra"].description


def test_refuses_overwrite_and_bad_suffix(det, tmp_path):
    t = build_catalog([det], scheme=SCHEME)
    p = write_catalog(t, tmp_path / "cat.vot")
    before = p.read_bytes()
    with pytest.raises(UserError, match="exists"):
        write_catalog(t[:1], p)
    assert p.read_bytes() == before
    write_catalog(t[:1], p, overwrite=True)
    assert len(read_catalog(p)) == 1
    with pytest.raises(UserError, match="unknown catalogue format"):
        write_catalog(t, tmp_path / "cat.txt")


def test_failed_write_leaves_old_file(det, tmp_path, monkeypatch):
    t = build_catalog([det], scheme=SCHEME)
    p = write_catalog(t, tmp_path / "cat.ecsv")
    before = p.read_bytes()

    def boom(self, *a, **k):
        Path(a[0]).write_text("partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(type(t), "write", boom)
    with pytest.raises(OSError):
        write_catalog(t, p, overwrite=True)
    assert p.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


def test_regions_one_per_row(det, tmp_path):
    t = build_catalog([det], scheme=SCHEME)
    regs = catalog_regions(t, wcs={"field.fits": det.wcs})
    assert len(regs) == 2 and all(type(r).__name__ == "PolygonSkyRegion" for r in regs)
    p = write_regions(t, tmp_path / "cat.reg")
    text = p.read_text()
    assert text.count("circle(") == 2 and "1C_2P" in text
    from regions import Regions

    assert len(Regions.read(str(p), format="ds9")) == 2


def test_plot(det, tmp_path):
    t = build_catalog([det], scheme=SCHEME)
    fig = plot_detections(det.data, det.wcs, t, title="field", beam=(1.5e-3, 1.5e-3, 0.0))
    p = save_plot(fig, tmp_path / "field.png")
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = fig.axes[0]
    assert len(fig.axes) == 2  # the image and its colour bar
    assert len(ax.patches) == 3  # two boxes and the beam
    texts = {tx.get_text() for tx in ax.texts}
    assert {"1C_1P 0.80", "1C_2P 0.60"} <= texts and any(tx.startswith("contours:") for tx in texts)
    assert ax.coords[0].get_axislabel() == "RA (ICRS)"
    peak = float(np.nanmax(det.data))
    fig = plot_detections(det.data, det.wcs, t, contour_levels=[peak / 4, peak / 2, 2 * peak], contour_key="my levels")
    from matplotlib.contour import ContourSet

    cs = next(c for c in fig.axes[0].collections if isinstance(c, ContourSet))
    assert list(cs.levels) == pytest.approx([peak / 4, peak / 2])  # none above the image's maximum
    assert "my levels" in {tx.get_text() for tx in fig.axes[0].texts}


def test_marginal_class_drawn_dashed(det, tmp_path):
    """A row flagged class_marginal: dashed box and "?" on the plot (with the key saying so) and in DS9."""
    from dataclasses import replace

    t = build_catalog([replace(det, flags={"class_marginal": [False, True]})], scheme=SCHEME)
    assert list(t["flag_class_marginal"]) == [False, True]
    ax = plot_detections(det.data, det.wcs, t).axes[0]
    boxes = [p for p in ax.patches if type(p).__name__ == "Rectangle"]
    assert [b.get_linestyle() for b in boxes] == ["-", "--"]
    texts = {tx.get_text() for tx in ax.texts}
    assert {"1C_1P 0.80", "1C_2P? 0.60"} <= texts and any("?, dashed" in tx for tx in texts)
    from regions import Regions

    regs = Regions.read(str(write_regions(t, tmp_path / "m.reg", wcs={"field.fits": det.wcs})), format="ds9")
    assert [r.visual.get("linestyle") for r in regs] == [None, "dashed"] and "1C_2P?" in regs[1].meta["text"]


def test_possible_component_labelled(det, tmp_path):
    """A row flagged possible_component: "(pair?)" after its score on the plot (the key says why) and in DS9."""
    from dataclasses import replace

    from regions import Regions

    t = build_catalog([replace(det, flags={"possible_component": [True, False]})], scheme=SCHEME)
    assert list(t["flag_possible_component"]) == [True, False]
    texts = {tx.get_text() for tx in plot_detections(det.data, det.wcs, t).axes[0].texts}
    assert {"1C_1P 0.80 (pair?)", "1C_2P 0.60"} <= texts and any("(pair?): may be one source" in x for x in texts)
    regs = Regions.read(str(write_regions(t, tmp_path / "p.reg", wcs={"field.fits": det.wcs})), format="ds9")
    assert regs[0].meta["text"].endswith("0.80 (pair?)") and "pair" not in regs[1].meta["text"]
