"""Issue 13's acceptance numbers: nested rows, rows in noise, rms of one source in two cutout sizes, ICRS rows of a
Galactic image, --ir on the radio-only bundled model, and the catalogue's flags.

    PYTHONPATH=. python benchmarks/catalog_trust.py [--mirabest 50]

Uses the bundled model on ../shared/data (first-cutouts, rgz/examples, the first N mirabest-fields images, MAGPIS).
It reads only columns every catalogue version has (box, peak_flux, rms, image), so pointing PYTHONPATH at an older
checkout gives the "before" numbers with the same script. "Below the lowest contour": the peak under --level-sigma
(default 3 sqrt 3, the contour rule's lowest level since issue 12; it was 5 before) x the image's MAD sigma; "nested": one box holds >= 90 % of another's area (same image).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]  # the code comes from PYTHONPATH (an older checkout: "before")
DATA = ROOT.parent / "shared" / "data"


def mad_sigma(d: np.ndarray) -> float:
    v = d[np.isfinite(d)]
    return float(np.median(np.abs(v - np.median(v))) / 0.6745)


def nested_pairs(t) -> tuple[int, int]:
    """(pairs of rows of one image where one box holds >= 90 % of the other, those not flagged blended)."""
    n = unflagged = 0
    for im in set(t["image"]):
        rows = t[t["image"] == im]
        b = np.stack([np.asarray(rows[k], float) for k in ("x_min", "y_min", "x_max", "y_max")], 1)
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        for i in range(len(b)):
            for j in range(i + 1, len(b)):
                iw = max(0.0, min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0]))
                ih = max(0.0, min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1]))
                if iw * ih >= 0.9 * min(area[i], area[j]):
                    n += 1
                    if "flag_blended" not in rows.colnames or not (rows["flag_blended"][i] and rows["flag_blended"][j]):
                        unflagged += 1
    return n, unflagged


def below_contour(t, level: float) -> int:
    from astropy.io import fits

    sig = {}
    out = 0
    for r in t:
        im = str(r["image"])
        if im not in sig:
            sig[im] = mad_sigma(np.asarray(fits.getdata(im), float).squeeze())
        out += int(float(r["peak_flux"]) < level * sig[im])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirabest", type=int, default=50)
    ap.add_argument("--level-sigma", type=float, default=3 * 3**0.5, help="the lowest contour in MAD sigmas")
    args = ap.parse_args()
    from rgz.detector import Detector

    warnings.simplefilter("ignore")
    det = Detector.load()
    sets = {
        "first-cutouts": sorted(str(p) for p in (DATA / "first-cutouts").glob("*.fits")),
        "rgz/examples": sorted(str(p) for p in (ROOT / "rgz" / "examples").glob("*.fits")),
        f"mirabest-fields[:{args.mirabest}]": sorted(str(p) for p in (DATA / "mirabest-fields" / "fits").glob("*.fits"))
        [:args.mirabest],
    }
    print(f"{'set':24s} {'images':>6s} {'rows':>5s} {'nested':>7s} {'unflagged':>9s} {'peak<5sig':>9s}"
          f" {'low_snr':>7s} {'blended':>7s} {'edge':>5s}")
    import time

    seconds = {}
    for name, files in sets.items():
        t0 = time.perf_counter()
        t = det.detect_many(files).table
        seconds[name] = time.perf_counter() - t0
        n, unf = nested_pairs(t)
        flags = [str(int(t[c].sum())) if c in t.colnames else "-" for c in ("flag_low_snr", "flag_blended", "flag_edge")]
        print(f"{name:24s} {len(files):6d} {len(t):5d} {n:7d} {unf:9d} {below_contour(t, args.level_sigma):9d} {flags[0]:>7s}"
              f" {flags[1]:>7s} {flags[2]:>5s}")
    try:  # the local rms map's share of the detect time (it runs on every image)
        from astropy.io import fits as _fits

        from catalogs.noise import box_px_for, rms_map

        name = next(k for k in sets if k.startswith("mirabest"))
        t0 = time.perf_counter()
        for f in sets[name]:
            rms_map(np.asarray(_fits.getdata(f), np.float32).squeeze(), box_px=box_px_for(1.8, 5.4))
        print(f"{name}: detect_many {seconds[name]:.1f} s, of which rms_map alone would take "
              f"{time.perf_counter() - t0:.1f} s")
    except ImportError:  # before issue 13
        pass
    # one source in a 50 px and a 132 px cutout: its rms
    a, b = (DATA / "first-cutouts" / f for f in ("J085556+491113.fits", "J085556.090+491113.15.fits"))
    ta, tb = det.detect(str(a)), det.detect(str(b))
    print(f"rms of J085556+491113 (brightest row): 50 px {1e3 * float(ta['rms'][np.argmax(ta['peak_flux'])]):.3f}"
          f" mJy/beam, 132 px {1e3 * float(tb['rms'][np.argmax(tb['peak_flux'])]):.3f} mJy/beam")
    # MAGPIS (GLON/GLAT): rows within 2" of the ICRS box centres
    from astropy.coordinates import SkyCoord
    from astropy.io import fits
    from astropy.wcs import WCS

    mag = DATA / "other-surveys" / "magpis_G10.5+0.0_300px.fits"
    t = det.detect(str(mag))
    w = WCS(fits.getheader(mag)).celestial
    c = w.pixel_to_world(0.5 * (np.asarray(t["x_min"]) + t["x_max"]), 0.5 * (np.asarray(t["y_min"]) + t["y_max"])).icrs
    box = SkyCoord(np.asarray(t["ra_box"], float), np.asarray(t["dec_box"], float), unit="deg")
    print(f"MAGPIS: {len(t)} rows, max |box centre - ra_box/dec_box| {c.separation(box).arcsec.max():.3g}\","
          f" ra {float(np.min(t['ra'])):.2f}..{float(np.max(t['ra'])):.2f}")
    # --ir on the radio-only bundled model
    cut = DATA / "first-cutouts" / "FIRST_J153149.9+113421.7.fits"
    p, q = det.detect(str(cut)), det.detect(str(cut), ir=str(DATA / "other-surveys" / "WISE_J153149.9+113421.7_w1.fits"))
    same = len(p) == len(q) and all(np.array_equal(p[k], q[k], equal_nan=p[k].dtype.kind == "f")
                                    for k in p.colnames if k not in ("ir_ra", "ir_dec"))
    print(f"--ir: {len(p)} rows without, {len(q)} with; identical apart from ir_ra/ir_dec: {same}")


if __name__ == "__main__":
    main()
