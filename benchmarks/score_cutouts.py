"""Score any catalogue of the judged-kind cutouts against real_sky.py's truth: the real-sky proxy for any version
of claran, or for another detector, on exactly the pixels and truth the current benchmark uses.

    python benchmarks/real_sky.py --json J.json --keep-cutouts CUTS/
    claran detect CUTS/ --output cat.csv          # any version: an old checkout, another model or tool
    python benchmarks/score_cutouts.py cat.csv J.json [--json windows.json]

The catalogue needs the judge's columns (image, morphology, score, x_min, y_min, x_max, y_max; boxes in each
cutout's astropy pixels). Prints, as real_sky.py does for its own rows, measures 2c (the boxed DR1 windows as
cutouts, ClaRAN's boxes) and 2d / 2e (the DR1 rule windows as cutouts: rows touching a DR1 source / every row),
each over all classes and over the judged set's classes (``real_sky.judged_classes``). ``--json`` writes the
windows in real_sky.py's layout, so ``benchmarks/compare_real_sky.py`` pairs two catalogues window by window.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.real_sky import (  # noqa: E402
    BOXED_CUTOUT,
    RULE_CUTOUT,
    interval_text,
    judged_classes,
    row_lists,
    touching,
    windows_eval,
    windows_interval,
)

COLUMNS = ("image", "morphology", "score", "x_min", "y_min", "x_max", "y_max")


def catalogue_windows(table, windows: dict, prefix: str, touching_only: bool) -> dict:
    """real_sky.py's ``windows`` (truth kept) with their rows taken from ``table``: the rows of the file
    ``prefix + key``, only those overlapping a labelled box with ``touching_only`` (measures 2b/2d)."""
    names = np.array([Path(str(v)).name for v in table["image"]])
    out = {}
    for key, w in windows.items():
        t = table[names == prefix + key]
        out[key] = {"truth": w["truth"], "rows": row_lists(touching(t, w["truth"]) if touching_only else t)}
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("catalogue", type=Path)
    ap.add_argument("real_sky_json", type=Path)
    ap.add_argument("--bootstrap", type=int, default=500, help="resamples for the 90 %% interval (0: none)")
    ap.add_argument("--json", type=Path, help="write the windows here (real_sky.py's layout)")
    args = ap.parse_args(argv)
    from astropy.table import Table

    try:
        table = Table.read(args.catalogue)
    except Exception as e:  # astropy raises many kinds for a file it cannot read
        sys.exit(f"{args.catalogue}: cannot read it as a table ({e})")
    cols = {c.lower(): c for c in table.colnames}
    if missing := [c for c in COLUMNS if c not in cols]:
        sys.exit(f"{args.catalogue}: no column {missing}; a claran detect catalogue has them")
    table = table[[cols[c] for c in COLUMNS]]
    table.rename_columns([cols[c] for c in COLUMNS], list(COLUMNS))
    try:
        ref = json.loads(args.real_sky_json.read_text())
        sections = {"2c": ref["dr1_cutouts"]["windows"], "2d": ref["dr1_rule_cutouts"]["windows"]}
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"{args.real_sky_json}: not a benchmarks/real_sky.py --json file with cutout windows ({e})")
    res, layout = {}, {"model": str(args.catalogue)}
    for name, section, prefix, only_touching, key in (
            ("2c: boxed windows as cutouts", "2c", BOXED_CUTOUT, False, "dr1_cutouts"),
            ("2d: rule windows as cutouts", "2d", RULE_CUTOUT, True, "dr1_rule_cutouts"),
            ("2e: the same, every row", "2d", RULE_CUTOUT, False, "dr1_rule_cutouts_all_rows")):
        w = catalogue_windows(table, sections[section], prefix, only_touching)
        layout[key] = {"windows": w}
        if not any(v["rows"] for v in w.values()):
            print(f"{name}: no rows on these cutouts (was the catalogue made from real_sky.py --keep-cutouts?)")
            continue
        j = judged_classes(w)
        every, judged = windows_eval(w, sorted(w)), windows_eval(j, sorted(j))
        ci = windows_interval(j, args.bootstrap) if args.bootstrap else None
        res[name] = {"mAP50": every["mAP50"], "judged_mAP50": judged["mAP50"], "judged_90": ci,
                     "judged_per_class": {k.removeprefix("AP50/"): v for k, v in judged.items() if k != "mAP50"}}
        print(f"{name} ({len(w)}): mAP50 {every['mAP50']:.3f}; judged classes ({len(j)}) {judged['mAP50']:.3f}"
              + interval_text(ci) + "  " + "  ".join(f"{k} {v:.3f}" for k, v in res[name]["judged_per_class"].items()))
    if args.json:
        from claran.fileio import atomic_write_bytes

        atomic_write_bytes(json.dumps(layout).encode(), args.json)
    return res


if __name__ == "__main__":
    main()
