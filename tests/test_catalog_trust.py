"""Issue 13: a catalogue astronomers can trust. ICRS from any frame, errors, shape, components, flags,
metadata, inputs checked (units, overlap, domain), --ir on a radio-only model, CLI polish."""

from __future__ import annotations

import io
import math
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.io.votable import parse, validate
from astropy.io.votable.ucd import check_ucd
from astropy.wcs import WCS

from catalogs import ClassScheme, ImageDetections, build_tables, catalog_regions, read_catalog, write_catalog
from catalogs.measure import deconvolve, position_error
from claran.errors import UserError
from tests.shared_data import shared
from tests.test_detect import run_cli
from tests.wcs_builders import celestial_wcs

REPO = Path(__file__).resolve().parents[1]
SCHEME = ClassScheme(names=("1C_1P", "1C_2P"))

# one synthetic header per celestial frame: (CTYPE pair, RADESYS, EQUINOX, centre in that frame)
FRAMES = {
    "icrs": (("RA---SIN", "DEC--SIN"), "ICRS", None, (150.0, 30.0)),
    "fk5": (("RA---TAN", "DEC--TAN"), "FK5", 2000.0, (150.0, 30.0)),
    "fk4": (("RA---TAN", "DEC--TAN"), "FK4", 1950.0, (149.3, 30.3)),
    "galactic": (("GLON-SIN", "GLAT-SIN"), None, None, (10.5, 0.0)),
    "ecliptic": (("ELON-TAN", "ELAT-TAN"), None, None, (140.0, 15.0)),
}


def _wcs(frame: str, n: int = 64, scale: float = 1.8) -> WCS:
    ctype, radesys, equinox, (lon, lat) = FRAMES[frame]
    return celestial_wcs(ctype, [lon, lat], crpix=[n / 2 + 0.5, n / 2 + 0.5], scale_deg=scale / 3600,
                         radesys=radesys, equinox=equinox)


def _image(n: int = 64, seed: int = 0) -> np.ndarray:
    yy, xx = np.mgrid[:n, :n]
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 1e-4, (n, n)) + 0.01 * np.exp(-((xx - 20) ** 2 + (yy - 30) ** 2) / (2 * 1.3**2))
            + 0.004 * np.exp(-((xx - 44) ** 2 + (yy - 40) ** 2) / (2 * 2.0**2)))


def _det(frame: str = "icrs", **kw) -> ImageDetections:
    w = _wcs(frame)
    data = _image()
    islands = np.zeros(data.shape, np.int32)
    islands[(data > 5e-4)] = 1
    islands[:, 32:][islands[:, 32:] == 1] = 2
    base = dict(image="f.fits", data=data, wcs=w, boxes=np.array([[14.5, 24.5, 25.5, 35.5], [36.0, 32.0, 52.0, 48.0]]),
                labels=["1C_1P", "1C_2P"], scores=np.array([0.9, 0.6]), beam=(1.5e-3, 1.5e-3, 0.0),
                n_components=[1, 1], n_peaks=[1, 2], islands=islands, components=[[1], [2]],
                flags={"blended": [False, True]}, survey="FIRST", frequency_hz=1.4e9)
    base.update(kw)
    return ImageDetections(**base)


@pytest.mark.parametrize("frame", list(FRAMES))
def test_icrs_out_of_every_frame(frame):
    """ra/dec, names and regions are ICRS whatever the image's frame (within 0.01" of astropy's transform)."""
    det = _det(frame)
    t, comps = build_tables([det], scheme=SCHEME)
    for row in t:
        xc, yc = 0.5 * (row["x_min"] + row["x_max"]), 0.5 * (row["y_min"] + row["y_max"])
        want = det.wcs.pixel_to_world(xc, yc).icrs
        got = SkyCoord(float(row["ra_box"]) * u.deg, float(row["dec_box"]) * u.deg, frame="icrs")
        # FK5 J2000 takes the fast path (its world values as ICRS): the frame bias, 22 mas here, is left in
        assert got.separation(want).arcsec < 0.05, frame
        assert row["name"].startswith("CLARAN J")
    if frame == "galactic":  # l=10.5, b=0 is RA ~272, Dec ~ -20, not (10.5, 0)
        assert 271 < t["ra"][0] < 274 and -21 < t["dec"][0] < -19
    reg = catalog_regions(t, wcs={"f.fits": det.wcs})[0]
    corner = det.wcs.pixel_to_world(t["x_min"][0], t["y_min"][0]).icrs
    assert reg.vertices.frame.name == "icrs" and reg.vertices[0].separation(corner).arcsec < 0.05
    assert len(comps) == 2 and SkyCoord(comps["ra"].value, comps["dec"].value, unit="deg").separation(
        SkyCoord(t["ra"].value, t["dec"].value, unit="deg")).arcsec.max() < 3


def test_plot_axes_name_the_frame():
    from catalogs import plot_detections

    det = _det("galactic")
    t, _ = build_tables([det], scheme=SCHEME)
    ax = plot_detections(det.data, det.wcs, t).axes[0]
    assert ax.coords[0].get_axislabel() == "Galactic longitude"


def test_errors_shape_components_flags_and_metadata(tmp_path):
    t, comps = build_tables([_det()], scheme=SCHEME)
    r = t[0]
    # a 1.3 px Gaussian at 1.8"/px: FWHM 5.5"; the beam (5.4") takes nearly all of it
    assert r["maj_axis"] == pytest.approx(1.3 * 2.3548 * 1.8, rel=0.15) and r["maj_axis_deconv"] < 2.5
    snr = r["peak_flux"] / r["rms"]
    assert r["ra_err"] == pytest.approx(math.hypot(5.4, r["maj_axis_deconv"]) * (1 / snr + 1 / 20), rel=1e-4)
    assert r["peak_flux_err"] == pytest.approx(math.hypot(r["rms"], 0.05 * r["peak_flux"]), rel=1e-4)
    assert list(t["n_islands"]) == [1, 1] and list(t["flag_blended"]) == [False, True]
    assert list(comps["source_id"]) == list(t["source_id"]) and comps["peak_flux"][0] == pytest.approx(r["peak_flux"])
    assert not t["flag_low_snr"].any() and not t["flag_out_of_domain"].any()
    assert t.meta["SURVEY"] == "FIRST" and t.meta["FREQ"] == 1.4e9 and t.meta["BMAJ"] == pytest.approx(5.4)
    p = write_catalog(t, tmp_path / "c.vot", components=comps)
    out = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert validate(str(p), output=out), out.getvalue()
    vot = parse(str(p))
    tables = list(vot.iter_tables())
    assert [tb.name for tb in tables] == ["claran", "claran_components"]
    params = {pp.name: pp for pp in tables[0].params}
    assert params["frequency"].value == 1.4e9 and str(params["frequency"].unit) == "Hz"
    assert float(params["beam_maj"].value) == pytest.approx(5.4)
    for tb in tables:
        for f in tb.fields:
            assert f.ucd and check_ucd(f.ucd, check_controlled_vocabulary=True), (tb.name, f.name, f.ucd)
            assert f.description, f.name
    for pp in params.values():
        assert check_ucd(pp.ucd, check_controlled_vocabulary=True), pp.name
    assert {f.ucd for f in tables[1].fields if f.name == "source_id"} == {"meta.id.parent"}
    back = read_catalog(p, components=True)
    assert len(back) == 2 and list(back["source_id"]) == [1, 2]
    fp = write_catalog(t, tmp_path / "c.fits", components=comps)
    assert fits.getheader(fp, "COMPONENTS")["NAXIS2"] == 2 and len(read_catalog(fp)) == 2


def test_edge_and_low_snr_flags():
    det = _det(boxes=np.array([[0.0, 24.5, 8.0, 35.5], [36.0, 32.0, 52.0, 48.0]]), components=[[], [2]],
               flags=None, low_snr=60.0)  # 0.004 Jy/beam peak over 1e-4 rms: S/N 40 < 60
    t, _ = build_tables([det], scheme=SCHEME)
    assert list(t["flag_edge"]) == [True, False]
    assert bool(t["flag_low_snr"][1]) and list(t["n_islands"]) == [0, 1]


def test_position_error_and_deconvolution_formulae():
    # FIRST: a 5 mJy point source on 0.15 mJy rms: sqrt(5.4^2) x ((5 - 0.25)/0.15)^-1 + 1/20)
    assert position_error(5e-3, 1.5e-4, 0.0, 5.4, 2.5e-4) == pytest.approx(5.4 * (0.15 / 4.75 + 0.05))
    assert math.isnan(position_error(1e-4, 1.5e-4, 0.0, 5.4, 2.5e-4))  # below the CLEAN bias: no S/N
    bmaj = 5.4 / 3600
    assert deconvolve(5.4 * math.sqrt(2), 5.4, 0.0, (bmaj, bmaj)) == pytest.approx((5.4, 0.0), abs=1e-6)
    maj, mn = deconvolve(10.0, 6.0, 30.0, (bmaj, bmaj, 0.0))
    assert maj == pytest.approx(math.sqrt(100 - 5.4**2)) and mn == pytest.approx(math.sqrt(36 - 5.4**2))
    assert math.isnan(deconvolve(10.0, 6.0, 30.0, None)[0])


def test_combine_renumbers_sources_and_components():
    from rgz.results import DetectionResult

    a = build_tables([_det(image="a.fits")], scheme=SCHEME)
    b = build_tables([_det(image="b.fits")], scheme=SCHEME)
    res = DetectionResult.combine([DetectionResult(table=b[0], components=b[1]),
                                   DetectionResult(table=a[0], components=a[1])], order=["a.fits", "b.fits"])
    assert list(res.table["source_id"]) == [1, 2, 3, 4] and list(res.table["image"][:2]) == ["a.fits"] * 2
    link = dict(zip(res.table["source_id"], res.table["image"], strict=True))
    assert all(link[s] == im for s, im in zip(res.components["source_id"], res.components["image"], strict=True))


# ---------------------------------------------------------------- inputs, on real data

def test_bunit_checks(tmp_path):
    from rgz.fits_io import read_radio

    other = shared("other-surveys")
    with pytest.raises(UserError, match="not a radio brightness"):
        read_radio(other / "WISE_J153149.9+113421.7_w1.fits")
    with pytest.warns(UserWarning, match="reading the values as mJy/beam"):
        atca = read_radio(other / "S311.fits")
    assert float(np.nanmax(atca.data)) == pytest.approx(0.3355, rel=1e-3)  # 335 "Jy/beam" was mJy/beam
    h = fits.getheader(shared("first-cutouts") / "J000410+082157.fits")
    h["BUNIT"] = "K"
    fits.writeto(tmp_path / "k.fits", fits.getdata(shared("first-cutouts") / "J000410+082157.fits"), h)
    with pytest.warns(UserWarning, match="radio unit but not Jy/beam"):
        read_radio(tmp_path / "k.fits")


def test_domain_warning_names_the_difference():
    from rgz.fits_io import read_radio
    from rgz.sources import domain_problem

    nvss = read_radio(shared("other-surveys") / "NVSS_J001357.2-091951.5.fits")
    msg = domain_problem(nvss)
    assert "pixel scale 15\"/px is 8.3x VLA FIRST's 1.8\"" in msg and "beam 45\"" in msg
    assert domain_problem(read_radio(shared("first-cutouts") / "J000410+082157.fits")) is None


def test_magpis_rows_within_2arcsec_of_icrs_box_centres(fake_model):
    path = shared("other-surveys") / "magpis_G10.5+0.0_300px.fits"
    t = fake_model.load().detect(str(path))
    assert len(t) > 0
    w = WCS(fits.getheader(path)).celestial
    centres = w.pixel_to_world(0.5 * (t["x_min"] + t["x_max"]), 0.5 * (t["y_min"] + t["y_max"])).icrs
    sep = centres.separation(SkyCoord(t["ra_box"].value, t["dec_box"].value, unit="deg", frame="icrs")).arcsec
    assert sep.max() < 2.0
    assert ((t["ra"] > 271) & (t["ra"] < 274) & (t["dec"] > -21) & (t["dec"] < -19)).all()
    assert t.meta["SURVEY"] == "MAGPIS" and t.meta["FREQ"] == pytest.approx(1.407e9, rel=1e-3)


def test_ir_must_overlap(fake_model):
    other = shared("other-surveys")
    with pytest.raises(UserError, match="does not overlap"):
        fake_model.load().detect(str(shared("first-cutouts") / "J000410+082157.fits"),
                                 ir=str(other / "WISE_J153149.9+113421.7_w1.fits"))


def test_ir_adds_hosts_only_with_the_bundled_radio_only_model():
    """The bundled model was trained without IR: --ir must not change its input, only add host columns."""
    from rgz.detector import Detector

    cut = shared("first-cutouts") / "FIRST_J153149.9+113421.7.fits"
    det = Detector.load()
    assert not det.uses_ir
    plain = det.detect(str(cut))
    with_ir = det.detect(str(cut), ir=str(shared("other-surveys") / "WISE_J153149.9+113421.7_w1.fits"))
    assert len(plain) == len(with_ir) > 0
    for c in plain.colnames:
        if c not in ("ir_ra", "ir_dec"):
            assert np.array_equal(plain[c], with_ir[c], equal_nan=plain[c].dtype.kind == "f"), c
    assert np.isfinite(with_ir["ir_ra"]).any() and not np.isfinite(plain["ir_ra"]).any()


# ---------------------------------------------------------------- CLI polish



def test_cli_regions_suffix_and_beam_checked(fake_model, tmp_path, capsys):
    cut = str(shared("first-cutouts") / "J000410+082157.fits")
    code, err = run_cli([cut, "--regions", str(tmp_path / "r.txt")], capsys)
    assert code != 0 and "end the name with .reg" in err and "Traceback" not in err
    code, err = run_cli([cut, "--beam", "abc"], capsys)
    assert code != 0 and "--beam 'abc'" in err


def test_cli_components_warnings_once_and_singular(fake_model, tmp_path, capsys):
    """Two beamless SkyView images: the missing-beam warning once, no source line; --beam silences it."""
    mira = sorted(shared("mirabest-fields").joinpath("fits").glob("*.fits"))[:2]
    code, err = run_cli([*map(str, mira), "-o", str(tmp_path / "c.csv"), "--components", str(tmp_path / "k.csv")],
                     capsys)
    assert code == 0, err
    beam_lines = [x for x in err.splitlines() if "no beam in the header" in x]
    assert len(beam_lines) == 1 and "(2 files" in beam_lines[0] and "read_radio" not in err
    src, comp = read_catalog(tmp_path / "c.csv"), read_catalog(tmp_path / "k.csv")
    assert set(comp["source_id"]) <= set(src["source_id"]) and len(comp) >= 1
    code, err = run_cli([str(mira[0]), "--beam", "5.4", "-o", str(tmp_path / "d.vot")], capsys)
    assert code == 0 and "no beam" not in err
    n = len(read_catalog(tmp_path / "d.vot"))
    assert f"{n} source{'s' if n != 1 else ''} in 1 image " in err or err.rstrip().endswith("d.vot")
    assert "1 images" not in err and "1 sources" not in err


def test_detect_many_workers_in_a_plain_script(tmp_path):
    """No `if __name__ == '__main__'` guard: the spawned workers must not re-run the script."""
    cuts = sorted(str(p) for p in shared("first-cutouts").glob("J0*.fits"))[:2]
    script = tmp_path / "plain.py"
    script.write_text(textwrap.dedent(f"""
        from rgz import Detector
        det = Detector.load()
        res = det.detect_many({cuts!r}, workers=2)
        print("ROWS", len(res.table), len(res.errors))
        det.close()
    """))
    env = {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env,
                       cwd=tmp_path)
    assert r.returncode == 0 and "ROWS" in r.stdout and " 0" in r.stdout.split("ROWS")[1], r.stderr[-2000:]


def test_plot_labels_never_overlap():
    """Crowded rows: every label drawn keeps clear of the others; the ones with no room are counted in the title."""
    from catalogs import plot_detections

    n = 30
    boxes = np.array([[10 + i, 10 + i, 30 + i, 30 + i] for i in range(n)], float)
    det = _det(boxes=boxes, labels=["1C_1P"] * n, scores=np.full(n, 0.5), n_components=None, n_peaks=None,
               components=None, islands=None, flags=None)
    t, _ = build_tables([det], scheme=SCHEME)
    fig = plot_detections(det.data, det.wcs, t, title="crowded")
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [tx for tx in ax.texts if tx.get_text().startswith("1C_1P")]
    boxes_px = [tx.get_window_extent() for tx in labels]
    for i in range(len(boxes_px)):
        for j in range(i + 1, len(boxes_px)):
            assert not boxes_px[i].overlaps(boxes_px[j]), (labels[i].get_text(), labels[j].get_text())
    assert 0 < len(labels) < n and f"{n - len(labels)} of {n} labels left out" in ax.get_title()
