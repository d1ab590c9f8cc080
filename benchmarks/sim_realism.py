"""How real is the simulated sky? Simulated vs real FIRST cutouts on measured statistics, plus a figure.

    python benchmarks/sim_realism.py [--data ../shared/data] [--count 300] [--seed 0] [--out sim_realism.png]

Real set: 100x100 centre crops of half of ../shared/data/mirabest-sample (odd-numbered files; real FIRST
fields centred on radio galaxies). The other half (even-numbered) are the simulator's real-noise backgrounds,
so no field is both background and reference; rgz-real-dev's parent fields are left out of both (dev set).
Prints a table: noise by MAD, noise autocorrelation (lags 1-3 px and the 0.5-crossing), pixel percentiles in
units of the noise, islands per cutout and island sizes at 4 sigma, peaks per island, and the simulated box
sizes per class against claran_gt_boxes.txt (converted from the 132-px 1.3748"/px frame to 1.8"/px), and the
centred source's islands, peaks, extent, peak S/N and flux (real MiraBest vs the DR1 and --class-balance mixes).
The figure shows real MiraBest crops against the --class-balance mix (the MiraBest-like training set).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rgz import RGZ_CLASSES  # noqa: E402
from rgz.simulate import (  # noqa: E402
    BALANCED_CLASS_WEIGHTS,
    LabelRules,
    RealBackgrounds,
    SimConfig,
    count_peaks,
    find_islands,
    simulate_field,
)

FRAME_TO_FIRST = 1.3748 / 1.8


def load_real(folder: Path, names: list[str], size: int) -> list[np.ndarray]:
    out = []
    for n in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = np.squeeze(fits.getdata(folder / n)).astype(np.float64)
        c0, c1 = (d.shape[0] - size) // 2, (d.shape[1] - size) // 2
        out.append(d[c0 : c0 + size, c1 : c1 + size])
    return out


def stats(images: list[np.ndarray], rules: LabelRules) -> dict:
    sig, acf, pct, nisl, sizes, peaks = [], [], [], [], [], []
    for im in images:
        isl = find_islands(im, rules)
        s = isl.sigma
        sig.append(s * 1e3)
        v = np.nan_to_num(im - np.nanmedian(im))
        m = ndimage.binary_dilation(v > 4 * s, iterations=4) | ~np.isfinite(im)
        n = np.where(m, 0.0, v)
        w = (~m).astype(float)
        f = np.fft.rfft2(n, s=(2 * n.shape[0], 2 * n.shape[1]))
        fw = np.fft.rfft2(w, s=(2 * n.shape[0], 2 * n.shape[1]))
        a = np.fft.irfft2(f * np.conj(f)) / np.maximum(np.fft.irfft2(fw * np.conj(fw)), 1)
        a = (a[0, :6] + a[:6, 0]) / 2 / a[0, 0]  # mean of the x and y lags 0..5
        acf.append(a)
        fin = im[np.isfinite(im)]
        pct.append(np.percentile((fin - np.median(fin)) / s, [0.1, 1, 5, 50, 95, 99, 99.9]))
        nisl.append(isl.count)
        for k in range(1, isl.count + 1):
            mask = isl.labels == k
            sizes.append(int(mask.sum()))
            peaks.append(count_peaks(im, mask, isl.levels))
    acf = np.array(acf).mean(0)
    half = float(np.interp(0.5, acf[::-1], np.arange(6)[::-1]))
    peaks = np.array(peaks)
    return {"rms_mJy_p10_50_90": np.percentile(sig, [10, 50, 90]), "acf_lag1_2_3": acf[1:4], "acf_half_px": half,
            "pct_sigma_0.1_1_5_50_95_99_99.9": np.median(pct, 0), "islands_per_cutout": np.mean(nisl),
            "island_px_p50_p90": np.percentile(sizes, [50, 90]) if sizes else np.array([0, 0]),
            "peaks_per_island_1_2_3+": np.array([np.mean(peaks == 1), np.mean(peaks == 2), np.mean(peaks >= 3)])
            if len(peaks) else np.zeros(3)}


def target_stats(images: list[np.ndarray], rules: LabelRules, radius: float = 30.0) -> dict:
    """The centred source only: 4-sigma islands whose centroid lies within ``radius`` px of the cutout centre
    (MiraBest images and RGZ cutouts are centred on the target). Connected = one island, separated = 2+."""
    nisl, npk, side, snr, flux = [], [], [], [], []
    for im in images:
        isl = find_islands(im, rules)
        c = (np.array(im.shape) - 1) / 2
        ids = []
        for k in range(1, isl.count + 1):
            yx = np.argwhere(isl.labels == k)
            if np.hypot(*(yx.mean(0) - c)) <= radius:
                ids.append(k)
        nisl.append(len(ids))
        if not ids:
            continue
        mask = np.isin(isl.labels, ids)
        npk.append(count_peaks(im, mask, isl.levels))
        yx = np.argwhere(mask)
        side.append(float((yx.max(0) - yx.min(0) + 1).max()))
        snr.append(float(np.nanmax(np.where(mask, im, -np.inf)) / isl.sigma))
        flux.append(float(np.nansum(np.where(mask, im, 0.0)) / 8.1 * 1e3))  # FIRST beam ~8.1 px at 1.8"/px
    nisl, npk = np.array(nisl), np.array(npk)
    return {"target_islands_0_1_2_3+": np.array([np.mean(nisl == 0), np.mean(nisl == 1), np.mean(nisl == 2),
                                                   np.mean(nisl >= 3)]),
            "target_peaks_1_2_3+": np.array([np.mean(npk == 1), np.mean(npk == 2), np.mean(npk >= 3)]),
            "target_extent_px_p10_50_90": np.percentile(side, [10, 50, 90]),
            "target_peak_sigma_p10_50_90": np.percentile(snr, [10, 50, 90]),
            "target_flux_mJy_p10_50_90": np.percentile(flux, [10, 50, 90])}


def gt_box_sides(path: Path) -> dict[int, np.ndarray]:
    sides: dict[int, list[float]] = {c: [] for c in range(1, 7)}
    for line in path.read_text().splitlines():
        for b in line.split()[1:]:
            x1, y1, x2, y2, c = map(int, b.split(","))
            sides[c + 1].append(max(x2 - x1 + 1, y2 - y1 + 1) * FRAME_TO_FIRST)
    return {c: np.array(v) for c, v in sides.items()}


def figure(real, sim, out: Path, n: int = 8) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, n, figsize=(2 * n, 8.6))
    norm = matplotlib.colors.AsinhNorm(linear_width=0.5e-3, vmin=-1e-3, vmax=30e-3)  # same stretch for all
    for row, (imgs, title) in enumerate(((real[:n], "real"), (real[n : 2 * n], "real"), (sim[:n], "sim"),
                                         (sim[n : 2 * n], "sim"))):
        for j, ax in enumerate(axes[row]):
            ax.imshow(imgs[j], origin="lower", cmap="inferno", norm=norm, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(title, fontsize=14)
    fig.suptitle("FIRST 100x100 @ 1.8\"/px: rows 1-2 real (mirabest-sample), rows 3-4 simulated "
                 "(--class-balance); "
                 "asinh stretch -1..30 mJy/beam")
    fig.tight_layout()
    fig.savefig(out, dpi=70)
    plt.close(fig)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("sim_realism.png"))
    args = ap.parse_args(argv)
    mb = args.data / "mirabest-sample"
    dev = {v["mirabest_file"] for v in json.loads((args.data / "rgz-real-dev" / "truth.json").read_text()).values()}
    files = [p.name for p in sorted(mb.glob("*.fits")) if p.name not in dev]
    ref_names = files[1::2]  # the even-numbered half are the backgrounds
    cfg = SimConfig()
    bal = SimConfig(class_weights=BALANCED_CLASS_WEIGHTS)
    t0 = time.time()
    bgs = RealBackgrounds(mb, exclude=frozenset(set(ref_names) | dev))
    real = load_real(mb, ref_names, cfg.size)
    rng = np.random.default_rng(args.seed)
    sim_real_bg, sim_synth = [], []
    fields = []
    for i in range(args.count):
        f = simulate_field(rng, cfg, bgs if i % 2 == 0 else None)
        fields.append(f)
        (sim_real_bg if f.real_background else sim_synth).append(f.image.astype(np.float64))
    # the --class-balance training mix (extended classes dominate, as in MiraBest-selected targets), half on real
    # backgrounds, compared on the centred source with the real MiraBest fields
    balanced = [simulate_field(rng, bal, bgs if i % 2 == 0 else None) for i in range(args.count // 2)]
    dt = time.time() - t0
    rules = cfg.rules
    cols = {"real (mirabest centre crops)": stats(real, rules),
            "sim, real-noise bg": stats(sim_real_bg, rules),
            "sim, synthetic noise": stats(sim_synth, rules)}
    print(f"real: {len(real)} cutouts; sim: {len(sim_real_bg)} on real backgrounds ({len(bgs)} fields) + "
          f"{len(sim_synth)} synthetic; {dt:.1f} s incl. loading")
    keys = list(next(iter(cols.values())))
    print(f"{'statistic':34s}" + "".join(f"{k:>34s}" for k in cols))
    for k in keys:
        print(f"{k:34s}" + "".join(f"{np.array2string(np.round(np.atleast_1d(c[k]), 3), separator=' '):>34s}"
                                     for c in cols.values()))
    tcols = {"real (mirabest centre crops)": target_stats(real, rules),
             "sim DR1 mix": target_stats([f.image.astype(np.float64) for f in fields], rules),
             "sim --class-balance": target_stats([f.image.astype(np.float64) for f in balanced], rules)}
    print("\ncentred source (4-sigma islands with centroid within 30 px of the centre)")
    print(f"{'statistic':34s}" + "".join(f"{k:>34s}" for k in tcols))
    for k in next(iter(tcols.values())):
        print(f"{k:34s}" + "".join(f"{np.array2string(np.round(np.atleast_1d(c[k]), 2), separator=' '):>34s}"
                                     for c in tcols.values()))
    gt = gt_box_sides(args.data / "claran-labels" / "claran_gt_boxes.txt")
    sides = {c: [] for c in range(1, 7)}
    nlab = []
    for f in fields:
        nlab.append(len(f.labels))
        for lab in f.labels:
            b = lab["box"]
            sides[lab["category_id"]].append(max(b[2] - b[0], b[3] - b[1]))
    print("\nbox side per class, FIRST px (1.8\"/px): simulated targets+labelled neighbours vs claran_gt_boxes")
    print(f"{'class':8s}{'n sim':>7s}{'sim p10/p50/p90':>22s}{'gt p10/p50/p90':>22s}{'share sim':>11s}{'share gt':>10s}")
    ng = sum(len(v) for v in gt.values())
    ns = sum(len(v) for v in sides.values())
    for c in range(1, 7):
        s = np.percentile(sides[c], [10, 50, 90]) if sides[c] else np.zeros(3)
        g = np.percentile(gt[c], [10, 50, 90])
        print(f"{RGZ_CLASSES[c - 1]:8s}{len(sides[c]):7d}{np.array2string(s.round(1)):>22s}"
              f"{np.array2string(g.round(1)):>22s}{len(sides[c]) / ns:11.3f}{len(gt[c]) / ng:10.3f}")
    nlab = np.array(nlab)
    print(f"labelled sources per cutout: 1: {np.mean(nlab == 1):.3f}  2: {np.mean(nlab == 2):.3f}  "
          f"3+: {np.mean(nlab >= 3):.3f}   (claran_gt_boxes: 0.903 / 0.092 / 0.004)")
    figure(real, [f.image for f in balanced], args.out)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
