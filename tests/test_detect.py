"""rgz.Detector and `claran detect` on real FIRST cutouts and a batch of broken inputs.

Most tests stand a deterministic island finder in for the network (the CLI, tiling, merging, error handling
and writers are what is tested here); ``test_real_tiny_model_cli`` runs a random-weight tiny checkpoint
through the real ``claran`` executable.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.io.votable import validate

from claran.errors import UserError

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CUTOUTS = DATA / "first-cutouts"
VLASS = DATA / "other-surveys" / (
    "VLASS__3.1.ql.T08t01.J001357.17-091951.5.10.2048.v2.I.iter1.image.pbcor.tt0.subim_s2.0arcmin_.fits")
WISE = DATA / "other-surveys" / "WISE_J153149.9+113421.7_w1.fits"

pytestmark = pytest.mark.skipif(not CUTOUTS.is_dir(), reason="../shared/data is absent")


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    from cli.main import main

    try:
        main(["detect", *args])
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out + out.err


def _sky_inside_box(table) -> None:
    """Every row's (ra, dec) maps back inside its own box on its own image."""
    from rgz.fits_io import read_radio

    for row in table:
        w = read_radio(str(row["image"])).wcs
        x, y = w.world_to_pixel_values(row["ra"], row["dec"])
        assert row["x_min"] - 1e-6 <= x <= row["x_max"] + 1e-6 and row["y_min"] - 1e-6 <= y <= row["y_max"] + 1e-6


def test_all_cutouts_cli(fake_model, tmp_path, capsys):
    from regions import Regions

    from catalogs import read_catalog

    out, reg, plots = tmp_path / "cat.vot", tmp_path / "cat.reg", tmp_path / "plots"
    code, text = run_cli([str(CUTOUTS), "--output", str(out), "--regions", str(reg), "--plot-dir", str(plots)], capsys)
    assert code == 0, text
    report = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert validate(str(out), output=report), report.getvalue()
    t = read_catalog(out)
    assert len(t) >= 14 and set(t["image"]) == {str(p) for p in CUTOUTS.glob("*.fits")}
    from astropy.table import Table

    assert len(Table.read(out)) == len(t)  # one table: plain astropy (and the project's scorer) read it as it is
    _sky_inside_box(t)
    assert len(Regions.read(str(reg), format="ds9")) == len(t)
    assert sorted(p.stem for p in plots.glob("*.png")) == sorted(p.stem for p in CUTOUTS.glob("*.fits"))
    assert "skipped" not in text and f"{len(t)} sources in 14 images" in text


def _bad_inputs(d: Path) -> dict[str, str]:
    """Broken files -> a word their error line must contain."""
    good = CUTOUTS / "J000410+082157.fits"
    (d / "empty.fits").write_bytes(b"")
    (d / "truncated.fits").write_bytes(good.read_bytes()[:4000])
    (d / "notes.fits").write_text("this is not a FITS file\n")
    h = fits.getheader(good)
    fits.writeto(d / "allnan.fits", np.full((50, 50), np.nan, np.float32), h)
    fits.writeto(d / "nowcs.fits", np.random.default_rng(0).normal(size=(50, 50)).astype(np.float32))
    return {"empty.fits": "empty.fits", "truncated.fits": "truncated", "notes.fits": "notes.fits",
            "allnan.fits": "finite", "nowcs.fits": "celestial", "missing.fits": "no such file"}


def test_mixed_batch_cli(fake_model, tmp_path, capsys):
    from catalogs import read_catalog

    bad = _bad_inputs(tmp_path)
    goods = [str(CUTOUTS / "J000410+082157.fits"), str(CUTOUTS / "FIRST_J153149.9+113421.7.fits"), str(VLASS)]
    out = tmp_path / "cat.ecsv"
    code, text = run_cli([*goods, *(str(tmp_path / b) for b in bad), "--output", str(out)], capsys)
    assert code == 1
    assert "Traceback" not in text
    skipped = [line for line in text.splitlines() if line.startswith("skipped: ")]
    assert len(skipped) == len(bad), text
    for name, word in bad.items():
        line = next(s for s in skipped if str(tmp_path / name) in s)
        assert word.lower() in line.lower(), line
    t = read_catalog(out)
    assert set(t["image"]) == set(goods)  # the VLASS cube (degenerate axes) is usable: catalogued
    _sky_inside_box(t)


def test_outputs_checked_before_work(tmp_path, capsys, monkeypatch):
    from rgz.detector import Detector

    def must_not_load(*a, **k):
        raise AssertionError("model loaded before the outputs were checked")

    monkeypatch.setattr(Detector, "load", classmethod(must_not_load))
    (tmp_path / "cat.vot").write_text("old")
    code, text = run_cli([str(CUTOUTS), "--output", str(tmp_path / "cat.vot")], capsys)
    assert code == 2 and "exists" in text and "--overwrite" in text
    assert (tmp_path / "cat.vot").read_text() == "old"
    (tmp_path / "afile").write_text("x")
    code, text = run_cli([str(CUTOUTS), "--output", str(tmp_path / "afile" / "cat.vot")], capsys)
    assert code == 2 and "not a writable folder" in text
    code, text = run_cli([str(CUTOUTS), "--output", str(tmp_path / "cat.txt")], capsys)
    assert code == 2 and "unknown catalogue format" in text
    (tmp_path / "emptydir").mkdir()
    code, text = run_cli([str(tmp_path / "emptydir")], capsys)
    assert code == 2 and "no FITS files found" in text


def test_default_model_missing_is_one_line():
    from rgz.detector import Detector, default_model_path

    if (REPO / "rgz" / "models" / "default.pt").is_file():
        assert default_model_path().is_file()
        return
    with pytest.raises(UserError, match="no bundled default model.*--model"):
        Detector.load()


def test_python_api_tiles_and_merges(fake_model):
    """A 300x300 px (9') image is tiled into overlapping 3' frames; a source seen by several tiles is one row."""
    import torch
    from torchvision.ops import box_iou

    det = fake_model.load()
    path = sorted((DATA / "mirabest-sample").glob("*.fits"))[0]
    res = det.detect_many([path])
    pending = det._prepare(str(path), None, {})
    assert len(pending.frames) > 1
    t = res.table
    assert len(t) > 0
    b = torch.tensor(np.stack([t[k] for k in ("x_min", "y_min", "x_max", "y_max")], 1).astype(np.float32))
    iou = box_iou(b, b) - torch.eye(len(b))
    assert float(iou.max()) < det.nms_thresh
    # the same field in two copies gives the same sources in each (sky positions agree)
    with pytest.raises(UserError, match="no such file"):
        det.detect("/nonexistent/x.fits")


def test_ir_host_and_plot(fake_model):
    det = fake_model.load()
    path = CUTOUTS / "FIRST_J153149.9+113421.7.fits"
    t = det.detect(str(path), ir=str(WISE))
    assert len(t) and np.isfinite(t["ir_ra"]).any()
    fig = det.plot(str(path), t, ir=str(WISE))
    assert len(fig.axes[0].patches) == len(t) + 1  # the boxes and the beam
    # the contours are the class rule's levels (RGZ's 5.2, 9, 15.6 sigma), so peaks counted by eye are the rule's
    from matplotlib.contour import ContourSet

    from rgz.contours import noise_sigma
    from rgz.fits_io import read_radio

    levels = next(c for c in fig.axes[0].collections if isinstance(c, ContourSet)).levels
    assert levels[0] == pytest.approx(det.rules.level_sigma * noise_sigma(read_radio(str(path)).data), rel=1e-5)
    assert levels[1] / levels[0] == pytest.approx(det.rules.level_factor)
    assert any("5.2, 9, 15.6" in tx.get_text() for tx in fig.axes[0].texts)


def test_torchrun_shards_and_merges(tmp_path):
    """Two gloo processes each take half of the files; rank 0 writes one catalogue with all of them."""
    runner = tmp_path / "runner.py"
    runner.write_text(
        "import sys\n"
        f"sys.path[:0] = [{str(REPO)!r}, {str(Path(__file__).parent)!r}]\n"
        "from stand_ins import island_load\n"
        "from rgz.detector import Detector\n"
        "Detector.load = classmethod(island_load)\n"
        "from cli.main import main\n"
        "main(sys.argv[1:])\n")
    files = sorted(str(p) for p in CUTOUTS.glob("*.fits"))[:5]
    out = tmp_path / "cat.csv"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                        str(runner), "detect", *files, "--output", str(out)],
                       capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    from catalogs import read_catalog

    t = read_catalog(out)
    assert set(t["image"]) == set(files)
    assert list(dict.fromkeys(t["image"])) == files  # input order restored


def _tiny_checkpoint(path: Path) -> Path:
    import torch

    from claran import Config
    from claran.config import get_preset
    from claran.engine.checkpoint import save_checkpoint
    from claran.modeling import build_model
    from rgz import RGZ_CLASSES

    cfg = Config()
    get_preset("tiny")(cfg)
    cfg.MODE_MASK = False
    cfg.DATA.CLASS_NAMES = list(RGZ_CLASSES)
    cfg.extend({"RGZ.REPRESENTATION": "D1", "RGZ.FRAME_SIZE": 132, "RGZ.PIXEL_SCALE": 1.3748})
    cfg.finalize(is_training=False)
    torch.manual_seed(0)
    model = build_model(cfg)
    save_checkpoint(path, model=model, cfg=cfg,
                    extra={"rgz": {"representation": "D1", "frame_size": 132, "pixel_scale_arcsec": 1.3748,
                                           "classes": list(RGZ_CLASSES)}})
    return path


def test_real_tiny_model_cli(tmp_path):
    pytest.importorskip("claran.predictor", reason="claran.Predictor not written yet")
    ckpt = _tiny_checkpoint(tmp_path / "tiny.pt")
    exe = shutil.which("claran") or sys.exit("claran not installed")
    files = [str(p) for p in sorted(CUTOUTS.glob("*.fits"))[:3]]
    out = tmp_path / "cat.vot"
    r = subprocess.run([exe, "detect", *files, "--model", str(ckpt), "--min-score", "0", "--output", str(out),
                        "--regions", str(tmp_path / "c.reg"), "--plot-dir", str(tmp_path / "p")],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    from catalogs import read_catalog

    t = read_catalog(out)
    assert set(t["image"]) <= set(files) and len(list((tmp_path / "p").glob("*.png"))) == 3
    _sky_inside_box(t)
    probs = np.stack([np.asarray(t[f"score_{c}"], dtype=float) for c in ("1C_1P", "1C_2P", "1C_3P", "2C_2P", "2C_3P", "3C_3P")], 1)
    assert np.all((probs >= 0) & (probs <= 1))
