"""``claran train``: train a detector on a dataset family (coco, rgz or your own), alone or under torchrun."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import shlex
import sys
from pathlib import Path

import click

from claran.config import Config, ConfigError, get_preset, list_presets
from claran.errors import UserError

PLUGIN_HELP = ("Python module (or .py file) to import first; it may register your own dataset family "
               "(see docs/datasets.md). Repeatable.")


def setup_logging() -> None:
    """INFO lines from the main process; only warnings from the other ranks."""
    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(format=f"[%(asctime)s{'' if rank == 0 else f' rank {rank}'}] %(message)s",
                        datefmt="%H:%M:%S", level=logging.INFO if rank == 0 else logging.WARNING, stream=sys.stderr)


def load_families(plugins: tuple[str, ...] = ()) -> None:
    """Make the dataset families known: coco (core), rgz (when installed), and the user's plugins."""
    import claran.data  # noqa: F401  registers coco

    try:
        import rgz.dataset  # noqa: F401  registers rgz
    except ImportError:
        pass
    for p in plugins:
        try:
            if p.endswith(".py"):
                if not Path(p).is_file():
                    raise UserError(f"--plugin {p}: file not found")
                spec = importlib.util.spec_from_file_location(Path(p).stem, p)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
            else:
                importlib.import_module(p)
        except ImportError as e:
            raise UserError(f"--plugin {p}: cannot import it ({e})") from None


def override_value(overrides: tuple[str, ...], key: str) -> str | None:
    """The value the last ``KEY=VALUE`` override gives ``key`` (quotes removed), or None."""
    from claran.config import parse_value

    found = None
    for arg in overrides:
        k, _, v = arg.partition("=")
        if k.strip() == key:
            found = str(parse_value(v.strip()))
    return found


def build_config(dataset: str | None, data: str | None, preset: str | None, overrides: tuple[str, ...]) -> Config:
    """Defaults, then the dataset family's setup, then the preset, then ``KEY=VALUE`` overrides.

    The family reads its folder from ``--data`` or else ``DATA.BASEDIR=`` among the overrides (tensorpack's
    way), so the folder is known before the family checks it.
    """
    from claran.data import family_after_overrides, get_dataset_family

    cfg = Config()
    try:
        setup = get_dataset_family(dataset) if dataset else None
        if setup is not None:
            setup(cfg, data or override_value(overrides, "DATA.BASEDIR"))
            cfg.DATA.FAMILY = dataset
        basedir = cfg.DATA.BASEDIR
        if preset:
            get_preset(preset)(cfg)
        cfg.update_args(overrides)
        if data:  # --data wins over a DATA.BASEDIR override: the family registered its splits there
            cfg.DATA.BASEDIR = basedir
        # a family may derive keys from its own overridden keys (rgz: RGZ.REPRESENTATION -> IN_CHANNELS)
        after = family_after_overrides(dataset) if dataset else None
        if after is not None:
            after(cfg, overrides)
    except ConfigError as e:  # ConfigError is a ValueError: turn it into the CLI's one-line error
        raise UserError(str(e)) from None
    return cfg


def split_overrides(config: tuple[str, ...], extra: tuple[str, ...]) -> tuple[str, ...]:
    """``--config A=1 B=2``: click gives ``A=1`` to the option and ``B=2`` as an argument; take both."""
    for arg in extra:
        if "=" not in arg:
            raise UserError(f"unexpected argument {arg!r}: config overrides are KEY=VALUE (see --list-config)")
    return (*config, *extra)


def horovod_message(dataset: str, data: str | None, preset: str | None, overrides: tuple[str, ...],
                    logdir: str | None, load: str | None) -> str:
    """tensorpack's ``TRAINER=horovod`` in one line: the torchrun command that does the same."""
    args = ["--dataset", dataset]
    for opt, val in (("--data", data), ("--preset", preset), ("--logdir", logdir), ("--load", load)):
        if val:
            args += [opt, val]
    kept = [o for o in overrides if o.partition("=")[0].strip() != "TRAINER"]
    if kept:
        args += ["--config", *kept]
    return ("TRAINER=horovod: claran trains with torch.distributed instead of horovod; run "
            f"`torchrun --nproc_per_node=<GPUs per host> [--nnodes=N --node_rank=I --master_addr=HOST] "
            f"$(which claran) train {shlex.join(args)}`")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dataset", metavar="NAME",
              help="Dataset family: 'coco' (DATA.BASEDIR in COCO's layout), 'rgz' (a folder written by `claran "
                   "simulate` or `claran data rgz`) or one registered by a --plugin.")
@click.option("--data", type=click.Path(), metavar="DIR",
              help="The dataset's root folder; a shortcut for --config DATA.BASEDIR=DIR.")
@click.option("--preset", metavar="NAME",
              help=f"Named configuration applied before --config: {', '.join(list_presets())}.")
@click.option("--config", "config", multiple=True, metavar="KEY=VALUE",
              help="Override config keys, e.g. --config TRAIN.MAX_STEPS=100 MODE_MASK=False. Values are Python "
                   "literals; see --list-config for every key.")
@click.option("--logdir", type=click.Path(file_okay=False), metavar="DIR",
              help="Where checkpoints (model-<step>.pt) and metrics.jsonl go [default: train_log/<dataset>]. "
                   "Training resumes from the newest readable checkpoint already there.")
@click.option("--load", type=click.Path(dir_okay=False), metavar="CKPT",
              help="Initialise weights from this checkpoint (tensors whose names and shapes match), or from a "
                   "tensorpack model zoo .npz (see docs/tensorpack.md).")
@click.option("--list-config", is_flag=True, help="Print the resulting configuration and exit.")
@click.option("--plugin", multiple=True, metavar="MODULE", help=PLUGIN_HELP)
@click.option("--no-progress", is_flag=True, help="No progress bar (log lines only).")
@click.argument("more_config", nargs=-1, metavar="[KEY=VALUE]...")
def train(dataset, data, preset, config, logdir, load, list_config, plugin, no_progress, more_config) -> None:
    """Train Faster/Mask/Cascade R-CNN. Run under `torchrun --nproc_per_node=N $(which claran) train ...`
    for several GPUs (NCCL) or CPU processes (gloo); learning rate and schedule follow the total batch."""
    setup_logging()
    load_families(plugin)
    overrides = split_overrides(config, more_config)
    if not dataset and not list_config:
        from claran.data import list_dataset_families

        raise UserError(f"--dataset is required; known datasets: {', '.join(list_dataset_families())}")
    cfg = build_config(dataset, data, preset, overrides)
    if list_config:
        click.echo(repr(cfg))
        return
    if cfg.TRAINER == "horovod":
        raise UserError(horovod_message(dataset, data, preset, overrides, logdir, load))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    try:
        cfg.finalize(is_training=True, num_devices=world)
    except ConfigError as e:
        raise UserError(str(e)) from None
    from claran.engine.trainer import Trainer

    trainer = Trainer(cfg=cfg, logdir=logdir or os.path.join("train_log", dataset), load=load,
                      progress=not no_progress)
    try:
        step = trainer.train()
    finally:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    if trainer.rank == 0:
        click.echo(f"trained to step {step}; checkpoints in {trainer.logdir}")
