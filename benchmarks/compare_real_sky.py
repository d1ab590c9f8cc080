"""Two models' real-sky results compared source by source: is a difference more than a few sources?

    python benchmarks/compare_real_sky.py A.json B.json

A.json and B.json are written by ``benchmarks/real_sky.py --json``. For the DR1 class accuracy (151 sources) and
the MiraBest grouping (hundreds of held-out galaxies), the sources that B gets right and A wrong, and the other
way round, with the two-sided sign-test p-value of that split (McNemar's exact test): the sources both get right
or both get wrong say nothing about which model is better. The windows' mAP50 (AP ranks rows across windows, so
there is no per-source outcome) is compared by a paired bootstrap: the same resamples of the windows scored for
both runs (``real_sky.windows_map``, the judge's rule), giving the difference's 90 % interval and the
share of resamples in which B is higher.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.real_sky import interval_text, judged_classes, windows_map  # noqa: E402


def paired(a: list[dict], b: list[dict], key: str, ok: str) -> dict:
    """Sources (matched on ``key``) that only B gets right (``gained``) and only A gets right (``lost``)."""
    from scipy.stats import binomtest

    amap = {s[key]: bool(s[ok]) for s in a}
    common = [s for s in b if s[key] in amap]
    gained = sorted(s[key] for s in common if s[ok] and not amap[s[key]])
    lost = sorted(s[key] for s in common if not s[ok] and amap[s[key]])
    n = len(gained) + len(lost)
    p = binomtest(len(gained), n).pvalue if n else 1.0
    return {"n": len(common), "gained": gained, "lost": lost, "p": float(p)}


def paired_windows(a: dict, b: dict, n: int = 1000, seed: int = 0) -> dict:
    """Paired bootstrap of the windows' mAP50: B - A on the same resamples of the windows both runs scored."""
    import numpy as np

    keys = sorted(set(a) & set(b))
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n):
        pick = [keys[i] for i in rng.integers(0, len(keys), len(keys))]
        diffs.append(windows_map(b, pick) - windows_map(a, pick))
    return {"n": len(keys), "a": windows_map(a, keys), "b": windows_map(b, keys),
            "diff_90": [float(x) for x in np.percentile(diffs, [5, 95])], "b_higher": float(np.mean(np.array(diffs) > 0))}


def window_outcomes(windows: dict) -> dict[str, tuple[int, int]]:
    """Per window: (labelled sources found with their class at IoU >= 0.5, rows that match none), by the judge's
    matching (``real_sky.matched_rows``: each source counts once)."""
    from benchmarks.real_sky import matched_rows

    return {k: (sum(hit := matched_rows(w)), len(hit) - sum(hit)) for k, w in windows.items()}


def changed_windows(a: dict, b: dict) -> list[str]:
    """Windows whose outcome (``window_outcomes``) differs between two runs: the rest differ only in how rows rank."""
    oa, ob = window_outcomes(a), window_outcomes(b)
    return sorted(k for k in set(oa) & set(ob) if oa[k] != ob[k])


def source_key(*sections: dict) -> str:
    """The key naming a DR1 source in real_sky.py's ``sources``: its ``catalog_id`` (an RGZ subject, ``first_id``,
    can hold several sources), or ``first_id`` in files written before real_sky.py kept every source."""
    return "catalog_id" if all("catalog_id" in s for sec in sections for s in sec["sources"]) else "first_id"


def compare(a: dict, b: dict) -> dict:
    out = {}
    for name, section, key, ok in (("DR1 class", "dr1_class", "dr1", "class_ok"),
                                   ("DR1 class as cutouts", "dr1_class_cutouts", "dr1", "class_ok"),
                                   ("MiraBest grouping", "mirabest_grouping", "file", "grouped"),
                                   ("MiraBest grouping and class", "mirabest_grouping", "file", "class_ok"),
                                   ("MiraBest grouping as cutouts", "mirabest_cutouts", "file", "grouped"),
                                   ("MiraBest grouping and class as cutouts", "mirabest_cutouts", "file", "class_ok")):
        if "sources" not in a.get(section, {}) or "sources" not in b.get(section, {}):
            continue  # written before real_sky.py kept per-source outcomes
        if key == "dr1":
            key = source_key(a[section], b[section])
        out[name] = paired(a[section]["sources"], b[section]["sources"], key, ok)
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--bootstrap", type=int, default=1000, help="paired resamples of the windows")
    args = ap.parse_args(argv)
    runs = []
    for p in (args.a, args.b):
        try:
            runs.append(json.loads(p.read_text()))
        except (OSError, ValueError) as e:
            sys.exit(f"{p}: cannot read it as benchmarks/real_sky.py --json output ({e})")
    a, b = runs
    print(f"A = {a.get('model')}, B = {b.get('model')}")
    for tag, r in (("A", a), ("B", b)):
        if "mAP50" in r.get("dr1_boxes", {}):  # score_cutouts.py's files hold cutout windows only
            box = r["dr1_boxes"]
            print(f"  {tag}: DR1 windows mAP50 {box['mAP50']:.3f}{interval_text(box.get('mAP50_90'))}")
    for name, section, view in (
            ("DR1 windows", "dr1_boxes", dict), ("DR1 windows as cutouts", "dr1_cutouts", dict),
            ("DR1 rule windows", "dr1_rule_windows", dict), ("DR1 rule windows as cutouts", "dr1_rule_cutouts", dict),
            ("DR1 rule windows as cutouts, every row scored", "dr1_rule_cutouts_all_rows", dict),
            ("DR1 rule windows as cutouts, judged classes", "dr1_rule_cutouts", judged_classes),
            ("DR1 rule windows as cutouts, every row scored, judged classes", "dr1_rule_cutouts_all_rows",
             judged_classes)):
        if "windows" not in a.get(section, {}) or "windows" not in b.get(section, {}):
            continue  # written before real_sky.py kept the windows' rows
        wa, wb = view(a[section]["windows"]), view(b[section]["windows"])
        w = paired_windows(wa, wb, args.bootstrap)
        print(f"{name} ({w['n']}): mAP50 A {w['a']:.3f}, B {w['b']:.3f}; B - A 90 %: {w['diff_90'][0]:+.3f} to "
              f"{w['diff_90'][1]:+.3f}, B higher in {w['b_higher']:.0%} of {args.bootstrap} paired resamples")
        oa, ob = window_outcomes(wa), window_outcomes(wb)
        diff = changed_windows(wa, wb)
        print(f"  windows with another outcome ({len(diff)}; the others differ only in how rows rank): "
              + (", ".join(f"{k.removesuffix('.fits')} {oa[k][0]}+{oa[k][1]} -> {ob[k][0]}+{ob[k][1]}" for k in diff)
                 or "none") + " (sources found + extra rows)")
    res = compare(a, b)
    for name, r in res.items():
        print(f"{name}: of {r['n']} sources B gets {len(r['gained'])} right that A does not, and {len(r['lost'])} "
              f"wrong that A gets right (sign test p = {r['p']:.2f})")
    if not res:
        print("no per-source outcomes in these files: rerun benchmarks/real_sky.py to write them")
    return res


if __name__ == "__main__":
    main()
