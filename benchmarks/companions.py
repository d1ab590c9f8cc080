"""How often RGZ counted a compact source near another one as part of one source, by their separation.

    python benchmarks/companions.py [--data ../shared/data]

From RGZ's own labels only (no pixels, none of the real-sky sets of ``benchmarks/real_sky.py``):
- *separate*: in ClaRAN's 6,142 labelled 3' images (``claran_gt_boxes.txt``), each 1C_1P source's distance to the
  nearest other source labelled in the same image (box centres);
- *one source*: in those images' RGZ DR1 sources with two or more components (``rgz_dr1_claran_catalogue.csv``),
  each component's distance to its nearest other component of the same source.
Per separation bin, P(one source) = one / (one + separate): the chance that two emission regions that far apart
are one source in RGZ's labels. Bins are pooled where P rises with separation (pool-adjacent-violators), so the
curve falls. ``rgz.contours.LabelRules.companion_arcsec`` / ``companion_one_source`` hold its output: a 1C_1P row
with another row that close has its score scaled by 1 - P (``rgz.companions``; docs/NOTES.md, issue 12 session 10).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data"
EDGES = (0, 20, 30, 40, 50, 60, 70, 80, 90)  # arcsec: a 3' frame holds a pair with a centred member whole up to 90"


def separations(data: Path) -> tuple[np.ndarray, np.ndarray]:
    """(separate, one): nearest-neighbour distances in arcsec, as the module docstring says."""
    import pandas as pd

    from rgz import FRAME_PIXEL_SCALE, RGZ_CLASSES
    from rgz.builder import read_claran_boxes

    boxes, _ = read_claran_boxes(data / "claran-labels" / "claran_gt_boxes.txt")
    separate = []
    for bs in boxes.values():
        b = np.asarray(bs, dtype=np.float64)
        if len(b) > 1:  # ClaRAN's boxes are in its 132 px frame
            centres = np.stack([b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]], 1) / 2 * FRAME_PIXEL_SCALE
            separate += list(nearest_other(centres)[b[:, 4] == RGZ_CLASSES.index("1C_1P")])
    cat = pd.read_csv(data / "claran-labels" / "rgz_dr1_claran_catalogue.csv")
    one = []
    for r in cat[cat.first_id.isin(boxes.keys()) & (cat.num_cpnts > 1)].itertuples():
        ra = np.array(str(r.cpnts_ras).split(";"), float)
        dec = np.array(str(r.cpnts_decs).split(";"), float)
        if len(ra) > 1:  # on the tangent plane at the source: its components lie within arcminutes
            one += list(nearest_other(np.stack([(ra - ra.mean()) * np.cos(np.radians(dec.mean())),
                                                dec - dec.mean()], 1) * 3600))
    return np.asarray(separate), np.asarray(one)


def nearest_other(points: np.ndarray) -> np.ndarray:
    """Each point's distance to the nearest other point (N x 2 -> N)."""
    d = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    return d.min(1)


def one_source_curve(separate: np.ndarray, one: np.ndarray, edges=EDGES) -> list[dict]:
    """Per bin: counts and P(one source), pooled so that P does not rise with separation."""
    bins = [{"lo": lo, "hi": hi, "separate": int(((separate >= lo) & (separate < hi)).sum()),
             "one": int(((one >= lo) & (one < hi)).sum())} for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    blocks = [[b] for b in bins]  # pool-adjacent-violators on one / (one + separate)

    def p(block):
        n = sum(b["one"] + b["separate"] for b in block)
        return sum(b["one"] for b in block) / n if n else 0.0

    i = 0
    while i < len(blocks) - 1:
        if p(blocks[i + 1]) > p(blocks[i]):
            blocks[i:i + 2] = [blocks[i] + blocks[i + 1]]
            i = max(i - 1, 0)
        else:
            i += 1
    for block in blocks:
        for b in block:
            b["p_one"] = p(block)
    return bins


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args(argv)
    if not (args.data / "claran-labels" / "claran_gt_boxes.txt").is_file():
        sys.exit(f"{args.data}: no claran-labels/claran_gt_boxes.txt (this benchmark needs ../shared/data)")
    separate, one = separations(args.data)
    print(f"{len(separate)} 1C_1P sources with another source labelled in their image; "
          f"{len(one)} components of RGZ sources with two or more")
    curve = one_source_curve(separate, one)
    for b in curve:
        print(f'{b["lo"]:4.0f}-{b["hi"]:3.0f}"  separate {b["separate"]:5d}  one source {b["one"]:5d}  '
              f'P(one source) {b["p_one"]:.2f}')
    print("companion_arcsec =", tuple(round((b["lo"] + b["hi"]) / 2, 1) for b in curve))
    print("companion_one_source =", tuple(round(b["p_one"], 2) for b in curve))


if __name__ == "__main__":
    main()
