"""``claran simulate``: FIRST-like simulated cutouts with RGZ labels, in the RGZ dataset layout."""

from __future__ import annotations

import json
from pathlib import Path

import click

from claran.errors import UserError
from rgz.surveys import survey_names


def _exclusions(path: str | None, option: str = "--exclude-backgrounds") -> tuple[str, ...]:
    """File names to keep out of a pool: a truth.json (its mirabest_file entries) or a text list."""
    if path is None:
        return ()
    p = Path(path)
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{option} {p}: cannot read it ({getattr(e, 'strerror', None) or e})") from e
    if p.suffix == ".json":
        try:
            truth = json.loads(text)
            return tuple(sorted({v["mirabest_file"] for v in truth.values() if "mirabest_file" in v}))
        except (ValueError, AttributeError, TypeError) as e:
            raise UserError(f"{option} {p}: not a truth.json with mirabest_file entries") from e
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@click.command("simulate")
@click.argument("outdir", type=click.Path(file_okay=False))
@click.option("--count", type=click.IntRange(min=1), required=True, help="Number of cutouts.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed; the same seed gives the same files.")
@click.option("--survey", type=click.Choice(survey_names(), case_sensitive=False), default="first",
              show_default=True, help="Cutouts like this survey's: beam, noise, pixel scale, frequency (rgz.surveys).")
@click.option("--size", type=click.IntRange(min=16, max=2048), default=None,
              help="Cutout side in pixels (default: the survey's; FIRST 100 px x 1.8\" = the 3' x 3' an RGZ target's "
                   "cutout covers).")
@click.option("--pixel-scale", type=click.FloatRange(min=0.1, max=60), default=None,
              help="Arcsec per pixel (default: the survey's; FIRST 1.8, NVSS 15, VLASS 1).")
@click.option("--ir", is_flag=True, help="Also write a WISE W1-like image per cutout (ir/*.fits).")
@click.option("--backgrounds", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder of real FIRST images; their source-masked noise becomes most cutouts' background.")
@click.option("--exclude-backgrounds", type=click.Path(exists=True, dir_okay=False), default=None,
              help="truth.json or list of file names in --backgrounds to leave out (keep dev fields unseen).")
@click.option("--real-sources", type=click.Path(exists=True, file_okay=False), default=None,
              help="A mirabest-fields folder (labels.csv, fits/): its real FIRST galaxies, cut out by their islands, "
                   "become a share of the targets (rotated, flipped, flux-scaled; labelled by the same rule).")
@click.option("--real-fraction", type=click.FloatRange(min=0.0, max=1.0), default=0.5, show_default=True,
              help="Share of targets drawn from --real-sources.")
@click.option("--exclude-real", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Text list of file names in --real-sources to leave out (fields kept for validation: "
                   "benchmarks/real_split.py writes it).")
@click.option("--close-companions", type=click.FloatRange(min=0.0, max=1.0), default=0.0, show_default=True,
              help="Share of cutouts with one unrelated field source 11-36\" (6-20 FIRST pixels) from the target, "
                   "labelled as a source of its own (teaches that close pairs are not always one double).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes.")
@click.option("--class-balance", is_flag=True,
              help="Draw target classes near uniformly (15/15/20/15/20/15% for 1C_1P..3C_3P) instead of the RGZ "
                   "DR1 mix (45/11/12/11/10/11%).")
@click.option("--randomise", is_flag=True,
              help="Stronger domain randomisation (beam, noise level, sidelobes, pixel-scale jitter) for sim-to-real.")
@click.option("--label-sigma", type=click.FloatRange(min=1.0, max=20.0), default=3 * 3**0.5, show_default="3 sqrt 3, RGZ's",
              help="Lowest contour of the labels, in MAD noise sigmas (components are islands above it).")
@click.option("--label-factor", type=click.FloatRange(min=1.05, max=10.0), default=3**0.5, show_default="sqrt 3, RGZ's",
              help="Ratio between contour levels (peaks are the contour tree's leaves).")
@click.option("--label-boxes", type=click.Choice(["rgz", "islands"]), default="rgz", show_default=True,
              help="'rgz': square boxes around the interpolated contours, at least one island's diagonal wide (as "
                   "ClaRAN's boxes); 'islands': the islands' whole-pixel box squared (the rule before RGZ's).")
@click.option("--overwrite", is_flag=True, help="Replace the simulated files of a non-empty OUTDIR.")
def simulate(outdir: str, count: int, seed: int, survey: str, size: int | None, pixel_scale: float | None,
             ir: bool, backgrounds: str | None, exclude_backgrounds: str | None, real_sources: str | None,
             real_fraction: float, exclude_real: str | None, close_companions: float, workers: int,
             class_balance: bool, randomise: bool,
             label_sigma: float, label_factor: float, label_boxes: str, overwrite: bool) -> None:
    """Write COUNT simulated FIRST (or --survey) cutouts with RGZ labels to OUTDIR (radio/, ir/, annotations.json)."""
    from rgz.simulate import LabelRules, SimConfig, write_dataset

    given = {k: v for k, v in (("size", size), ("pixel_scale", pixel_scale)) if v is not None}
    n_levels = 13 if abs(label_factor - 3**0.5) < 1e-6 else 28  # the same top level as RGZ's 13 x sqrt 3
    boxes = {"rgz": {}, "islands": {"interpolate": False, "box_side": "longer"}}[label_boxes]
    cfg = SimConfig.for_survey(survey.lower(), **given, real_source_fraction=real_fraction,
                               close_companion=close_companions, rules=LabelRules(
        level_sigma=label_sigma, level_factor=label_factor, n_levels=n_levels, **boxes))
    for option, given_folder in (("--real-sources", real_sources), ("--backgrounds", backgrounds)):
        if given_folder is not None and (cfg.survey != "first" or abs(cfg.pixel_scale - 1.8) > 0.09):
            raise UserError(f"{option} needs FIRST cutouts (--survey first, --pixel-scale 1.8), not "
                            f"--survey {cfg.survey} at {cfg.pixel_scale}\"/px")
    path = write_dataset(outdir, count=count, seed=seed, cfg=cfg, ir=ir, backgrounds=backgrounds,
                         exclude_backgrounds=_exclusions(exclude_backgrounds), overwrite=overwrite,
                         real_sources=real_sources, exclude_real=_exclusions(exclude_real, "--exclude-real"),
                         workers=workers, progress=count >= 200,
                         class_balance=class_balance, randomise=randomise)
    coco = json.loads(path.read_text())
    per = {c["name"]: 0 for c in coco["categories"]}
    names = {c["id"]: c["name"] for c in coco["categories"]}
    for a in coco["annotations"]:
        per[names[a["category_id"]]] += 1
    click.echo(f"wrote {len(coco['images'])} cutouts, {len(coco['annotations'])} labelled sources to {path}")
    click.echo("  " + "  ".join(f"{k} {v}" for k, v in per.items()))
