"""claran train / evaluate / predict from the command line, torchrun with gloo included."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main

TINY = ["--preset", "tiny", "--no-progress"]


def _run(argv, capsys):
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_config_typo_names_closest_keys(tiny_coco, tmp_path, capsys):
    code, _, err = _run(["train", "--dataset", "coco", "--data", str(tiny_coco), "--logdir", str(tmp_path),
                         "--config", "TRAIN.MAX_STEP=4"], capsys)
    assert code != 0
    lines = [x for x in err.splitlines() if x.startswith("Error")]
    assert len(lines) == 1 and "TRAIN.MAX_STEPS" in lines[0] and "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_unknown_dataset_lists_known_ones(capsys):
    code, _, err = _run(["train", "--dataset", "imagenet"], capsys)
    assert code != 0 and "known datasets:" in err and "coco" in err and "Traceback" not in err


def test_list_config_and_help(tiny_coco, capsys):
    code, out, _ = _run(["train", "--dataset", "coco", "--data", str(tiny_coco), "--preset", "tiny",
                         "--list-config", "--config", "TRAIN.BASE_LR=0.5", "MODE_MASK=False"], capsys)
    assert code == 0 and "TRAIN.BASE_LR = 0.5" in out and "MODE_MASK = False" in out
    for cmd in ("train", "evaluate", "predict"):
        code, out, _ = _run([cmd, "--help"], capsys)
        assert code == 0 and "--load" in out


def test_train_evaluate_predict_cli(tiny_coco, tmp_path, capsys):
    log = tmp_path / "log"
    code, out, err = _run(["train", "--dataset", "coco", "--data", str(tiny_coco), "--logdir", str(log), *TINY,
                           "--config", "TRAIN.MAX_STEPS=2", "DATA.NUM_WORKERS=0", "TRAIN.EVAL_PERIOD=0"], capsys)
    assert code == 0, err
    assert (log / "model-2.pt").is_file()
    res = tmp_path / "eval" / "results.json"
    code, out, err = _run(["evaluate", "--load", str(log / "model-2.pt"), "--dataset", "coco", "--data",
                           str(tiny_coco), "--output", str(res), "--no-progress"], capsys)
    assert code == 0, err
    assert "mAP(bbox)/IoU=0.5:0.95" in out and "mAR(segm)/maxDets=100" in out
    assert len(json.loads(res.with_suffix(".metrics.json").read_text())["coco_val2017"]) == 24
    bad = tmp_path / "broken.png"
    bad.write_text("not a png")
    good = str(tiny_coco / "val2017" / "000101.png")
    code, out, err = _run(["predict", good, str(bad), "--load", str(log), "--output", str(tmp_path / "pred"),
                           "--score-thresh", "0"], capsys)
    assert code != 0 and "broken.png" in err and "Traceback" not in err  # the bad file is reported...
    assert (tmp_path / "pred" / "000101.png").is_file()  # ...and the good one still drawn
    assert good in json.loads((tmp_path / "pred" / "predictions.json").read_text())
    code, _, err = _run(["evaluate", "--load", str(bad), "--dataset", "coco", "--data", str(tiny_coco)], capsys)
    assert code != 0 and "broken.png" in err and "Traceback" not in err


def _claran_script() -> str:
    # the console script next to this interpreter (`which claran` may be a pyenv shell shim)
    script = Path(sys.executable).parent / "claran"
    return str(script) if script.is_file() else shutil.which("claran")


@pytest.mark.slow
def test_torchrun_two_gloo_processes_write_a_checkpoint(tiny_coco, tmp_path):
    torchrun = Path(sys.executable).parent / "torchrun"
    if not torchrun.is_file() or not _claran_script():
        pytest.skip("torchrun or the claran script is not installed")
    log = tmp_path / "log"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [str(torchrun), "--standalone", "--nproc_per_node=2", _claran_script(), "train", "--dataset", "coco",
           "--data", str(tiny_coco), "--logdir", str(log), *TINY,
           "--config", "TRAIN.MAX_STEPS=4", "DATA.NUM_WORKERS=0", "TRAIN.EVAL_PERIOD=1", "TRAIN.STEPS_PER_EPOCH=4"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert [f.name for f in log.glob("model-*.pt")] == ["model-4.pt"]
    lines = [json.loads(x) for x in (log / "metrics.jsonl").read_text().splitlines()]
    assert lines[0]["lr"] == pytest.approx(1e-5 * 2 / 8)  # WARMUP_INIT_LR scaled to the total batch of 2
    assert any("coco_val2017/mAP(bbox)/IoU=0.5" in x for x in lines)  # sharded evaluation gathered on rank 0


@pytest.mark.slow
def test_torchrun_two_gloo_processes_train_rgz_from_simulations(tmp_path):
    """Issue 3's acceptance: torchrun, 2 CPU processes (gloo), --dataset rgz on `claran simulate` output."""
    torchrun = Path(sys.executable).parent / "torchrun"
    if not torchrun.is_file() or not _claran_script():
        pytest.skip("torchrun or the claran script is not installed")
    from rgz.simulate.writer import write_dataset

    data, log = tmp_path / "sim", tmp_path / "log"
    write_dataset(data, count=8, seed=3)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [str(torchrun), "--standalone", "--nproc_per_node=2", _claran_script(), "train", "--dataset", "rgz",
           "--data", str(data), "--logdir", str(log), *TINY,
           "--config", "TRAIN.MAX_STEPS=4", "DATA.NUM_WORKERS=0", "TRAIN.EVAL_PERIOD=0", "RGZ.CACHE_DIR=" + str(tmp_path / "c")]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert [f.name for f in log.glob("model-*.pt")] == ["model-4.pt"]
    from claran.engine.checkpoint import load_checkpoint

    ckpt = load_checkpoint(log / "model-4.pt")
    assert ckpt["config"]["TRAIN"]["NUM_GPUS"] == 2 and ckpt["extra"]["rgz"]["frame_size"] == 132
