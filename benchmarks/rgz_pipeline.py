"""End-to-end RGZ pipeline time per cutout vs one torchvision R50-FPN forward at ClaRAN's 600 px (issue 7, goal 2).

    python benchmarks/rgz_pipeline.py [--count 200] [--threads 2] [--workers 1] [--repeats 2] [--workdir DIR]

Simulates COUNT cutouts once (``claran simulate --count COUNT --seed 5``), writes a random-weight model of the
default 'rgz-small' preset (a random model may make more detections than a trained one, so post-processing is
if anything over-counted), then interleaves: torchvision forward, Detector.detect_many + catalogue written
(in process), ... and finally one ``claran detect DIR --model M -o cat.vot`` subprocess (includes Python/torch
start-up). Prints per-stage times and the ratio (target: per cutout <= 1/50 of the torchvision forward).
``--workers W`` runs claran's pipeline in W single-thread processes (``claran detect --workers``; the
in-process pool starts during the warm-up call, the subprocess pays its start-up) while torchvision keeps
``--threads`` threads: each side in its best setting for the machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import interleaved, med, rgz_small_checkpoint, simulated_cutouts, torchvision_r50fpn, tv_forward  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "claran-bench"))
    ap.add_argument("--model", type=Path, default=None,
                    help="checkpoint (default: the bundled rgz/models/default.pt, else a random rgz-small model)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(args.workdir)
    radio = simulated_cutouts(work / f"sim{args.count}", args.count)
    bundled = Path(__file__).resolve().parents[1] / "rgz" / "models" / "default.pt"
    ckpt = args.model or (bundled if bundled.is_file() else rgz_small_checkpoint(work / "rgz-small-random.pt"))
    from catalogs import write_catalog
    from rgz.detector import Detector, find_fits

    det = Detector.load(ckpt, batch_size=args.batch_size)
    files = find_fits([radio])
    out = work / "bench.vot"

    def pipeline():
        res = det.detect_many(files, min_score=0.5, workers=args.workers)
        write_catalog(res.table, out, overwrite=True)
        pipeline.rows = len(res.table)

    # stages, measured once on 40 files (single-threaded Python, no overlap)
    few = files[:40]
    t = time.perf_counter()
    pend = [det._prepare(f, None, {}) for f in few]
    t_prep = (time.perf_counter() - t) / len(few)
    xs = [x for p in pend for x in p.inputs]
    t = time.perf_counter()
    for i in range(0, len(xs), args.batch_size):
        outs = det._predict(xs[i:i + args.batch_size])
        for p, o in zip(pend[i:i + args.batch_size], outs):
            p.outputs.append(o)
    t_model = (time.perf_counter() - t) / len(xs)
    t = time.perf_counter()
    for p in pend:
        det._finish(p, 0.5)
    t_finish = (time.perf_counter() - t) / len(few)

    tv = tv_forward(torchvision_r50fpn(600))
    tv()
    pipeline()  # warm-up
    times = interleaved({"tv": tv, "pipeline": pipeline}, args.repeats)
    t_tv, t_pipe = med(times["tv"]), med(times["pipeline"]) / len(files)
    exe = [sys.executable, "-m", "cli.main", "detect", str(radio), "--model", str(ckpt), "-o", str(out),
           "--overwrite", "--batch-size", str(args.batch_size), "--workers", str(args.workers)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    t = time.perf_counter()
    r = subprocess.run(exe, capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[1])
    t_cli = (time.perf_counter() - t) / len(files)
    if r.returncode != 0:
        sys.exit(f"claran detect failed: {r.stderr[-500:]}")
    det.close()
    print(f"CPU, torchvision {args.threads} torch threads, claran {args.workers} worker(s) "
          f"{'of 1 thread' if args.workers > 1 else f'of {args.threads} threads'}; {len(files)} simulated cutouts, model {ckpt}, "
          f"batch {args.batch_size}; {pipeline.rows} rows at min_score 0.5")
    print(f"  stages per cutout (40 files, sequential): read+frame+render {t_prep * 1e3:.1f} ms, "
          f"model {t_model * 1e3:.1f} ms, boxes->sky+merge+catalogue rows {t_finish * 1e3:.1f} ms")
    print(f"  torchvision R50-FPN forward at 600 px: {t_tv * 1e3:.0f} ms (median of {args.repeats}, interleaved)")
    print(f"  detect_many + catalogue written: {t_pipe * 1e3:.1f} ms/cutout -> 1/{t_tv / t_pipe:.0f} of a torchvision "
          f"forward (target 1/50)")
    print(f"  `claran detect` subprocess incl. start-up: {t_cli * 1e3:.1f} ms/cutout -> 1/{t_tv / t_cli:.0f}")


if __name__ == "__main__":
    main()
