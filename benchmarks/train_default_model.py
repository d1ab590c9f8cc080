"""The recipe of the bundled default RGZ model: simulate, train, export, score.

    python benchmarks/train_default_model.py --work /tmp/rgz-default [--phases 4800 8800 14000] [--skip-train]

1. ``claran simulate`` class-balanced, domain-randomised training sets (6000 cutouts, seed 2000) on real
   FIRST noise backgrounds (../shared/data/mirabest-sample without the rgz-real-dev fields), and a held-out
   set (300 cutouts, seed 7, nominal FIRST: never trained on). Phases up to step 8800 train on labels with
   the old contour rule (``--label-sigma 4 --label-factor 2``, as the bundled model was first trained);
   later phases on labels with the current rule (5 sigma, sqrt 2 levels), like the held-out set; phases
   after 14000 on twice as many cutouts (12000, seed 2000: the first 6000 are the same files).
2. ``claran train --dataset rgz --preset rgz-small --config RGZ.REPRESENTATION=phys`` (batch 8): 4800 steps
   decayed at 3600/4400, then resumed with a warm restart to 8800 steps decayed at 7600/8400, then again
   to 14000 steps decayed at 12040/13300 (the bundled model). ``--phases 4800 8800 14000 20000`` adds the
   fourth phase that was tried and not adopted (docs/NOTES.md): to 20000 decayed at 17200/19000.
3. Real sky (issue 12): ``claran simulate --real-sources mirabest-fields --real-fraction 0.8`` writes 5000
   cutouts (seed 3001) labelled by RGZ's rule (3 sqrt 3 sigma, x sqrt 3, RGZ boxes), 80 % of whose targets are
   real FIRST galaxies cut from the MiraBest fields that ``benchmarks/real_split.py`` does not hold out;
   ``benchmarks/real_fields.py`` adds three 3' windows of each of those fields as scenes of their own (1759);
   the 14000-step model is fine-tuned on the mix (``--load``, base LR 0.01, ``--finetune`` steps, 3000 for the
   bundled model, decayed at 4/5 and 14/15). ``--finetune 0`` stops at the 14000-step model (bundled before
   issue 12's session 4).
4. Export the last checkpoint without optimizer state to ``rgz/models/default.pt`` (float32, < 20 MB), with
   the test-time keys of the current rgz-small preset.
5. Score it with benchmarks/rgz_accuracy.py on the held-out simulations and the real rgz-real-dev cutouts
   (and with benchmarks/real_sky.py on the held-out real fields).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

# test-time keys refreshed from the current preset on export (they change no weight)
TEST_KEYS = ("RPN.TEST_PER_LEVEL_NMS_TOPK", "RPN.TEST_POST_NMS_TOPK", "RPN.TEST_PRE_NMS_TOPK",
             "TEST.RESULTS_PER_IM", "TEST.RESULT_SCORE_THRESH", "TEST.FRCNN_NMS_THRESH")


def run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def export(ckpt_path: Path, out: Path) -> None:
    """Strip optimizer/scheduler state, refresh test-time keys from the rgz-small preset, write atomically."""
    import rgz.dataset  # noqa: F401  (registers the preset)
    from claran.config import Config, get_preset
    from claran.engine.checkpoint import atomic_save, load_checkpoint

    ckpt = load_checkpoint(ckpt_path)
    preset = Config()
    get_preset("rgz-small")(preset)
    cfg = ckpt["config"]
    for key in TEST_KEYS:
        node = cfg
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = preset.get_key(key)
    slim = {k: v for k, v in ckpt.items() if k not in ("optimizer", "scheduler", "path")}
    slim["model"] = {k: v.float().contiguous() for k, v in ckpt["model"].items()}
    slim["extra"] = dict(ckpt.get("extra") or {}, source=f"{ckpt_path.name} (step {ckpt['step']})")
    atomic_save(slim, out)
    print(f"exported {ckpt_path} -> {out} ({out.stat().st_size / 1e6:.1f} MB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/rgz-default"))
    ap.add_argument("--phases", type=int, nargs="+", default=[4800, 8800, 14000],
                    help="the step each training phase ends at (each resumes the last)")
    ap.add_argument("--count", type=int, default=6000)
    ap.add_argument("--finetune", type=int, default=3000,
                    help="steps of the real-sky fine-tune (3000: the bundled model; 0: none)")
    ap.add_argument("--skip-train", action="store_true", help="only export and score the newest checkpoint")
    ap.add_argument("--out", type=Path, default=ROOT / "rgz" / "models" / "default.pt")
    args = ap.parse_args()
    claran = [sys.executable, "-m", "cli.main"]
    train_dir, heldout, logdir = args.work / "train", args.work / "heldout", args.work / "log"
    old_rule = args.work / "train-4sigma"  # the first two phases' labels (contour rule before this change)
    large = args.work / "train-12k"  # phases after 14000: 12000 cutouts
    bg = ["--backgrounds", str(SHARED / "mirabest-sample"),
          "--exclude-backgrounds", str(SHARED / "rgz-real-dev" / "truth.json")]
    if not args.skip_train:
        # the labels each phase was trained on: phases 1-2 ClaRAN-like 4 sigma x 2, phase 3 (the bundled
        # model) 5 sigma x sqrt 2; both with whole-pixel island boxes (the rule before RGZ's own ladder, issue 12)
        islands = ["--label-boxes", "islands"]
        sets = [(old_rule, args.count, ["--label-sigma", "4", "--label-factor", "2", *islands]),
                (train_dir, args.count, ["--label-sigma", "5", "--label-factor", str(2**0.5), *islands])]
        if max(args.phases) > 14000:
            sets.append((large, 2 * args.count, []))
        for folder, count, rule in sets:
            if not (folder / "annotations.json").exists():
                run([*claran, "simulate", "--count", str(count), "--seed", "2000", "--class-balance",
                     "--randomise", *rule, *bg, "--workers", "2", str(folder)])
        if not (heldout / "annotations.json").exists():
            run([*claran, "simulate", "--count", "300", "--seed", "7", "--class-balance", *bg, "--workers", "2",
                 str(heldout)])
        # Phase 1: 4800 steps decayed at 3600/4400. Phase 2 resumes at 4800 with a warm restart (LR back to
        # BASE_LR, the LR being a function of the step) and decays again at 7600/8400 (the bundled model).
        schedules = {4800: "[3600,4400,4800]", 8800: "[7600,8400,8800]"}
        for end in args.phases:
            sched = schedules.get(end, f"[{int(end * 0.86)},{int(end * 0.95)},{end}]")
            data = old_rule if end <= 8800 else train_dir if end <= 14000 else large
            run([*claran, "train", "--dataset", "rgz", "--data", str(data), "--preset", "rgz-small",
                 "--logdir", str(logdir), "--no-progress", "--config", "RGZ.REPRESENTATION=phys",
                 f"TRAIN.LR_SCHEDULE={sched}", "TRAIN.EVAL_PERIOD=6"])
    from claran.engine.checkpoint import find_checkpoints

    real, held, ft_log = args.work / "train-real", args.work / "heldout-fields.txt", args.work / "log-real"
    if args.finetune and not args.skip_train:
        # the fine-tune starts from the 14000-step weights; its own logdir keeps resuming possible
        base = find_checkpoints(logdir)
        if not base:
            sys.exit(f"{logdir}: no checkpoint to fine-tune")
        if not held.exists():
            run([sys.executable, str(ROOT / "benchmarks" / "real_split.py"), str(held)])
        sim_real = args.work / "train-real-sim"  # simulations only; ``real`` is them plus the real windows
        if not (sim_real / "annotations.json").exists():
            run([*claran, "simulate", "--count", "5000", "--seed", "3001", "--class-balance", "--randomise", *bg,
                 "--real-sources", str(SHARED / "mirabest-fields"), "--exclude-real", str(held),
                 "--real-fraction", "0.8", "--workers", "2", str(sim_real)])
        if not (real / "annotations.json").exists():
            run([sys.executable, str(ROOT / "benchmarks" / "real_fields.py"), str(sim_real), str(real)])
        end = args.finetune
        run([*claran, "train", "--dataset", "rgz", "--data", str(real), "--preset", "rgz-small",
             "--load", str(base[-1]), "--logdir", str(ft_log), "--no-progress", "--config",
             "RGZ.REPRESENTATION=phys", "TRAIN.BASE_LR=0.01",
             f"TRAIN.LR_SCHEDULE=[{end * 4 // 5},{end * 14 // 15},{end}]", "TRAIN.EVAL_PERIOD=5"])
    if args.finetune:
        logdir = ft_log
    found = find_checkpoints(logdir)
    if not found:
        sys.exit(f"{logdir}: no checkpoint to export")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    export(found[-1], args.out)
    from rgz_accuracy import main as score  # benchmarks/ is on sys.path when this script runs

    res = score(["--model", str(args.out), "--sim", str(heldout), "--json", str(args.work / "accuracy.json")])
    print(json.dumps({k: v.get("mAP50") for k, v in res.items() if isinstance(v, dict)}))


if __name__ == "__main__":
    main()
