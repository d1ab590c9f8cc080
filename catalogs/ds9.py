"""DS9 region files from a catalogue, through the ``regions`` package: one region per row, sky coordinates."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import Table
from astropy.wcs import WCS
from regions import CircleSkyRegion, PolygonSkyRegion, RegionMeta, Regions, RegionVisual

from claran.errors import UserError

from .io import atomic_write, check_output
from .sky import pixel_to_icrs

__all__ = ["catalog_regions", "write_regions"]



def catalog_regions(table: Table, *, wcs: Mapping[str, WCS] | None = None,
                    colours: Mapping[str, str] | None = None) -> Regions:
    """One labelled ICRS region per row: the box as a sky polygon when the row's image WCS is known
    (``wcs`` maps the ``image`` column to its celestial WCS, any frame), else a circle of diameter ``size``
    at the box centre. ``colours``: a colour per morphology class (default magenta). A row whose class is
    marginal (``flag_class_marginal``) is dashed, with a "?" after its class, and a possible component
    (``flag_possible_component``) has "(pair?)" after its score, as on the overlay plots."""
    out = []
    for row in table:
        unsure = "flag_class_marginal" in table.colnames and bool(row["flag_class_marginal"])
        paired = "flag_possible_component" in table.colnames and bool(row["flag_possible_component"])
        label = (f"{row['name']} {row['morphology']}{'?' if unsure else ''} {float(row['score']):.2f}"
                 f"{' (pair?)' if paired else ''}")
        meta = RegionMeta({"text": label})
        visual = RegionVisual({"color": (colours or {}).get(str(row["morphology"]), "magenta"),
                               **({"linestyle": "dashed"} if unsure else {})})  # as on the overlay plots
        w = (wcs or {}).get(str(row["image"]))
        if w is not None:
            xs = np.array([row["x_min"], row["x_max"], row["x_max"], row["x_min"]], dtype=float)
            ys = np.array([row["y_min"], row["y_min"], row["y_max"], row["y_max"]], dtype=float)
            ra, dec = pixel_to_icrs(w, xs, ys)
            region = PolygonSkyRegion(SkyCoord(ra * u.deg, dec * u.deg, frame="icrs"), meta=meta, visual=visual)
        else:
            centre = SkyCoord(float(row["ra_box"]) * u.deg, float(row["dec_box"]) * u.deg, frame="icrs")
            region = CircleSkyRegion(centre, 0.5 * float(row["size"]) * u.arcsec, meta=meta, visual=visual)
        out.append(region)
    return Regions(out)


def write_regions(table: Table, path: str | os.PathLike, *, wcs: Mapping[str, WCS] | None = None,
                  colours: Mapping[str, str] | None = None, overwrite: bool = False) -> Path:
    """Write the catalogue's regions as a DS9 file (``.reg``), atomically."""
    if Path(path).suffix.lower() != ".reg":
        raise UserError(f"{path}: a DS9 region file must end in .reg")
    p = check_output(path, overwrite=overwrite, what="region file")
    text = catalog_regions(table, wcs=wcs, colours=colours).serialize(format="ds9")
    atomic_write(p, lambda tmp: Path(tmp).write_text(text))
    return p
