"""How `claran detect` time and memory grow with image size and with the number of files (issue 7, goal 4).

    python benchmarks/scaling.py [--sizes 132 512 1024 2048 4000] [--files 1 10 50 200] [--threads 2]

Image size: one FIRST-like FITS image of N x N pixels at 1.8"/px (beam-correlated noise at 0.15 mJy/beam and
one bright double source per 100 x 100 px), detected in a fresh subprocess so that its peak resident memory
(ru_maxrss) belongs to that image alone. Files: ``claran simulate`` cutouts, detected in one process.
Each row is also given as a ratio to one torchvision R50-FPN forward at 600 px measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _common import interleaved, med, rgz_small_checkpoint, simulated_cutouts, torchvision_r50fpn, tv_forward  # noqa: E402

_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import torch
torch.set_num_threads({threads})
from rgz.detector import Detector
det = Detector.load({model!r})
t = time.perf_counter()
res = det.detect_many({files!r}, min_score=0.5)
dt = time.perf_counter() - t
print(json.dumps({{"seconds": dt, "rows": len(res.table), "errors": len(res.errors),
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def write_mosaic(path: Path, n: int, seed: int = 0) -> None:
    """An N x N FIRST-like image (SIN, 1.8"/px, north up) with one bright double per 100 x 100 px."""
    from astropy.io import fits
    from astropy.wcs import WCS
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    sigma_px = 5.4 / 1.8 / 2.3548
    noise = gaussian_filter(rng.normal(size=(n, n)).astype(np.float32), sigma_px)
    data = noise * (0.15e-3 / noise.std())
    impulses = np.zeros((n, n), np.float32)
    for cy in range(50, n - 20, 100):
        for cx in range(50, n - 20, 100):
            ang, sep = rng.uniform(0, np.pi), rng.uniform(6, 18)
            for s in (-1, 1):
                y, x = int(cy + s * sep * np.sin(ang)), int(cx + s * sep * np.cos(ang))
                if 0 <= y < n and 0 <= x < n:
                    impulses[y, x] += rng.uniform(5e-3, 5e-2) * 2 * np.pi * sigma_px**2
    data += gaussian_filter(impulses, sigma_px)
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    w.wcs.crval = [150.0, 30.0]
    w.wcs.crpix = [n / 2 + 0.5, n / 2 + 0.5]
    w.wcs.cdelt = [-1.8 / 3600, 1.8 / 3600]
    hdr = w.to_header()
    hdr["BUNIT"] = "JY/BEAM"
    hdr["BMAJ"] = hdr["BMIN"] = 5.4 / 3600
    hdr["BPA"] = 0.0
    fits.PrimaryHDU(data.astype(np.float32), hdr).writeto(path, overwrite=True)


def detect_in_child(model: Path, files: list[str], threads: int) -> dict:
    code = _CHILD.format(root=str(ROOT), threads=threads, model=str(model), files=files)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    if r.returncode != 0:
        sys.exit(f"detect failed: {r.stderr[-800:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[132, 512, 1024, 2048, 4000])
    ap.add_argument("--files", type=int, nargs="+", default=[1, 10, 50, 200])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "claran-scaling")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    bundled = ROOT / "rgz" / "models" / "default.pt"
    model = args.model or (bundled if bundled.is_file() else rgz_small_checkpoint(work / "rgz-small-random.pt"))
    tv = tv_forward(torchvision_r50fpn(600))
    tv()
    t_tv = med(interleaved({"tv": tv}, 3)["tv"])
    print(f"CPU, {args.threads} torch threads, model {model}; torchvision R50-FPN 600 px forward: {t_tv * 1e3:.0f} ms")
    print(f"{'image side':>10} {'pixels':>10} {'seconds':>8} {'s/Mpix':>7} {'x tv fwd':>8} {'rows':>5} {'peak RSS MB':>11}")
    for n in args.sizes:
        path = work / f"mosaic_{n}.fits"
        if not path.exists():
            write_mosaic(path, n)
        r = detect_in_child(model, [str(path)], args.threads)
        print(f"{n:>10} {n * n:>10} {r['seconds']:>8.2f} {r['seconds'] / (n * n / 1e6):>7.2f} "
              f"{r['seconds'] / t_tv:>8.2f} {r['rows']:>5} {r['max_rss_mb']:>11.0f}")
    radio = simulated_cutouts(work / f"sim{max(args.files)}", max(args.files))
    all_files = sorted(str(p) for p in radio.glob("*.fits"))
    print(f"{'files':>10} {'seconds':>8} {'ms/file':>8} {'file/tv fwd':>11} {'peak RSS MB':>11}")
    for k in args.files:
        t = time.perf_counter()
        r = detect_in_child(model, all_files[:k], args.threads)
        per = r["seconds"] / k
        print(f"{k:>10} {r['seconds']:>8.2f} {per * 1e3:>8.1f} {'1/%.0f' % (t_tv / per):>11} {r['max_rss_mb']:>11.0f}"
              f"   (process wall incl. start-up {time.perf_counter() - t:.1f} s)")


if __name__ == "__main__":
    main()
