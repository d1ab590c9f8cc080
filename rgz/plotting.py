"""One image and its catalogue rows as an overlay Figure (``Detector.plot``, ``claran detect --plot-dir``)."""

from __future__ import annotations

import os
from pathlib import Path

from astropy.table import Table

from .contours import LabelRules, noise_sigma
from .fits_io import RadioImage, read_infrared, read_radio

__all__ = ["plot_file", "plot_image"]


def plot_image(path: str | os.PathLike, image: RadioImage, table: Table | None = None, *,
               ir: RadioImage | None = None, rules: LabelRules = LabelRules()):
    """Draw ``image`` (read from ``path``) with its rows of ``table`` (matched on the ``image`` column).

    The contours are the ones ``rules`` counted components and peaks on (RGZ's: 3 sqrt 3 x the image's MAD
    sigma, then x sqrt 3), so the peaks an astronomer counts on the plot are the classes' peaks."""
    from catalogs import plot_detections

    from .sources import RGZ_SCHEME

    rows = None
    if table is not None and len(table):
        rows = table[table["image"] == str(path)]
    beam = (image.beam.bmaj / 3600.0, image.beam.bmin / 3600.0, image.beam.bpa) if image.beam else None
    sigma = noise_sigma(image.data)
    levels = rules.levels(sigma)
    scale, unit = (1e3, "mJy/beam") if image.bunit == "Jy/beam" else (1.0, image.bunit)
    first = ", ".join(f"{v:.3g}" for v in rules.levels(1.0)[:3])
    key = (f"contours: {first}, ... x sigma (the class rule's)\n"
           f"sigma = {sigma * scale:.3g} {unit} (MAD)")
    return plot_detections(image.data, image.wcs, rows, ir=ir.data if ir else None,
                           ir_wcs=ir.wcs if ir else None, title=Path(path).name, beam=beam,
                           colours=RGZ_SCHEME.colours, unit=image.bunit, contour_levels=levels, contour_key=key)


def plot_file(path: str | os.PathLike, table: Table | None = None, *, ir: str | os.PathLike | None = None,
              rules: LabelRules = LabelRules()):
    """Read one image (and its IR) and draw it with its catalogue rows."""
    return plot_image(path, read_radio(path), table, ir=read_infrared(ir) if ir is not None else None, rules=rules)
