"""``claran detect``: FITS images -> a source catalogue (VOTable/FITS/CSV/ECSV), DS9 regions, overlay PNGs.

Under ``torchrun --nproc_per_node=N $(which claran) detect ...`` (WORLD_SIZE/RANK set) every process takes
every N-th input file, and rank 0 gathers the rows (gloo) and writes one catalogue.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from pathlib import Path

import click

from claran.errors import UserError
from rgz import DEFAULT_MIN_SCORE

FITS_ENDINGS = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fits.fz")


@click.command("detect", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--model", "model_path", type=click.Path(path_type=str), default=None,
              help="Checkpoint from `claran train` (default: the bundled model rgz/models/default.pt).")
@click.option("--ir", "ir_path", type=click.Path(path_type=str), default=None,
              help="Infrared (WISE W1) image of the same field: host positions and plot underlay.")
@click.option("--output", "-o", type=click.Path(path_type=str), default=None,
              help="Catalogue file: .vot/.xml (VOTable), .fits, .csv or .ecsv. Without it, rows are printed.")
@click.option("--components", "components_path", type=click.Path(path_type=str), default=None,
              help="Component table (one row per island of a source, linked by source_id) in its own file: "
                   ".vot/.xml, .fits, .csv or .ecsv (--output holds the sources alone, so any reader takes it).")
@click.option("--regions", "regions_path", type=click.Path(path_type=str), default=None,
              help="DS9 region file (.reg), one region per catalogue row, ICRS.")
@click.option("--plot-dir", type=click.Path(path_type=str), default=None, help="Folder for one overlay PNG per image.")
@click.option("--beam", type=str, default=None, metavar="BMAJ[,BMIN[,BPA]]",
              help="Beam FWHM in arcsec (and PA in degrees) for images whose header has no BMAJ/BMIN "
                   "(SkyView, MiraBest); default FIRST's 5.4\" with a warning.")
@click.option("--min-score", type=click.FloatRange(0.0, 1.0), default=DEFAULT_MIN_SCORE, show_default=True,
              help="Drop detections scoring below this (a 1C_1P source beside another is kept whatever its "
                   "lowered score: flag_possible_component).")
@click.option("--batch-size", type=click.IntRange(1), default=8, show_default=True, help="Frames per model call.")
@click.option("--classes", type=click.Choice(["contours", "network"]), default="contours", show_default=True,
              help="How each source gets its XC_YP class: 'contours' counts the islands it owns and their peaks "
                   "(RGZ's rule: lowest contour 3 sqrt 3 sigma, levels x sqrt 3; one row per group of islands); "
                   "'network' keeps the network's own class and box.")
@click.option("--boxes", type=click.Choice(["contours", "network"]), default="contours", show_default=True,
              help="With contour classes: 'contours' draws each box around the source's contours as RGZ's boxes are "
                   "drawn (a square, at least one component's angular extent wide); 'network' keeps the network's.")
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
@click.option("--progress/--no-progress", default=None,
              help="A progress bar on stderr (default: when stderr is a terminal).")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
def detect(paths: tuple[str, ...], model_path: str | None, ir_path: str | None, output: str | None,
           components_path: str | None, regions_path: str | None, plot_dir: str | None, beam: str | None,
           min_score: float, batch_size: int, classes: str, boxes: str, tta: bool, precision: str, backend: str,
           onnx_path: str | None, workers: int, progress: bool | None, overwrite: bool) -> None:
    """Find and classify radio sources in FITS images (files or folders of FITS files)."""
    from catalogs import catalog_format, check_output
    from rgz.detector import find_fits

    # every output is checked before any work: a typo must not cost an hour of inference
    if output:
        catalog_format(output)
        check_output(output, overwrite=overwrite, what="catalogue")
    if components_path:
        catalog_format(components_path)
        check_output(components_path, overwrite=overwrite, what="component table")
    if regions_path:
        if Path(regions_path).suffix.lower() != ".reg":
            raise UserError(f"{regions_path}: --regions writes a DS9 region file; end the name with .reg")
        check_output(regions_path, overwrite=overwrite, what="region file")
    beam_arcsec = _parse_beam(beam) if beam is not None else None
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

    det = Detector.load(model_path, batch_size=batch_size, classes=classes, boxes=boxes, tta=tta,
                        precision=precision, backend=backend, onnx=onnx_path, beam=beam_arcsec)
    if world > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("gloo")
    mine = files[rank::world]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = det.detect_many(mine, ir=ir_path, min_score=min_score, progress=rank == 0 and (sys.stderr.isatty() if progress is None else progress),
                              workers=workers)
        if plot_dir:
            _write_plots(res, plot_names, ir_path, beam_arcsec)
    _echo_warnings(caught)

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

    components = res.components
    if output:  # one table per file: `Table.read(output)`, TOPCAT and the project's scorer read it as it is
        catalogs.write_catalog(table, output, overwrite=overwrite)
    if components_path:
        catalogs.write_catalog(components if components is not None else catalogs.empty_components(),
                               components_path, overwrite=overwrite)
    if regions_path:
        from rgz.sources import RGZ_SCHEME

        catalogs.write_regions(table, regions_path, wcs=wcs, colours=RGZ_SCHEME.colours, overwrite=overwrite)
    if not output:
        cols = ["name", "ra", "dec", "morphology", "score", "size", "peak_flux", "image"]
        table[cols].pprint(max_lines=-1, max_width=-1) if len(table) else None
    click.echo(f"{_count(len(table), 'source')} in {_count(n_images, 'image')}"
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


def _write_plots(res, names: dict[str, Path], ir_path: str | None, beam: tuple[float, ...] | None) -> None:
    from catalogs import save_plot
    from rgz.fits_io import read_infrared, read_radio
    from rgz.plotting import plot_image

    ir = read_infrared(ir_path) if ir_path else None
    Path(next(iter(names.values()))).parent.mkdir(parents=True, exist_ok=True)
    for path in res.wcs:  # the good images only
        save_plot(plot_image(path, read_radio(path, default_beam=beam), res.table, ir=ir), names[path])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _parse_beam(text: str) -> tuple[float, ...]:
    """'5.4' or '5.4,4.2[,30]' (arcsec, arcsec, degrees) -> a tuple; a clear error otherwise."""
    try:
        vals = tuple(float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        vals = ()
    if not 1 <= len(vals) <= 3 or not all(v > 0 for v in vals[:2]) or not all(math.isfinite(v) for v in vals):
        raise UserError(f"--beam {text!r}: give BMAJ[,BMIN[,BPA]] in arcsec (and degrees), e.g. --beam 5.4 or "
                        "--beam 45,45,0")
    return vals


def _echo_warnings(caught: list) -> None:
    """Each condition once per run, without its source line: 'warning: <what> (N files, e.g. <first>)'."""
    seen: dict[str, list[str]] = {}
    for w in caught:
        if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning, ResourceWarning)):
            continue  # libraries' notes to developers, hidden by Python's default filters too
        msg = str(w.message)
        path, sep, rest = msg.partition(": ")
        key, where = (rest, path) if sep and (os.path.sep in path or path.lower().endswith(FITS_ENDINGS)) else (msg, "")
        seen.setdefault(key, []).append(where)
    for key, where in seen.items():
        files = [f for f in dict.fromkeys(where) if f]
        if not files:
            click.echo(f"warning: {key}", err=True)
        elif len(files) == 1:
            click.echo(f"warning: {files[0]}: {key}", err=True)
        else:
            click.echo(f"warning: {key} ({len(files)} files, e.g. {files[0]})", err=True)
