"""Start-up and whole-process speed of ``claran detect``, before and after a change, beside a torchvision forward.

    python benchmarks/startup.py [--before 976bdcc] [--repeats 2] [--threads 1] [--counts 1 10 200]

``--before REF`` is a git commit of this repository (default: main just before issue 15's start-up work); it is
unpacked with ``git archive`` into a temporary folder and run from there, so both trees run in the same
interleaved run on the same machine. Measured, per tree:

1. ``python -X importtime -m cli.main detect ONE.fits -o OUT.vot``: the sum of the top-level imports and
   whether torchvision / torch._dynamo / matplotlib were imported;
2. the whole process ``python -m cli.main detect FILES -o OUT.vot`` (bundled model) on the first 1, 10 and 200
   of 200 cutouts simulated by ``claran simulate --count 200 --seed 5``, repeated, interleaved (medians),
   and for the current tree also with ``--backend onnxruntime`` when onnxruntime is installed;
3. in this process, torchvision's fasterrcnn_resnet50_fpn forward at 600 px (random weights), interleaved with
   the runs above: each whole-process time per cutout is given as a fraction of one such forward.
Every process gets ``OMP_NUM_THREADS=THREADS`` and the forward ``torch.set_num_threads(THREADS)``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import med, simulated_cutouts, torchvision_r50fpn, tv_forward  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _env(tree: Path, threads: int) -> dict:
    return {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(threads), "PYTHONWARNINGS": "ignore"}


def importtime(tree: Path, one: str, out: Path, threads: int) -> tuple[float, list[str]]:
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "cli.main", "detect", one, "-o", str(out),
                        "--overwrite"], cwd=tree, env=_env(tree, threads), capture_output=True, text=True, check=True)
    total, heavy = 0, set()
    for line in r.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        if len(m.group(2)) == 1:
            total += int(m.group(1))
        if m.group(3) in ("torchvision", "torch._dynamo", "matplotlib", "reproject", "regions"):
            heavy.add(m.group(3))
    return total / 1e6, sorted(heavy)


def detect_run(tree: Path, files: list[str], out: Path, threads: int, extra: tuple[str, ...] = ()) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cli.main", "detect", *files, "-o", str(out), "--overwrite", *extra],
                   cwd=tree, env=_env(tree, threads), capture_output=True, check=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", default="976bdcc", help="git ref of the 'before' tree")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--counts", type=int, nargs="+", default=[1, 10, 200])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        before = tmp / "before"
        before.mkdir()
        tar = subprocess.run(["git", "archive", args.before], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=tar, check=True)
        files = sorted(str(p) for p in simulated_cutouts(tmp / "sim", max(args.counts)).glob("*.fits"))
        trees = {f"before ({args.before})": (before, ()), "after": (ROOT, ())}
        if importlib.util.find_spec("onnxruntime"):
            trees["after --backend onnxruntime"] = (ROOT, ("--backend", "onnxruntime"))
        fwd = tv_forward(torchvision_r50fpn(600))
        fwd()  # warm-up
        imp = {name: [] for name in trees if "onnx" not in name}
        times = {(name, n): [] for name in trees for n in args.counts}
        tv: list[float] = []
        for _ in range(args.repeats):
            for name in imp:
                imp[name].append(importtime(trees[name][0], files[0], tmp / "imp.vot", args.threads))
            for n in args.counts:
                for name, (tree, extra) in trees.items():
                    times[name, n].append(detect_run(tree, files[:n], tmp / "out.vot", args.threads, extra))
                t = time.perf_counter()
                fwd()
                tv.append(time.perf_counter() - t)
    t_tv = med(tv)
    print(f"claran detect, whole process, {args.threads} thread(s), median of {args.repeats} interleaved runs; "
          f"torchvision R50-FPN 600 px forward: {t_tv * 1000:.0f} ms")
    for name, v in imp.items():
        print(f"  {name}: -X importtime top-level sum {med([s for s, _ in v]):.2f} s; "
              f"heavy modules imported: {', '.join(v[0][1]) or 'none'}")
    print(f"  {'tree':34s} {'cutouts':>7s} {'process s':>9s} {'ms/cutout':>9s} {'x of a tv forward':>18s}")
    for (name, n), v in times.items():
        s = med(v)
        print(f"  {name:34s} {n:7d} {s:9.2f} {s / n * 1000:9.1f} {'1/' + format(t_tv / (s / n), '.1f'):>18s}")


if __name__ == "__main__":
    main()
