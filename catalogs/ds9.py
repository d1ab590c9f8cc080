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

from .io import atomic_write, check_output

__all__ = ["catalog_regions", "write_regions"]

# one colour per RGZ class, so a DS9 user sees the morphology at a glance
_COLOURS = {"1C_1P": "green", "1C_2P": "cyan", "1C_3P": "blue", "2C_2P": "yellow", "2C_3P": "orange", "3C_3P": "red"}


def catalog_regions(table: Table, *, wcs: Mapping[str, WCS] | None = None) -> Regions:
    """One labelled sky region per row: the box as a sky polygon when the row's image WCS is known
    (``wcs`` maps the ``image`` column to its celestial WCS), else a circle of diameter ``size`` at the box centre."""
    out = []
    for row in table:
        label = f"{row['name']} {row['morphology']} {float(row['score']):.2f}"
        meta = RegionMeta({"text": label})
        visual = RegionVisual({"color": _COLOURS.get(str(row["morphology"]), "magenta")})
        w = (wcs or {}).get(str(row["image"]))
        if w is not None:
            xs = np.array([row["x_min"], row["x_max"], row["x_max"], row["x_min"]], dtype=float)
            ys = np.array([row["y_min"], row["y_min"], row["y_max"], row["y_max"]], dtype=float)
            ra, dec = w.pixel_to_world_values(xs, ys)
            region = PolygonSkyRegion(SkyCoord(ra * u.deg, dec * u.deg, frame="icrs"), meta=meta, visual=visual)
        else:
            centre = SkyCoord(float(row["ra_box"]) * u.deg, float(row["dec_box"]) * u.deg, frame="icrs")
            region = CircleSkyRegion(centre, 0.5 * float(row["size"]) * u.arcsec, meta=meta, visual=visual)
        out.append(region)
    return Regions(out)


def write_regions(table: Table, path: str | os.PathLike, *, wcs: Mapping[str, WCS] | None = None,
                  overwrite: bool = False) -> Path:
    """Write the catalogue's regions as a DS9 file, atomically."""
    p = check_output(path, overwrite=overwrite, what="region file")
    text = catalog_regions(table, wcs=wcs).serialize(format="ds9")
    atomic_write(p, lambda tmp: Path(tmp).write_text(text))
    return p
