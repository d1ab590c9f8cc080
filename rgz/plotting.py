"""One image and its catalogue rows as an overlay Figure (``Detector.plot``, ``claran detect --plot-dir``)."""

from __future__ import annotations

import os
from pathlib import Path

from astropy.table import Table

from .fits_io import RadioImage, read_infrared, read_radio

__all__ = ["plot_file", "plot_image"]


def plot_image(path: str | os.PathLike, image: RadioImage, table: Table | None = None, *,
               ir: RadioImage | None = None):
    """Draw ``image`` (read from ``path``) with its rows of ``table`` (matched on the ``image`` column)."""
    from catalogs import plot_detections

    from .sources import RGZ_SCHEME

    rows = None
    if table is not None and len(table):
        rows = table[table["image"] == str(path)]
    beam = (image.beam.bmaj / 3600.0, image.beam.bmin / 3600.0, image.beam.bpa) if image.beam else None
    return plot_detections(image.data, image.wcs, rows, ir=ir.data if ir else None,
                           ir_wcs=ir.wcs if ir else None, title=Path(path).name, beam=beam,
                           colours=RGZ_SCHEME.colours, unit=image.bunit)


def plot_file(path: str | os.PathLike, table: Table | None = None, *, ir: str | os.PathLike | None = None):
    """Read one image (and its IR) and draw it with its catalogue rows."""
    return plot_image(path, read_radio(path), table, ir=read_infrared(ir) if ir is not None else None)
