"""``claran evaluate``: COCO AP of a checkpoint on a dataset (pycocotools COCOeval, bbox and segm)."""

from __future__ import annotations

import json
import os

import click

from claran.errors import UserError

from .train import PLUGIN_HELP, load_families, setup_logging


def format_metrics(name: str, metrics: dict[str, float]) -> str:
    """The 12 COCO numbers per IoU type, one per line, like COCOeval.summarize()."""
    return "\n".join([f"{name}:"] + [f"  {k:<28s} {v:.4f}" for k, v in metrics.items()])


def resolve_splits(cfg, dataset: str | None, data: str | None, splits: tuple[str, ...], source: str) -> list[str]:
    """The registered split names to score: from --dataset/--data/--split, else from the checkpoint's config
    (DATA.FAMILY, DATA.BASEDIR, DATA.VAL). ``dataset`` may be a family or a split name such as coco_val2017."""
    from claran.config import Config
    from claran.data import DatasetRegistry, get_dataset_family, list_dataset_families

    families = list_dataset_families()
    own = cfg.DATA.FAMILY or next((f for f in families for v in cfg.DATA.VAL if str(v).startswith(f"{f}_")), "")
    recorded = cfg.DATA.BASEDIR != Config().DATA.BASEDIR  # a tensorpack .npz records no folder nor splits
    folder = data or (cfg.DATA.BASEDIR if recorded else None)
    if dataset is None:
        if not own:
            raise UserError(f"--load {source}: the checkpoint does not say which dataset it was trained on; give "
                            f"--dataset (known datasets: {', '.join(families)})")
        scratch = Config()
        get_dataset_family(own)(scratch, folder)
        return list(splits or (cfg.DATA.VAL if recorded else scratch.DATA.VAL))
    if dataset in families:
        scratch = Config()
        get_dataset_family(dataset)(scratch, folder)
        return list(splits or scratch.DATA.VAL)
    if dataset not in DatasetRegistry.get_registered_names():
        # a split name (tensorpack's coco_val2017, coco_minival2014, ...): set up the family that registers it
        for family in dict.fromkeys([f for f in families if dataset.startswith(f"{f}_")] + ([own] if own else [])):
            get_dataset_family(family)(Config(), folder)
            if dataset in DatasetRegistry.get_registered_names():
                break
        else:
            raise UserError(f"unknown dataset {dataset!r}; known datasets: {', '.join(families)}, or a split name "
                            "such as coco_val2017")
    return [dataset, *splits]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--load", required=True, type=click.Path(), metavar="CKPT",
              help="Checkpoint written by `claran train` (or its log folder: the newest checkpoint in it), or a "
                   "tensorpack model zoo .npz (COCO, see docs/tensorpack.md).")
@click.option("--dataset", metavar="NAME",
              help="Dataset family ('coco', 'rgz', a --plugin's) whose validation splits (DATA.VAL) are scored, "
                   "or the name of one registered split (coco_val2017, coco_minival2014, ...) [default: the "
                   "checkpoint's dataset and DATA.VAL].")
@click.option("--data", type=click.Path(), metavar="DIR",
              help="The dataset's root folder [default: the checkpoint's DATA.BASEDIR].")
@click.option("--split", "splits", multiple=True, metavar="NAME",
              help="Score these registered splits instead of DATA.VAL (repeatable).")
@click.option("--output", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the detections there (COCO results json, the dataset's own category ids); the metrics "
                   "go beside it as <FILE stem>.metrics.json.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --output (and its .metrics.json).")
@click.option("--plugin", multiple=True, metavar="MODULE", help=PLUGIN_HELP)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def evaluate(load, dataset, data, splits, output, overwrite, plugin, no_progress) -> None:
    """Print the 12 COCO numbers (AP, AP50, AP75, APs/m/l, AR1/10/100, ARs/m/l) for boxes, and for masks
    when the model predicts them. Shards the images across processes under torchrun."""
    setup_logging()
    load_families(plugin)
    from claran.data import DatasetRegistry
    from claran.engine.distributed import default_device, init_distributed
    from claran.engine.evaluator import evaluate_splits
    from claran.engine.tensorpack_zoo import load_any_model as load_model  # a .pt or a tensorpack .npz

    if output:  # before any work: a finished evaluation must not be lost to an existing file
        from catalogs import check_output

        check_output(output, overwrite=overwrite, what="--output")
        check_output(f"{os.path.splitext(output)[0]}.metrics.json", overwrite=overwrite, what="metrics file")
    rank, _, _ = init_distributed()
    model, ckpt = load_model(load)
    names = resolve_splits(model.cfg, dataset, data, splits, ckpt["path"])
    if output:
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    model.to(default_device())
    trained = list(ckpt.get("class_names") or [])[1:]
    for name in names:
        DatasetRegistry.get(name)  # unknown split: one-line error before any inference
        theirs = DatasetRegistry.get_metadata(name, "class_names")
        if theirs is not None and len(theirs) != len(trained):
            raise UserError(f"--load {ckpt['path']}: the model knows {len(trained)} classes but dataset {name} has "
                            f"{len(theirs)}; evaluate on the dataset it was trained for")
    metrics = evaluate_splits(model, names, output=output, progress=not no_progress)
    if rank != 0:
        return
    for name, m in metrics.items():
        click.echo(format_metrics(name, m))
    if output:
        from claran.engine.checkpoint import atomic_write_bytes

        stem = os.path.splitext(output)[0]
        atomic_write_bytes(json.dumps(metrics, indent=1).encode(), f"{stem}.metrics.json")
        click.echo(f"detections: {output}; metrics: {stem}.metrics.json")
