"""The catalogue's columns: one place for names, types, units, UCDs and descriptions.

Every column carries a unit (where it has one), a UCD (``meta['ucd']``, checked against the IVOA
controlled vocabulary in the tests) and a description, so VOTable, FITS and ECSV readers see the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Column", "columns", "RGZ_CLASS_NAMES"]

RGZ_CLASS_NAMES = ("1C_1P", "1C_2P", "1C_3P", "2C_2P", "2C_3P", "3C_3P")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: Any
    unit: str | None
    ucd: str
    description: str
    format: str | None = None


def columns(class_names: tuple[str, ...] | list[str] = RGZ_CLASS_NAMES) -> list[Column]:
    """The catalogue columns, in order, for a model with these classes (without background)."""
    cols = [
        Column("name", str, None, "meta.id;meta.main",
               "IAU-style source name CLARAN Jhhmmss.s+ddmmss from (ra, dec), J2000, truncated not rounded"),
        Column("ra", "f8", "deg", "pos.eq.ra;meta.main",
               "Right ascension (J2000) of the flux-weighted centroid of the radio emission above 3 rms inside "
               "the box (the box centre when no pixel is above 3 rms)", ".6f"),
        Column("dec", "f8", "deg", "pos.eq.dec;meta.main",
               "Declination (J2000) of the flux-weighted radio centroid (see ra)", ".6f"),
        Column("ra_box", "f8", "deg", "pos.eq.ra", "Right ascension (J2000) of the box centre", ".6f"),
        Column("dec_box", "f8", "deg", "pos.eq.dec", "Declination (J2000) of the box centre", ".6f"),
        Column("morphology", str, None, "src.morph.type",
               "Radio Galaxy Zoo morphology class XC_YP (X radio components, Y radio peaks)"),
        Column("score", "f4", None, "stat.probability", "Detector confidence in the morphology class", ".4f"),
    ]
    for c in class_names:
        cols.append(Column(f"score_{c}", "f4", None, "stat.probability",
                           f"Score of class {c} for this source: the highest score of a {c} detection "
                           f"merged into this row (IoU >= 0.5 with its box; 0 when the model reported none "
                           f"above its TEST.RESULT_SCORE_THRESH)", ".4f"))
    cols += [
        Column("n_components", "i2", None, "meta.number;src",
               "Number of radio components implied by the morphology class (-1 if the class does not say)"),
        Column("n_peaks", "i2", None, "meta.number;src",
               "Number of radio peaks implied by the morphology class (-1 if the class does not say)"),
        Column("image", str, None, "meta.id;obs.image", "Input image file name"),
        Column("x_min", "f4", "pix", "pos.cartesian.x;obs.image",
               "Box left edge, 0-based pixel coordinate of the input image (pixel centres at integers, "
               "x = column of the data array)", ".2f"),
        Column("y_min", "f4", "pix", "pos.cartesian.y;obs.image",
               "Box bottom edge, 0-based pixel coordinate (y = row of the data array as astropy reads it)", ".2f"),
        Column("x_max", "f4", "pix", "pos.cartesian.x;obs.image", "Box right edge, 0-based pixel coordinate", ".2f"),
        Column("y_max", "f4", "pix", "pos.cartesian.y;obs.image", "Box top edge, 0-based pixel coordinate", ".2f"),
        Column("size", "f4", "arcsec", "phys.angSize;src",
               "Angular size: the longer side of the box measured on the sky", ".2f"),
        Column("peak_flux", "f4", "Jy/beam", "phot.flux.density;stat.max;em.radio",
               "Peak radio surface brightness inside the box", ".6g"),
        Column("int_flux", "f4", "Jy", "phot.flux.density;em.radio",
               "Integrated radio flux density: sum of the pixels above 3 rms inside the box divided by the "
               "beam area in pixels (2 pi sigma_maj sigma_min); NaN when the image has no beam", ".6g"),
        Column("rms", "f4", "Jy/beam", "stat.stdev;phot.flux.density;em.radio",
               "Local background noise at the box centre: MAD/0.6745 of the emission-free pixels in a window of about "
               "13 beams around it (catalogs.noise.rms_map)", ".4g"),
        Column("ir_ra", "f8", "deg", "pos.eq.ra;em.IR",
               "Right ascension of the infrared host: the infrared peak (above 5 rms) inside the box closest "
               "to the radio centroid; NaN without an infrared image or host", ".6f"),
        Column("ir_dec", "f8", "deg", "pos.eq.dec;em.IR", "Declination of the infrared host (see ir_ra)", ".6f"),
    ]
    return cols
