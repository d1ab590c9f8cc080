"""``claran predict``: run a checkpoint on image files and draw the detections into PNGs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from claran.errors import UserError


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("images", nargs=-1, required=True, type=click.Path(), metavar="IMAGE...")
@click.option("--load", required=True, type=click.Path(), metavar="CKPT", help="Checkpoint written by `claran train`.")
@click.option("--output", required=True, type=click.Path(file_okay=False), metavar="DIR",
              help="Folder for <image stem>.png drawings and predictions.json (created if needed).")
@click.option("--overwrite", is_flag=True, help="Replace drawings and predictions.json already in --output.")
@click.option("--score-thresh", type=float, default=None, metavar="S",
              help="Draw detections scoring at least S [default: the checkpoint's TEST.RESULT_SCORE_THRESH_VIS].")
def predict(images, load, output, overwrite, score_thresh) -> None:
    """Detect objects in IMAGE files (PNG, JPEG, ... read as RGB) and draw boxes, class names, scores and
    masks. Unreadable images are reported and skipped; the others are still processed. Earlier outputs are
    never replaced without --overwrite. For FITS files use `claran detect`."""
    import cv2

    from claran.engine.checkpoint import atomic_write_bytes
    from claran.engine.distributed import default_device
    from claran.engine.tensorpack_zoo import load_any_model as load_model  # a .pt or a tensorpack .npz
    from claran.engine.visualize import draw_predictions
    from claran.predictor import Predictor

    out = Path(output)
    _check_outputs(images, out, overwrite)  # before any work
    model, ckpt = load_model(load)
    predictor = Predictor(model, device=default_device())
    names = list(ckpt.get("class_names") or model.cfg.DATA.CLASS_NAMES)
    thresh = model.cfg.TEST.RESULT_SCORE_THRESH_VIS if score_thresh is None else score_thresh
    out.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    summary = {}
    for path in images:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            failed.append(path)
            click.echo(f"Error: {path}: cannot read it as an image; skipped", err=True)
            continue
        img = img[:, :, ::-1]
        if model.cfg.BACKBONE.IN_CHANNELS == 1:
            img = img[:, :, :1]
        try:
            det = predictor(img)
        except UserError as e:
            failed.append(path)
            click.echo(f"Error: {path}: {e}; skipped", err=True)
            continue
        drawn = draw_predictions(img, det, names, score_thresh=thresh)
        ok, png = cv2.imencode(".png", drawn[:, :, ::-1])
        target = out / f"{Path(path).stem}.png"
        atomic_write_bytes(png.tobytes(), target)
        summary[path] = [
            {"box": [round(float(v), 2) for v in det["boxes"][i]], "label": names[int(det["labels"][i])],
             "score": round(float(det["scores"][i]), 4)}
            for i in range(len(det["scores"])) if det["scores"][i] >= thresh
        ]
        click.echo(f"{path}: {len(summary[path])} detections -> {target}")
    if summary:
        atomic_write_bytes(json.dumps(summary, indent=1).encode(), out / "predictions.json")
    if failed:
        raise UserError(f"{len(failed)} of {len(images)} images could not be processed: {', '.join(failed[:5])}")


def _check_outputs(images: tuple[str, ...], out: Path, overwrite: bool) -> None:
    """Refuse to replace earlier drawings or predictions.json, and two inputs that would draw to one file."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--output {out}: is a file; give a folder")
    seen: dict[str, str] = {}
    for path in images:
        stem = Path(path).stem
        if stem in seen and seen[stem] != path:
            raise UserError(f"{seen[stem]} and {path} would both be drawn to {out / (stem + '.png')}; "
                            "predict them into different --output folders")
        seen[stem] = path
        if (out / f"{stem}.png").resolve() == Path(path).resolve():
            raise UserError(f"{path}: its drawing would replace the image itself; choose another --output")
    if overwrite:
        return
    existing = [p for p in [*(out / f"{s}.png" for s in seen), out / "predictions.json"] if p.exists()]
    if existing:
        raise UserError(f"{existing[0]}: exists ({len(existing)} of this run's outputs already do); pass --overwrite "
                        "to replace them or choose another --output")
