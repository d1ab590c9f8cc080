"""Reliability (issue 8): bad FITS, interrupted training, bad checkpoints/configs, output faults, bad datasets.

Every case ends either in a result or in ONE line naming the file/option and the problem (a
``claran.errors.UserError``; from the CLI ``Error: ...`` and a non-zero exit), never a traceback, never a
half-written output. Everything here is synthesised in tmp_path: no ../shared/data needed.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from astropy.io import fits
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from claran.errors import CheckpointError, UserError
from cli.main import main
from rgz.fits_io import FitsInputError, read_radio

REPO = Path(__file__).resolve().parents[1]
TRAIN = ["--preset", "tiny", "--no-progress", "--config", "DATA.NUM_WORKERS=0", "TRAIN.EVAL_PERIOD=0", "MODE_MASK=False",
         "TRAIN.STEPS_PER_EPOCH=2", "TRAIN.CHECKPOINT_PERIOD=1", "TRAIN.LOG_PERIOD=1"]


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


def one_error_line(err: str, *words: str) -> str:
    """stderr holds exactly one 'Error: ' line, containing every word, and no traceback."""
    assert "Traceback" not in err, err
    lines = [x for x in err.splitlines() if x.startswith("Error: ")]
    assert len(lines) == 1, err
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


# ---------------------------------------------------------------------------------------------- FITS
def sky_header(**changes) -> fits.Header:
    h = fits.Header()
    h.update(CTYPE1="RA---SIN", CTYPE2="DEC--SIN", CRVAL1=150.0, CRVAL2=2.0, CRPIX1=24.5, CRPIX2=24.5,
             CDELT1=-1.8 / 3600, CDELT2=1.8 / 3600, CUNIT1="deg", CUNIT2="deg", BUNIT="JY/BEAM",
             BMAJ=5.4 / 3600, BMIN=5.4 / 3600, BPA=0.0)
    for k, v in changes.items():
        if v is None:
            h.remove(k, ignore_missing=True)
        else:
            h[k] = v
    return h


def sky_image(shape=(48, 48), seed=0) -> np.ndarray:
    """Noise plus one bright Gaussian source: a usable radio image."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[: shape[-2], : shape[-1]]
    src = 0.05 * np.exp(-((x - shape[-1] / 2) ** 2 + (y - shape[-2] / 2) ** 2) / 8.0)
    return (rng.normal(0, 1.5e-4, shape) + src).astype(np.float32)


def read_quietly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_radio(path)


def check_outcome(path: Path):
    """The contract: a 2-D float32 image with a celestial WCS and finite data, or one FitsInputError line."""
    try:
        img = read_quietly(path)
    except FitsInputError as e:
        msg = str(e)
        assert str(path) in msg and "\n" not in msg, msg
        return msg
    assert img.data.ndim == 2 and img.data.dtype == np.float32 and img.wcs.has_celestial
    assert np.isfinite(img.data).any() and not np.isinf(img.data).any()
    assert img.pixel_scale_arcsec > 0
    return img


_KEYS = ["CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CDELT1", "CDELT2", "CUNIT1", "BUNIT", "NAXIS",
         "NAXIS1", "NAXIS2", "BSCALE", "BZERO", "BLANK", "EQUINOX", "RADESYS", "CROTA2", "PC1_2", "CD1_1", "BMAJ",
         "LONPOLE", "LATPOLE", "WCSAXES", "CTYPE3"]
_VALUES = st.one_of(
    st.sampled_from(["RA---SIN", "DEC--SIN", "RA---TAN", "GLON-CAR", "GLAT-CAR", "FREQ", "STOKES", "VELO-LSR",
                     "RA---XYZ", "", "deg", "arcsec", "JY/BEAM", "MJy/beam", "mJy/beam", "uJy/beam", "K", "Jy/pixel",
                     "ICRS", "garbage"]),
    st.floats(allow_nan=False, allow_infinity=False, width=32), st.integers(-10**6, 10**6), st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=st.lists(st.tuples(st.sampled_from(_KEYS), st.one_of(st.none(), _VALUES)), max_size=3),
       shape=st.sampled_from([(48, 48)] * 4 + [(1, 48, 48), (3, 48, 48), (1, 1, 48, 48), (2, 1, 48, 48), (48,), (0, 48),
                                              (1, 48), (40, 24)]),
       dtype=st.sampled_from(["f4", "f8", "i2", "i4", "u1"]),
       content=st.sampled_from(["sky"] * 5 + ["nan", "zero", "const", "huge", "inf"]),
       where=st.sampled_from(["primary", "extension", "compressed"]))
# found by this fuzzer: astropy's tile decompression raised OverflowError (BLANK -1 in a uint8 image)
@example(mutations=[("BLANK", -1.0)], shape=(48, 48), dtype="u1", content="sky", where="compressed")
def test_fits_header_and_data_mutations(tmp_path_factory, mutations, shape, dtype, content, where):
    """Random WCS/BUNIT/NAXIS mutations, cubes, scaled integers, blanks: a usable image or one clear line."""
    data = sky_image(shape).astype(np.float64) if len(shape) >= 2 and 0 not in shape else np.ones(shape)
    data = {"nan": np.full(shape, np.nan), "zero": np.zeros(shape), "const": np.full(shape, 3.0),
            "huge": data * (1e300 if dtype == "f8" else 1e36), "inf": np.where(data > 0.01, np.inf, data)
            }.get(content, data)
    data = data.astype("f4" if dtype[0] in "iu" else dtype)
    header = sky_header()
    for key, value in mutations:
        if value is None:
            header.remove(key, ignore_missing=True)
        else:
            try:
                header[key] = value
            except (ValueError, TypeError):  # astropy refuses the card itself: nothing to read
                pass
    path = tmp_path_factory.mktemp("fits") / "mutated.fits"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if where == "primary":
                hdul = fits.HDUList([fits.PrimaryHDU(data, header=header)])
            elif where == "extension":
                hdul = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, header=header)])
            else:
                hdul = fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, header=header)])
            if dtype[0] in "iu":  # scaled integers: astropy writes BSCALE/BZERO (and BLANK for NaN)
                hdul[-1].scale({"i2": "int16", "i4": "int32", "u1": "uint8"}[dtype], bscale=1e-5 if dtype != "u1" else 1e-3,
                               bzero=0.0 if dtype != "u1" else 0.1)
            hdul.writeto(path)
    except Exception:  # astropy would not write this combination at all: not an input anyone can have
        event("astropy refuses to write it")
        return
    outcome = check_outcome(path)
    # --hypothesis-show-statistics tells how often each answer came
    event("read" if not isinstance(outcome, str) else "FitsInputError: " + outcome.split(": ", 1)[1].split(" (")[0][:40])


def test_fits_named_cases(tmp_path):
    """Each hand-made case and the exact kind of answer it gets (the table in docs/notes/reliability.md)."""
    good = sky_image()
    cube = np.stack([good, good * 2])

    def write(name, data=None, header=None, hdus=None) -> Path:
        p = tmp_path / f"{name}.fits"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (fits.HDUList(hdus) if hdus else fits.HDUList([fits.PrimaryHDU(data, sky_header() if header is None else header)])).writeto(p)
        return p

    expect_error = {
        "allnan": (write("allnan", np.full((48, 48), np.nan, np.float32)), "no finite pixels"),
        "allzero": (write("allzero", np.zeros((48, 48), np.float32)), "is blank"),
        "zerosize": (write("zerosize", np.zeros((0, 48), np.float32)), "no finite pixels"),
        "nowcs": (write("nowcs", good, fits.Header()), "no celestial WCS"),
        "freq_axis": (write("freq", good, sky_header(CTYPE1="FREQ")), "Unmatched celestial axes"),
        "two_dec": (write("twodec", good, sky_header(CTYPE1="DEC--SIN")), "Inconsistent projection"),
        "singular": (write("singular", good, sky_header(CDELT1=0.0)), "singular"),
        "bad_proj": (write("badproj", good, sky_header(CTYPE1="RA---XYZ", CTYPE2="DEC--XYZ")), "projection code"),
        "mega_jy": (write("mega", good, sky_header(BUNIT="MJy/beam")), "mega-Jansky"),
        "cube": (write("cube", cube, sky_header(CTYPE3="FREQ", CRVAL3=1.4e9, CDELT3=1e6, CRPIX3=1)), "not a 2-D image"),
        "cube4": (write("cube4", cube[:, None], sky_header(CTYPE3="FREQ", CRVAL3=1.4e9, CDELT3=1e6, CRPIX3=1,
                                                          CTYPE4="STOKES", CRVAL4=1, CDELT4=1, CRPIX4=1)),
                  "not a 2-D image"),
        "overflow": (write("overflow", good.astype(np.float64) * 1e300), "beyond float32"),
        "table": (write("table", hdus=[fits.PrimaryHDU(), fits.BinTableHDU.from_columns(
            [fits.Column(name="a", format="E", array=np.zeros(3))])]), "no image HDU"),
        "text": (tmp_path / "text.fits", "not a readable FITS"),
        "empty": (tmp_path / "empty.fits", "not a readable FITS"),
        "missing": (tmp_path / "missing.fits", "no such file"),
    }
    (tmp_path / "text.fits").write_text("SIMPLE = T but not really\n")
    (tmp_path / "empty.fits").write_bytes(b"")
    raw = write("whole", good).read_bytes()
    for n in (100, 2880, 2880 + 1000):  # inside the header, just after it, inside the data
        (tmp_path / f"trunc{n}.fits").write_bytes(raw[:n])
        expect_error[f"trunc{n}"] = (tmp_path / f"trunc{n}.fits", "not a readable FITS" if n < 2880 else "shorter than")
    # NAXIS1 says 64 but the data hold 48 columns
    (tmp_path / "naxis.fits").write_bytes(raw.replace(b"NAXIS1  =                   48", b"NAXIS1  =                   64"))
    expect_error["naxis_mismatch"] = (tmp_path / "naxis.fits", "shorter than NAXISn")
    for case, (path, words) in expect_error.items():
        msg = check_outcome(path)
        assert isinstance(msg, str) and words in msg, (case, msg)

    expect_ok = {
        "extension": write("ext", hdus=[fits.PrimaryHDU(), fits.ImageHDU(good, sky_header())]),
        "compressed": write("comp", hdus=[fits.PrimaryHDU(), fits.CompImageHDU(good, sky_header())]),
        "scaled_int": write("scaled", hdus=[fits.PrimaryHDU(good, sky_header())]),
        "degenerate_4d": write("deg4", good[None, None], sky_header(CTYPE3="FREQ", CRVAL3=1.4e9, CDELT3=1e6, CRPIX3=1,
                                                                    CTYPE4="STOKES", CRVAL4=1, CDELT4=1, CRPIX4=1)),
        "naxis3_on_2d": write("naxis3", good, sky_header(NAXIS=3)),
        "huge": write("huge", good * 1e36, sky_header(BUNIT="K")),
        "some_inf": write("someinf", np.where(good > 0.02, np.inf, good)),
        "odd_bunit": write("oddbunit", good, sky_header(BUNIT="Jy/pixel")),
        "mjy": write("mjy", good * 1e3, sky_header(BUNIT="mJy/beam")),
    }
    with fits.open(expect_ok["scaled_int"], mode="update") as hdul:  # int16 on disk, BSCALE 1e-5
        hdul[0].scale("int16", bscale=1e-5, bzero=0.0)
    assert fits.getheader(expect_ok["scaled_int"])["BITPIX"] == 16
    for case, path in expect_ok.items():
        img = check_outcome(path)
        assert not isinstance(img, str), (case, img)
    assert np.allclose(read_quietly(expect_ok["scaled_int"]).data, good, atol=1e-5)
    assert np.allclose(read_quietly(expect_ok["mjy"]).data, good, rtol=1e-5)  # mJy -> Jy/beam
    assert np.isnan(read_quietly(expect_ok["some_inf"]).data).sum() == (good > 0.02).sum()  # inf = blank


def test_detect_cli_bad_fits_batch(fake_model, tmp_path, capsys):
    """Through `claran detect`: each bad file is one 'skipped: <file>: ...' line, good files are catalogued."""
    d = tmp_path / "in"
    d.mkdir()
    good = [d / "good1.fits", d / "good2.fits"]
    for i, p in enumerate(good):
        fits.writeto(p, sky_image(seed=i), sky_header())
    fits.writeto(d / "nan.fits", np.full((48, 48), np.nan, np.float32), sky_header())
    fits.writeto(d / "cube.fits", np.stack([sky_image()] * 2), sky_header(CTYPE3="FREQ", CRVAL3=1.4e9, CDELT3=1e6,
                                                                             CRPIX3=1))
    fits.writeto(d / "freq.fits", sky_image(), sky_header(CTYPE1="FREQ"))
    (d / "trunc.fits").write_bytes(good[0].read_bytes()[:3000])
    before = {p: p.read_bytes() for p in d.iterdir()}
    out = tmp_path / "cat.csv"
    code, _, err = run_cli(["detect", str(d), "--output", str(out)], capsys)
    assert code == 1 and "Traceback" not in err
    skipped = sorted(x for x in err.splitlines() if x.startswith("skipped: "))
    assert len(skipped) == 4, err
    for name, word in (("cube", "2-D"), ("freq", "WCS"), ("nan", "finite"), ("trunc", "readable")):
        assert any(str(d / f"{name}.fits") in s and word in s for s in skipped), (name, skipped)
    from catalogs import read_catalog

    assert set(read_catalog(out)["image"]) == {str(p) for p in good}
    assert {p: p.read_bytes() for p in d.iterdir()} == before  # inputs untouched


# ---------------------------------------------------------------------------------------------- training
def _claran() -> list[str]:
    return [sys.executable, "-c", "from cli.main import main; main()"]


def _logged_past_checkpoint(log: Path) -> bool:
    steps = [int(p.stem.split("-")[1]) for p in log.glob("model-*.pt")]
    try:
        logged = [json.loads(x)["step"] for x in (log / "metrics.jsonl").read_text().splitlines()]
    except (OSError, ValueError):  # a line being written
        return False
    return bool(steps) and max(steps) + 1 in logged


def test_sigkill_resume_and_truncated_checkpoint(tiny_coco, tmp_path, capsys, caplog):
    """SIGKILL a `claran train` mid-run; the next run resumes at the newest complete checkpoint with the same
    step and learning rate; a truncated newest checkpoint is skipped with a message naming it."""
    caplog.set_level(logging.INFO, logger="claran")
    log = tmp_path / "log"
    args = ["train", "--dataset", "coco", "--data", str(tiny_coco), "--logdir", str(log), *TRAIN]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    proc = subprocess.Popen([*_claran(), *args, "TRAIN.MAX_STEPS=40"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        # kill once two checkpoints are written and the step after the newest one is logged: mid-run, with
        # work past the checkpoint that is lost and must be redone identically
        while not ((log / "model-4.pt").exists() and _logged_past_checkpoint(log)):
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    steps = sorted(int(p.stem.split("-")[1]) for p in log.glob("model-*.pt"))
    newest = steps[-1]
    assert newest >= 4 and newest < 40  # killed mid-run
    killed_lines = [json.loads(x) for x in (log / "metrics.jsonl").read_text().splitlines() if x.strip()]
    # what a kill in the middle of writing leaves: a half line of metrics, a half-written checkpoint temp file
    with open(log / "metrics.jsonl", "a") as f:
        f.write('{"step": 99, "total_lo')
    (log / f".model-{newest + 2}.pt.abc123.tmp").write_bytes(b"PK\x03\x04 half a checkpoint")

    # resume in-process for two more steps: starts at `newest`, same LR as the uninterrupted schedule
    from claran.engine.checkpoint import load_checkpoint
    from claran.engine.trainer import LRSchedule
    from cli.train import build_config

    cfg = build_config("coco", str(tiny_coco), "tiny", tuple(TRAIN[4:]) + ("TRAIN.MAX_STEPS=40",))
    cfg.finalize(is_training=True, num_devices=1)
    schedule = LRSchedule(cfg)
    target = newest + 2
    code, out, err = run_cli([*args, f"TRAIN.MAX_STEPS={target}"], capsys)
    assert code == 0, err
    assert f"resuming from {log / f'model-{newest}.pt'} at step {newest}" in caplog.text
    ckpt = load_checkpoint(log / f"model-{target}.pt")
    assert ckpt["step"] == target
    assert not list(log.glob(".*.tmp"))
    # metrics.jsonl: the killed run's lines up to the checkpoint, then the resumed ones, each step once
    lines = [json.loads(x) for x in (log / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == list(range(1, target + 1))
    assert lines[:newest] == [k for k in killed_lines if k["step"] <= newest]
    for x in lines:  # the same learning rate at every step as an uninterrupted run
        assert x["lr"] == pytest.approx(schedule(x["step"] - 1), rel=1e-12)
    for k in killed_lines:  # where the killed run got past its checkpoint, the redone step is the same step
        if k["step"] > newest and k["step"] <= target:
            assert lines[k["step"] - 1]["lr"] == pytest.approx(k["lr"], rel=1e-12)
            assert lines[k["step"] - 1]["total_loss"] == pytest.approx(k["total_loss"], rel=1e-5)

    # truncate the newest checkpoint (a crash of a copy, a full disk elsewhere): the one before is used
    newest_path = log / f"model-{target}.pt"
    newest_path.write_bytes(newest_path.read_bytes()[: newest_path.stat().st_size // 2])
    caplog.clear()
    code, out, err = run_cli([*args, f"TRAIN.MAX_STEPS={target + 1}"], capsys)
    assert code == 0, err
    assert f"{newest_path}: not a readable checkpoint" in caplog.text and "skipped for resuming" in caplog.text
    assert f"resuming from {log / f'model-{newest}.pt'} at step {newest}" in caplog.text
    assert load_checkpoint(log / f"model-{target}.pt")["step"] == target  # rewritten whole
    assert load_checkpoint(log / f"model-{target + 1}.pt")["step"] == target + 1


# ---------------------------------------------------------------------------------------------- checkpoints/configs
@pytest.fixture(scope="module")
def coco_ckpt(tmp_path_factory) -> Path:
    """A random-weight tiny checkpoint as `claran train --dataset coco` writes it (3 classes, no RGZ)."""
    from claran import Config
    from claran.config import get_preset
    from claran.engine.checkpoint import save_checkpoint
    from claran.modeling import build_model

    cfg = Config()
    get_preset("tiny")(cfg)
    cfg.MODE_MASK = False
    cfg.DATA.CLASS_NAMES = ["square", "disc", "triangle"]
    cfg.finalize(is_training=False)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "coco-tiny.pt"
    save_checkpoint(path, model=build_model(cfg), cfg=cfg, step=3)
    return path


def _bad_checkpoints(d: Path, coco_ckpt: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, words its one error line must contain)."""
    (d / "notes.pt").write_text("not a checkpoint\n")
    torch.save(torch.nn.Linear(2, 2).state_dict(), d / "statedict.pt")  # plain weights, e.g. from torchvision
    raw = coco_ckpt.read_bytes()
    (d / "truncated.pt").write_bytes(raw[: len(raw) // 3])
    ck = torch.load(coco_ckpt, weights_only=False)
    ck["config"]["BACKBONE"]["RESNET_NUM_BLOCKS"] = [2, 2, 2, 2]  # config says another architecture than the weights
    torch.save(ck, d / "otherarch.pt")
    ck["config"]["BACKBONE"]["RESNET_NUM_BLOCKS"] = [1, 1, 1, 1]
    ck["model"] = torch.nn.Linear(2, 2).state_dict()  # well-formed, but no tensor fits any R-CNN
    torch.save(ck, d / "foreign.pt")
    ck = torch.load(coco_ckpt, weights_only=False)
    ck["config"]["TRAIN"]["BASE_LR"] = "fast"  # a config value of the wrong type inside the checkpoint
    torch.save(ck, d / "badconfig.pt")
    return {"notes": (d / "notes.pt", "not a readable checkpoint"),
            "statedict": (d / "statedict.pt", "not a claran checkpoint"),
            "truncated": (d / "truncated.pt", "truncated"),
            "otherarch": (d / "otherarch.pt", "do not fit the architecture its config describes (40 missing"),
            "foreign": (d / "foreign.pt", "fit"),
            "badconfig": (d / "badconfig.pt", "config is not valid (config TRAIN.BASE_LR='fast': expected float"),
            "missing": (d / "missing.pt", "not found")}


def test_bad_checkpoints_cli(coco_ckpt, tiny_coco, tmp_path, capsys):
    """detect --model, evaluate --load and train --load: one line naming the file, non-zero exit."""
    fits_file = tmp_path / "sky.fits"
    fits.writeto(fits_file, sky_image(), sky_header())
    for name, (path, words) in _bad_checkpoints(tmp_path, coco_ckpt).items():
        for argv in (["detect", str(fits_file), "--model", str(path)],
                     ["evaluate", "--load", str(path), "--dataset", "coco", "--data", str(tiny_coco), "--no-progress"],
                     ["train", "--dataset", "coco", "--data", str(tiny_coco), "--logdir", str(tmp_path / f"log-{name}"),
                      "--load", str(path), *TRAIN, "TRAIN.MAX_STEPS=1"]):
            if argv[0] == "train" and name in ("otherarch", "badconfig"):
                continue  # --load takes the tensors whose names and shapes fit (SmartInit): not an error
            code, _, err = run_cli(argv, capsys)
            assert code != 0, (name, argv[0])
            one_error_line(err, str(path), words)
    # a valid checkpoint of the wrong kind: a COCO model for radio images, 3 classes for a 6-class dataset
    code, _, err = run_cli(["detect", str(fits_file), "--model", str(coco_ckpt)], capsys)
    assert code != 0
    one_error_line(err, str(coco_ckpt), "not a radio-galaxy model")


def test_resume_into_logdir_of_another_architecture(coco_ckpt, tiny_coco, tmp_path, capsys):
    log = tmp_path / "log"
    log.mkdir()
    (log / "model-3.pt").write_bytes(coco_ckpt.read_bytes())  # tiny, no mask head
    code, _, err = run_cli(["train", "--dataset", "coco", "--data", str(tiny_coco), "--logdir", str(log),
                            *TRAIN, "TRAIN.MAX_STEPS=5", "MODE_MASK=True"], capsys)
    assert code != 0
    one_error_line(err, str(log / "model-3.pt"), "another architecture", "--logdir")
    assert sorted(p.name for p in log.iterdir()) == ["model-3.pt"]


@pytest.mark.parametrize("override,words", [
    ("TRAIN.MAX_STEP=4", "TRAIN.MAX_STEPS"),  # typo: the closest key is named
    ("TRAIN.MAX_STEPS=abc", "expected int"),
    ("TRAIN.BASE_LR=[1]", "expected float"),
    ("MODE_MASK=3", "expected bool"),
    ("TRAIN.MAX_STEPS", "KEY=VALUE"),
])
def test_bad_config_cli(override, words, tiny_coco, tmp_path, capsys):
    log = tmp_path / "log"
    code, _, err = run_cli(["train", "--dataset", "coco", "--data", str(tiny_coco), "--logdir", str(log),
                            "--preset", "tiny", "--config", override], capsys)
    assert code != 0
    one_error_line(err, words)
    assert not log.exists()  # nothing written for a rejected config


# ---------------------------------------------------------------------------------------------- outputs
@pytest.fixture
def sky_dir(tmp_path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for i in range(2):
        fits.writeto(d / f"sky{i}.fits", sky_image(seed=i), sky_header())
    return d


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_existing_output_needs_overwrite(fake_model, sky_dir, tmp_path, capsys):
    out = tmp_path / "cat.vot"
    out.write_text("precious\n")
    inputs = _snapshot(sky_dir)
    code, _, err = run_cli(["detect", str(sky_dir), "--output", str(out)], capsys)
    assert code != 0
    one_error_line(err, str(out), "--overwrite")
    assert out.read_text() == "precious\n"
    code, _, err = run_cli(["detect", str(sky_dir), "--output", str(out), "--overwrite"], capsys)
    assert code == 0, err
    assert out.read_text().startswith("<?xml") and _snapshot(sky_dir) == inputs


def test_evaluate_existing_output_needs_overwrite(coco_ckpt, tiny_coco, tmp_path, capsys):
    res = tmp_path / "res.json"
    res.write_text("[]")
    argv = ["evaluate", "--load", str(coco_ckpt), "--dataset", "coco", "--data", str(tiny_coco), "--output", str(res),
            "--no-progress"]
    code, _, err = run_cli(argv, capsys)
    assert code != 0
    one_error_line(err, str(res), "--overwrite")
    assert res.read_text() == "[]" and not res.with_suffix(".metrics.json").exists()
    code, out, err = run_cli([*argv, "--overwrite"], capsys)
    assert code == 0, err
    assert isinstance(json.loads(res.read_text()), list) and res.with_suffix(".metrics.json").is_file()


def test_unwritable_output_folder(fake_model, sky_dir, tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code, _, err = run_cli(["detect", str(sky_dir), "--output", str(blocker / "cat.csv")], capsys)
    assert code != 0
    one_error_line(err, "cat.csv", "not a writable folder")
    if os.geteuid() != 0:  # root may write anywhere: the permission case only means something for users
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        try:
            code, _, err = run_cli(["detect", str(sky_dir), "--output", str(ro / "cat.csv")], capsys)
            assert code != 0
            one_error_line(err, str(ro / "cat.csv"), "is not a writable folder")
        finally:
            ro.chmod(0o755)


def _fail_midway(write_some):
    """A writer that writes part of its file, then meets a full disk."""

    def writer(*args, **kwargs):
        path = write_some(*args, **kwargs)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    return writer


def test_disk_full_catalogue(fake_model, sky_dir, tmp_path, capsys, monkeypatch):
    """ENOSPC while the catalogue is written: the old file stays whole, no temp file remains, one line."""
    import catalogs.io

    def partial(table, path, *rest):
        Path(path).write_text("<?xml version='1.0'?><VOTABLE><RESOURCE>")  # cut off
        return path

    monkeypatch.setattr(catalogs.io, "_write_votable", _fail_midway(partial))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "cat.vot"
    out.write_text("old catalogue\n")
    inputs = _snapshot(sky_dir)
    code, _, err = run_cli(["detect", str(sky_dir), "--output", str(out), "--overwrite"], capsys)
    assert code != 0
    one_error_line(err, str(out), "No space left on device")
    assert out.read_text() == "old catalogue\n"
    assert [p.name for p in out_dir.iterdir()] == ["cat.vot"]
    assert _snapshot(sky_dir) == inputs


def test_disk_full_checkpoint(coco_ckpt, tmp_path, monkeypatch):
    """ENOSPC inside torch.save: the previous checkpoint stays loadable and no partial/temp file is left."""
    from claran.engine import checkpoint as ckpt_mod

    model, ck = ckpt_mod.load_model(coco_ckpt)
    from claran import Config

    cfg = Config.from_dict(ck["config"], freeze=True)
    log = tmp_path / "log"
    ckpt_mod.save_checkpoint(log / "model-2.pt", model=model, cfg=cfg, step=2)
    real_save = torch.save

    def partial(obj, f, *a, **k):
        real_save({"format": "claran-checkpoint"}, f)  # some bytes reach the disk
        return getattr(f, "name", f)

    monkeypatch.setattr(torch, "save", _fail_midway(partial))
    with pytest.raises(OSError) as e:
        ckpt_mod.save_checkpoint(log / "model-4.pt", model=model, cfg=cfg, step=4)
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(log / "model-4.pt")  # not the temp name
    monkeypatch.undo()
    assert [p.name for p in log.iterdir()] == ["model-2.pt"]
    assert ckpt_mod.load_checkpoint(log)["step"] == 2  # the folder resolves to the newest complete one


# ---------------------------------------------------------------------------------------------- datasets
def test_bad_coco_entries_are_counted_and_skipped(tiny_coco, tmp_path, capsys, caplog):
    import shutil

    root = tmp_path / "coco"
    shutil.copytree(tiny_coco, root)
    ann_file = root / "annotations" / "instances_train2017.json"
    doc = json.loads(ann_file.read_text())
    good_anns = len(doc["annotations"])
    w, h = doc["images"][0]["width"], doc["images"][0]["height"]
    next_id = iter(range(10_000, 20_000))

    def add(bbox, **kw):
        a = {"id": next(next_id), "image_id": 1, "category_id": 2, "iscrowd": 0, "area": 10.0, **kw}
        if bbox is not None:
            a["bbox"] = bbox
        doc["annotations"].append(a)

    add([10, 10, 0, 5]), add([10, 10, -5, 5])  # zero / negative size
    add([w + 5, 5, 10, 10]), add([-40, -40, 10, 10]), add([5, h + 1, 4, 4])  # outside the image
    add([10, 10, 5, 5], category_id=77), add([10, 10, 5, 5], category_id=88)  # unknown categories
    add([10, 10, 5]), add(None), add(["a", 1, 2, 3])  # no valid bbox
    add([10, 10, 5, 5], image_id=999)  # an image that is not in `images`
    add([10, 10, 5, 5], segmentation=[[1, 2, 3, 4, 5, 6, 7]])  # odd-length polygon: box used as its mask
    doc["images"].append({"id": 50, "file_name": "missing.png", "width": w, "height": h})
    add([10, 10, 5, 5], image_id=50)
    ann_file.write_text(json.dumps(doc))

    log = tmp_path / "log"
    code, out, err = run_cli(["train", "--dataset", "coco", "--data", str(root), "--logdir", str(log),
                              "--preset", "tiny", "--no-progress", "--config", "DATA.NUM_WORKERS=0",
                              "TRAIN.EVAL_PERIOD=0", "TRAIN.MAX_STEPS=2", "MODE_MASK=True"], capsys)
    assert code == 0, err
    assert "skipped 3 annotations with no valid bbox [x, y, w, h] and 1 whose image_id is not in images" in caplog.text
    assert ("skipped 3 boxes (outside the image), 2 boxes (unknown category id), 2 boxes (zero or negative size), "
            "1 images (missing file)") in caplog.text
    assert (log / "model-2.pt").is_file()  # training went on with the good entries
    from claran.data import COCODetection
    from claran.data.dataset import sanitize_roidbs

    split = COCODetection(json_file=ann_file, image_root=root / "train2017")
    kept = sanitize_roidbs(split.training_roidbs(), num_category=3, name="t", split=split)
    assert sum(len(r["boxes"]) for r in kept) == good_anns + 1  # + the odd-polygon one, boxed
    for r in kept:
        b = r["boxes"]
        assert ((b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])).all() and (b >= 0).all()
        assert (b[:, 2] <= w).all() and (b[:, 3] <= h).all() and ((r["class"] >= 1) & (r["class"] <= 3)).all()


def test_dataset_with_nothing_usable_is_one_line(tiny_coco, tmp_path, capsys):
    import shutil

    root = tmp_path / "coco"
    shutil.copytree(tiny_coco, root)
    ann_file = root / "annotations" / "instances_train2017.json"
    doc = json.loads(ann_file.read_text())
    for a in doc["annotations"]:
        a["bbox"] = [0, 0, 0, 0]
    ann_file.write_text(json.dumps(doc))
    code, _, err = run_cli(["train", "--dataset", "coco", "--data", str(root), "--logdir", str(tmp_path / "log"),
                            *TRAIN, "TRAIN.MAX_STEPS=1"], capsys)
    assert code != 0
    one_error_line(err, "coco_train2017", "no image with a usable box")
    (root / "annotations" / "instances_train2017.json").write_text("{not json")
    code, _, err = run_cli(["train", "--dataset", "coco", "--data", str(root), "--logdir", str(tmp_path / "log"),
                            *TRAIN, "TRAIN.MAX_STEPS=1"], capsys)
    assert code != 0
    one_error_line(err, "instances_train2017.json")


def test_user_errors_are_user_errors():
    assert issubclass(FitsInputError, UserError) and issubclass(CheckpointError, UserError)
