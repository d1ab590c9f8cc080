"""A uniform model soup: the weights of several fine-tunes of one model averaged into one checkpoint.

    python benchmarks/model_soup.py OUT.pt A.pt B.pt [C.pt ...]

Fine-tunes that start from the same weights (the bundled model's last stage rerun with other seeds, as
``benchmarks/dr1_crossval.py``'s control does) often average into a model as good as their ensemble at the
cost of one (Wortsman et al. 2022, "Model soups"). Every floating-point tensor of the models is averaged;
the rest (step, config, class names, the RGZ model spec) is the first checkpoint's. Measure the soup like any
model: ``python benchmarks/real_sky.py --model OUT.pt --json J`` and ``compare_real_sky.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def soup(paths: list[Path]) -> dict:
    """The first checkpoint with its model weights replaced by the mean over all of ``paths``."""
    from claran.engine.checkpoint import load_checkpoint
    from claran.errors import CheckpointError

    cks = [load_checkpoint(p) for p in paths]
    ref = cks[0]["model"]
    for p, c in zip(paths[1:], cks[1:], strict=True):
        if c["model"].keys() != ref.keys() or any(c["model"][k].shape != v.shape for k, v in ref.items()):
            raise CheckpointError(f"{p}: not the same architecture as {paths[0]}; a soup needs fine-tunes of one model")
    weights = {k: (sum(c["model"][k].double() for c in cks) / len(cks)).to(v.dtype) if v.is_floating_point() else v
               for k, v in ref.items()}
    out = {k: v for k, v in cks[0].items() if k not in ("optimizer", "scheduler", "path")}
    out["model"] = weights
    out["extra"] = dict(out.get("extra") or {}, source="uniform soup of " + ", ".join(p.name for p in paths))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("models", type=Path, nargs="+")
    args = ap.parse_args(argv)
    if len(args.models) < 2:
        ap.error("give two or more checkpoints to average")
    from claran.engine.checkpoint import atomic_save
    from claran.errors import CheckpointError

    try:
        atomic_save(soup(args.models), args.out)
    except CheckpointError as e:
        sys.exit(f"error: {e}")
    print(f"{args.out}: the mean of {len(args.models)} models")


if __name__ == "__main__":
    main()
