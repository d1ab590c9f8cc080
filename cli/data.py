"""``claran data``: build training sets in claran's RGZ layout (``claran data rgz``)."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def data() -> None:
    """Build datasets in claran's RGZ folder layout (radio/, ir/, annotations.json)."""


@data.command("rgz")
@click.option("--catalogue", required=True, type=click.Path(dir_okay=False), metavar="CSV",
              help="ClaRAN's RGZ DR1 catalogue (rgz_dr1_claran_catalogue.csv): gives each image's train/test split.")
@click.option("--boxes", required=True, type=click.Path(dir_okay=False), metavar="TXT",
              help="ClaRAN's box file (claran_gt_boxes.txt): 1-based inclusive corners in the 132-px PNG frame.")
@click.option("--images", required=True, type=click.Path(file_okay=False), metavar="DIR",
              help="Folder with the FIRST cutouts as <FIRST id>.fits and optional WISE W1 as <FIRST id>_w1.fits.")
@click.option("--out", required=True, type=click.Path(file_okay=False), metavar="DIR",
              help="Output folder (radio/, ir/, annotations.json); read by `claran train --dataset rgz --data DIR`.")
@click.option("--fetch", is_flag=True, help="Download missing cutouts from SkyView (needs network and astroquery).")
@click.option("--cache", type=click.Path(file_okay=False), metavar="DIR",
              help="Where --fetch keeps downloads [default: ~/.cache/claran/rgz-fits].")
@click.option("--limit", type=int, default=None, metavar="N", help="Only the first N labelled images (trial runs).")
def rgz(catalogue, boxes, images, out, fetch, cache, limit) -> None:
    """Turn ClaRAN's RGZ DR1 labels and your FIRST (and WISE) FITS into a training folder.

    Boxes are converted from ClaRAN's PNG frame (row 0 = north) through each FITS file's WCS into its
    own pixels. Missing or unreadable images are counted and reported; the others are written.
    """
    from rgz.builder import build_rgz, read_claran_boxes

    ids = None
    if limit is not None:
        if limit < 1:
            raise click.BadParameter("must be at least 1", param_hint="--limit")
        ids = list(read_claran_boxes(boxes)[0])[:limit]
    report = build_rgz(catalogue=catalogue, boxes=boxes, images=images, out=out, fetch=fetch, cache=cache, ids=ids,
                       progress=True)
    click.echo(report.summary())
    click.echo(f"train with: claran train --dataset rgz --data {out}")
