"""``claran detect``: FITS images -> a source catalogue (VOTable/FITS/CSV/ECSV), DS9 regions, overlay PNGs.

Under ``torchrun --nproc_per_node=N $(which claran) detect ...`` (WORLD_SIZE/RANK set) every process takes
every N-th input file, and rank 0 gathers the rows (gloo) and writes one catalogue.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from claran.errors import UserError
from rgz import DEFAULT_MIN_SCORE


@click.command("detect", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--model", "model_path", type=click.Path(path_type=str), default=None,
              help="Checkpoint from `claran train` (default: the bundled model rgz/models/default.pt).")
@click.option("--ir", "ir_path", type=click.Path(path_type=str), default=None,
              help="Infrared (WISE W1) image of the same field: host positions and plot underlay.")
@click.option("--output", "-o", type=click.Path(path_type=str), default=None,
              help="Catalogue file: .vot/.xml (VOTable), .fits, .csv or .ecsv. Without it, rows are printed.")
@click.option("--regions", "regions_path", type=click.Path(path_type=str), default=None,
              help="DS9 region file, one region per catalogue row.")
@click.option("--plot-dir", type=click.Path(path_type=str), default=None, help="Folder for one overlay PNG per image.")
@click.option("--min-score", type=click.FloatRange(0.0, 1.0), default=DEFAULT_MIN_SCORE, show_default=True,
              help="Drop detections scoring below this.")
@click.option("--batch-size", type=click.IntRange(1), default=8, show_default=True, help="Frames per model call.")
@click.option("--classes", type=click.Choice(["contours", "network"]), default="contours", show_default=True,
              help="How each source gets its XC_YP class: 'contours' counts the islands and peaks inside its box "
                   "(RGZ's rule: lowest contour 5 sigma, levels x sqrt 2); 'network' keeps the network's own class.")
@click.option("--tta", is_flag=True,
              help="Test-time augmentation: each frame in its 8 rotations and flips, detections fused (8x the time).")
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True,
              help="bf16: bfloat16 convolutions (fast on CPUs with AVX512-BF16/AMX); the same sources up to rounding.")
@click.option("--backend", type=click.Choice(["torch", "onnxruntime"]), default="torch", show_default=True,
              help="onnxruntime: the network in ONNX Runtime on the CPU (pip install -e '.[onnx]'); the same "
                   "catalogue up to float rounding.")
@click.option("--onnx", "onnx_path", type=click.Path(path_type=str), default=None,
              help="With --backend onnxruntime: a `claran export` file of --model (default: exported in memory).")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="Processes, one torch thread each (2 on a 2-core laptop is about twice as fast as 1).")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
def detect(paths: tuple[str, ...], model_path: str | None, ir_path: str | None, output: str | None,
           regions_path: str | None, plot_dir: str | None, min_score: float, batch_size: int, classes: str,
           tta: bool, precision: str, backend: str, onnx_path: str | None, workers: int, overwrite: bool) -> None:
    """Find and classify radio sources in FITS images (files or folders of FITS files)."""
    from catalogs import catalog_format, check_output
    from rgz.detector import find_fits

    # every output is checked before any work: a typo must not cost an hour of inference
    if output:
        catalog_format(output)
        check_output(output, overwrite=overwrite, what="catalogue")
    if regions_path:
        check_output(regions_path, overwrite=overwrite, what="region file")
    if ir_path is not None and not Path(ir_path).is_file():
        raise UserError(f"{ir_path}: --ir image not found")
    files = find_fits(paths)
    if not files:
        raise UserError(f"{', '.join(paths)}: no FITS files found (looked for {', '.join(('.fits', '.fit', '.fts'))})")
    plot_names = _plot_names(files, plot_dir) if plot_dir else {}
    if plot_dir:
        _check_plot_dir(plot_dir, plot_names, overwrite)

    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    from rgz.detector import Detector

    det = Detector.load(model_path, batch_size=batch_size, classes=classes, tta=tta,
                        precision=precision, backend=backend, onnx=onnx_path)
    if world > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("gloo")
    mine = files[rank::world]
    res = det.detect_many(mine, ir=ir_path, min_score=min_score, progress=rank == 0 and sys.stderr.isatty(),
                          workers=workers)
    if plot_dir:
        _write_plots(res, plot_names, ir_path)

    if world > 1:
        import torch.distributed as dist

        from rgz.detector import DetectionResult

        parts: list | None = [None] * world if rank == 0 else None
        dist.gather_object(res, parts, dst=0)
        # leave the group together: a rank that tears gloo down while its peer is still in the gather's
        # last exchange can abort ("terminate called without an active exception")
        dist.barrier()
        dist.destroy_process_group()
        if rank != 0:
            return
        res = DetectionResult.combine(parts, order=files)  # rank order interleaves the files: restore theirs
    table, errors, wcs, n_images = res.table, res.errors, res.wcs, res.n_images

    for _, reason in errors:
        click.echo(f"skipped: {reason}", err=True)
    import catalogs  # write_regions (and its `regions` import) only when asked for: start-up time

    if output:
        catalogs.write_catalog(table, output, overwrite=overwrite)
    if regions_path:
        catalogs.write_regions(table, regions_path, wcs=wcs, overwrite=overwrite)
    if not output:
        cols = ["name", "ra", "dec", "morphology", "score", "size", "peak_flux", "image"]
        table[cols].pprint(max_lines=-1, max_width=-1) if len(table) else None
    click.echo(f"{len(table)} sources in {n_images} images"
               + (f" -> {output}" if output else "") + (f"; {len(errors)} input(s) skipped" if errors else ""),
               err=True)
    if errors:
        sys.exit(1)


def _plot_names(files: list[str], plot_dir: str) -> dict[str, Path]:
    """One PNG per input, named after it; clashing names (same file name in two folders) get _2, _3..."""
    out, seen = {}, {}
    for f in files:
        stem = Path(f).name
        for suf in (".gz", ".fz"):
            stem = stem.removesuffix(suf)
        stem = Path(stem).stem
        n = seen[stem] = seen.get(stem, 0) + 1
        out[f] = Path(plot_dir) / (f"{stem}.png" if n == 1 else f"{stem}_{n}.png")
    return out


def _check_plot_dir(plot_dir: str, names: dict[str, Path], overwrite: bool) -> None:
    p = Path(plot_dir)
    if p.exists() and not p.is_dir():
        raise UserError(f"{p}: --plot-dir is a file; give a folder")
    probe = p
    while not probe.exists():
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"{p}: cannot write plots there ({probe} is not writable)")
    if not overwrite:
        existing = [str(n) for n in names.values() if n.exists()]
        if existing:
            raise UserError(f"{existing[0]}: plot exists ({len(existing)} in all); pass --overwrite to replace")


def _write_plots(res, names: dict[str, Path], ir_path: str | None) -> None:
    from catalogs import save_plot
    from rgz.fits_io import read_infrared, read_radio
    from rgz.plotting import plot_image

    ir = read_infrared(ir_path) if ir_path else None
    Path(next(iter(names.values()))).parent.mkdir(parents=True, exist_ok=True)
    for path in res.wcs:  # the good images only
        save_plot(plot_image(path, read_radio(path), res.table, ir=ir), names[path])
