"""benchmarks/gpu_check.py on a machine without CUDA: every CUDA section skips with one line, exit 0; and
``--smoke`` runs the training, inference and RGZ sections at tiny sizes on the CPU (the script's own code)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU behaviour of the GPU script")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)


def test_without_cuda_every_section_skips_cleanly(tmp_path):
    r = _run("--json", str(tmp_path / "r.json"))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    got = json.loads((tmp_path / "r.json").read_text())
    assert {k: got[k] for k in ("train", "infer", "ddp", "rgz")} == dict.fromkeys(
        ("train", "infer", "ddp", "rgz"), "skipped: no CUDA")


@pytest.mark.slow
def test_smoke_runs_the_sections_on_cpu(tmp_path):
    r = _run("--smoke", "--json", str(tmp_path / "r.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    got = json.loads((tmp_path / "r.json").read_text())
    assert got["ddp"] == "skipped: no CUDA"
    assert got["train"]["steps_timed"] > 0 and got["train"]["images_per_s"] > 0
    assert got["infer"]["batch8_float32_ms_per_image"] > 0 and "batch1_bfloat16_ms_per_image" in got["infer"]
    assert got["rgz"]["cutouts"] == 4 and got["rgz"]["sources"] > 0
