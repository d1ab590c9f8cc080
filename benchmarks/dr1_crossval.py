"""Does fine-tuning on real RGZ labels help? Cross-validation over the RGZ DR1 sources in ``mirabest-fields``.

    python benchmarks/dr1_crossval.py --work DIR [--folds 2] [--steps 2000] [--crops 16] [--base CKPT]
        [--control-seeds 42 1 2]
    python benchmarks/dr1_crossval.py --merge FOLD0.json FOLD1.json [--json out.json]

The DR1 sources are the only real images here labelled the way RGZ labelled them (its volunteers' grouping, its
class), and all of them are the real-sky benchmark's truth, so a model trained on them cannot be measured on them.
Here they are split into ``--folds`` sky regions (``real_split.dr1_folds``). For each fold k, the base model is
fine-tuned on the bundled model's real-sky recipe (``claran simulate --real-sources`` plus three real windows per
held-in field, ``benchmarks/real_fields.py``) plus windows around the DR1 sources of every other fold, labelled
with RGZ's grouping and class (``real_fields.py --dr1-folds``), and measured by ``benchmarks/real_sky.py``. A
control model is fine-tuned the same way without DR1 windows. ``--merge`` takes each window, DR1 source and
MiraBest field from the model that did not train on it (fields without a DR1 source: by crc32 of the name) and
writes one ``real_sky.py``-like JSON of out-of-fold results, for ``benchmarks/compare_real_sky.py`` against the
control or the bundled model. Every number is out of fold: no model is scored on a source it trained on.
``--control-seeds`` trains the control once per ``TRAIN.SEED`` (data order and sampling): how far identical recipes
land apart on the real-sky measures, the floor under which no difference between two models means anything.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.compare_real_sky import source_key  # noqa: E402
from benchmarks.real_sky import interval, interval_text, windows_eval, windows_interval  # noqa: E402
from benchmarks.real_split import DATA, dr1_folds  # noqa: E402

WINDOW_SECTIONS = ("dr1_boxes", "dr1_rule_windows", "dr1_cutouts")


def field_folds(data: Path, n: int) -> dict[str, int]:
    """``mirabest-fields`` file name -> the fold of the DR1 sources placed in it (``real_sky.dr1_sources``)."""
    from benchmarks.real_sky import dr1_sources

    fold_of = dr1_folds(data, n)
    return {Path(s["field"]).name: fold_of[s["first_id"]] for s in dr1_sources(data)}


def merge(runs: list[dict], fold_of: dict[str, int], field_fold: dict[str, int], n_boot: int = 200) -> dict:
    """Out-of-fold results: ``runs[k]`` is the real_sky.py JSON of the model that did not train on fold k."""
    n = len(runs)
    out: dict = {"model": "out of fold: " + ", ".join(str(r.get("model")) for r in runs), "folds": n}
    for sec in WINDOW_SECTIONS:
        if not all("windows" in r.get(sec, {}) for r in runs):
            continue
        windows = {k: runs[fold_of[k.removesuffix(".fits")]][sec]["windows"][k] for k in runs[0][sec]["windows"]}
        keys = sorted(windows)
        ev = windows_eval(windows, keys)
        out[sec] = {"mAP50": ev["mAP50"], "n_images": len(keys), "windows": windows,
                    "per_class_AP50": {k.split("/")[1]: v for k, v in ev.items() if k.startswith("AP50/")},
                    "mAP50_90": windows_interval(windows, n_boot) if n_boot else None}

    def sources(k: int, section: str, key: str) -> dict:  # run k's sources of ``section`` by ``key``
        return {s[key]: s for s in runs[k][section]["sources"]}

    key = source_key(*(r["dr1_class"] for r in runs))
    by_run = [sources(k, "dr1_class", key) for k in range(n)]
    picked = [by_run[fold_of[s["first_id"]]][s[key]] for s in runs[0]["dr1_class"]["sources"]]
    out["dr1_class"] = {"n": len(picked), "accuracy": float(np.mean([s["class_ok"] for s in picked])),
                        "accuracy_90": interval([s["class_ok"] for s in picked]), "sources": picked}
    by_run = [sources(k, "mirabest_grouping", "file") for k in range(n)]
    grouped = [by_run[field_fold.get(s["file"], zlib.crc32(s["file"].encode()) % n)][s["file"]]
               for s in runs[0]["mirabest_grouping"]["sources"]]
    out["mirabest_grouping"] = {
        "n": len(grouped), "grouped": float(np.mean([s["grouped"] for s in grouped])),
        "grouped_and_class": float(np.mean([s["class_ok"] for s in grouped])),
        "grouped_90": interval([s["grouped"] for s in grouped]),
        "grouped_and_class_90": interval([s["class_ok"] for s in grouped]), "sources": grouped}
    return out


def report(res: dict) -> None:
    for sec, name in (("dr1_boxes", "DR1 windows, ClaRAN boxes"), ("dr1_rule_windows", "DR1 rule windows"),
                      ("dr1_cutouts", "DR1 windows as 100 px cutouts")):
        if sec in res:
            r = res[sec]
            print(f"{name} ({r['n_images']}): mAP50 {r['mAP50']:.3f}" + interval_text(r.get("mAP50_90")) + "; "
                  + "  ".join(f"{k} {v:.3f}" for k, v in r["per_class_AP50"].items()))
    c, g = res["dr1_class"], res["mirabest_grouping"]
    print(f"DR1 class accuracy ({c['n']}): {c['accuracy']:.3f}" + interval_text(c["accuracy_90"]))
    print(f"MiraBest grouping ({g['n']}): {g['grouped']:.3f}" + interval_text(g["grouped_90"])
          + f", and class {g['grouped_and_class']:.3f}" + interval_text(g["grouped_and_class_90"]))


def report_controls(paths: list[Path]) -> None:
    """One line per control run: the spread of identical recipes."""
    for p in paths:
        r = json.loads(p.read_text())
        print(f"{p.stem}: DR1 windows {r['dr1_boxes']['mAP50']:.3f}, rule windows {r['dr1_rule_windows']['mAP50']:.3f}, "
              f"DR1 class {r['dr1_class']['accuracy']:.3f}, MiraBest grouping {r['mirabest_grouping']['grouped']:.3f} / "
              f"{r['mirabest_grouping']['grouped_and_class']:.3f}, dev {r['dev']['mAP50']:.3f}")


def run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def train_all(args: argparse.Namespace) -> list[Path]:
    """Simulate once, then for the control and each fold: build its training set, fine-tune, measure."""
    from claran.engine.checkpoint import find_checkpoints

    work, claran = args.work, [sys.executable, "-m", "cli.main"]
    work.mkdir(parents=True, exist_ok=True)
    held, sim = work / "heldout-fields.txt", work / "sim"
    if not held.exists():
        run([sys.executable, str(ROOT / "benchmarks" / "real_split.py"), str(held)])
    if not (sim / "annotations.json").exists():  # the bundled model's real-sky recipe (train_default_model.py)
        run([*claran, "simulate", "--count", str(args.count), "--seed", str(args.seed), "--class-balance",
             "--randomise", "--backgrounds", str(DATA / "mirabest-sample"), "--exclude-backgrounds",
             str(DATA / "rgz-real-dev" / "truth.json"), "--real-sources", str(DATA / "mirabest-fields"),
             "--exclude-real", str(held), "--real-fraction", "0.8", "--workers", "2", str(sim)])
    jsons = []
    seeds = {f"control-s{s}": s for s in args.control_seeds[1:]}
    for k in ["control", *seeds, *range(args.folds)]:
        train = [f for f in range(args.folds) if f != k] if isinstance(k, int) else []
        data, log, res = work / f"data-{k}", work / f"log-{k}", work / f"real_sky-{k}.json"
        if k in seeds:
            data = work / "data-control"  # the control's training set, another seed
        if not (data / "annotations.json").exists():
            run([sys.executable, str(ROOT / "benchmarks" / "real_fields.py"), str(sim), str(data), "--seed",
                 str(args.seed), *(["--dr1-folds", *map(str, train), "--n-folds", str(args.folds), "--dr1-crops",
                                    str(args.crops)] if train else [])])
        if not find_checkpoints(log) or find_checkpoints(log)[-1].name != f"model-{args.steps}.pt":
            run([*claran, "train", "--dataset", "rgz", "--data", str(data), "--preset", "rgz-small", "--load",
                 str(args.base), "--logdir", str(log), "--no-progress", "--config", "RGZ.REPRESENTATION=phys",
                 f"TRAIN.BASE_LR={args.lr}", "TRAIN.EVAL_PERIOD=0",
                 f"TRAIN.SEED={seeds.get(k, args.control_seeds[0])}",
                 f"TRAIN.LR_SCHEDULE=[{args.steps * 4 // 5},{args.steps * 19 // 20},{args.steps}]"])
        if not res.exists():
            run([sys.executable, str(ROOT / "benchmarks" / "real_sky.py"), "--model",
                 str(find_checkpoints(log)[-1]), "--json", str(res)])
        if isinstance(k, int):
            jsons.append(res)
    return jsons


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, help="folder for the training sets, logs and results")
    ap.add_argument("--merge", type=Path, nargs="+", help="real_sky.py JSONs of the models holding out fold 0, 1, ...")
    ap.add_argument("--json", type=Path, help="write the out-of-fold results here")
    ap.add_argument("--folds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--crops", type=int, default=16, help="training windows per DR1 source")
    ap.add_argument("--count", type=int, default=5000, help="simulated cutouts")
    ap.add_argument("--seed", type=int, default=3001)
    ap.add_argument("--base", type=Path, default=ROOT / "rgz" / "models" / "default.pt", help="model to fine-tune")
    ap.add_argument("--control-seeds", type=int, nargs="+", default=[42],
                    help="TRAIN.SEED of the control and the fold models (the first), and of more control runs")
    ap.add_argument("--bootstrap", type=int, default=200)
    args = ap.parse_args(argv)
    if not (DATA / "mirabest-fields" / "labels.csv").is_file():
        sys.exit(f"{DATA}: no mirabest-fields/labels.csv (this benchmark needs ../shared/data)")
    if bool(args.work) == bool(args.merge):
        sys.exit("give either --work DIR (train and measure) or --merge JSON ... (combine measured folds)")
    paths = args.merge or train_all(args)
    if args.work:
        report_controls(sorted(args.work.glob("real_sky-control*.json")))
    runs = []
    for p in paths:
        try:
            runs.append(json.loads(Path(p).read_text()))
        except (OSError, ValueError) as e:
            sys.exit(f"{p}: cannot read it as benchmarks/real_sky.py --json output ({e})")
    res = merge(runs, dr1_folds(DATA, len(runs)), field_folds(DATA, len(runs)), args.bootstrap)
    report(res)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, default=float))
    return res


if __name__ == "__main__":
    main()
