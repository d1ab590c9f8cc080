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


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--load", required=True, type=click.Path(), metavar="CKPT",
              help="Checkpoint written by `claran train` (or its log folder: the newest checkpoint in it).")
@click.option("--dataset", required=True, metavar="NAME",
              help="Dataset family ('coco', 'rgz', a --plugin's) whose validation splits (DATA.VAL) are scored, "
                   "or the name of one registered split.")
@click.option("--data", type=click.Path(), metavar="DIR", help="The dataset's root folder.")
@click.option("--split", "splits", multiple=True, metavar="NAME",
              help="Score these registered splits instead of the family's DATA.VAL (repeatable).")
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
    from claran.config import Config
    from claran.data import DatasetRegistry, get_dataset_family, list_dataset_families
    from claran.engine.checkpoint import load_model
    from claran.engine.distributed import default_device, init_distributed
    from claran.engine.evaluator import evaluate_splits

    if output:  # before any work: a finished evaluation must not be lost to an existing file
        from catalogs import check_output

        check_output(output, overwrite=overwrite, what="--output")
        check_output(f"{os.path.splitext(output)[0]}.metrics.json", overwrite=overwrite, what="metrics file")
    scratch = Config()
    if dataset in list_dataset_families():
        get_dataset_family(dataset)(scratch, data)
        names = list(splits or scratch.DATA.VAL)
    elif dataset in DatasetRegistry.get_registered_names():
        names = [dataset, *splits]
    else:
        raise UserError(f"unknown dataset {dataset!r}; known datasets: {', '.join(list_dataset_families())}")
    if output:
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    rank, _, _ = init_distributed()
    model, ckpt = load_model(load)
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
