"""The catalogue's columns: one place for names, types, units, UCDs and descriptions.

Every column carries a unit (where it has one), a UCD (``meta['ucd']``, checked against the IVOA
controlled vocabulary in the tests) and a description, so VOTable, FITS and ECSV readers see the same table.
The catalogue layer knows no particular classification: the classes, their description and colours come in
as a ``ClassScheme`` (``rgz`` passes Radio Galaxy Zoo's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Column", "ClassScheme", "columns", "component_columns", "FLAGS"]


@dataclass(frozen=True)
class Column:
    name: str
    dtype: Any
    unit: str | None
    ucd: str
    description: str
    format: str | None = None


@dataclass(frozen=True)
class ClassScheme:
    """The morphology classes a detector reports: names (one ``score_<name>`` column each), the description
    of the ``morphology`` column, and a colour per class for plots and region files."""

    names: tuple[str, ...] = ()
    description: str = "Morphology class reported by the detector"
    colours: Mapping[str, str] = field(default_factory=dict)

    def colour(self, name: str) -> str:
        return self.colours.get(name, "magenta")


# flag column -> description (booleans; True = the condition holds)
FLAGS = {
    "flag_edge": "The box touches the image edge or blank (NaN) pixels: the source may be cut",
    "flag_blended": "The source shares emission (an island above the lowest contour) with another row",
    "flag_low_snr": "Peak below the lowest contour the classification uses (peak/rms under its level)",
    "flag_class_marginal": "The class changes when the contour levels it was counted on move by a few per cent "
                           "(the score is lowered for it)",
    "flag_possible_component": "A one-component, one-peak source (1C_1P) close to another row: in RGZ's labels "
                               "such a pair is often one source (the score is lowered by how often, given their "
                               "separation)",
    "flag_out_of_domain": "The image is far from the detector's training data (pixel scale or beam more than "
                          "2x the training survey's, or not a radio brightness unit)",
}

_POS_ERR = ("90% confidence position error (FIRST, White et al. 1997): sqrt(beam^2 + size^2) x "
            "(1/SNR + 1/20) arcsec, size the deconvolved major axis, SNR = (peak - CLEAN bias)/rms")


def _shape(kind: str) -> list[Column]:
    what = "the source's emission" if kind == "source" else "the island"
    return [
        Column("maj_axis", "f4", "arcsec", "phys.angSize.smajAxis;em.radio",
               f"FWHM major axis of {what} above 3 rms, from its flux-weighted second moments", ".2f"),
        Column("min_axis", "f4", "arcsec", "phys.angSize.sminAxis;em.radio", "FWHM minor axis (see maj_axis)", ".2f"),
        Column("pos_ang", "f4", "deg", "pos.posAng;em.radio",
               "Position angle of the major axis, east of north (ICRS), 0..180", ".1f"),
        Column("maj_axis_deconv", "f4", "arcsec", "phys.angSize.smajAxis;em.radio;meta.modelled",
               "Major axis deconvolved from the beam (Gaussian covariances subtracted); 0 where unresolved; NaN "
               "without a beam", ".2f"),
        Column("min_axis_deconv", "f4", "arcsec", "phys.angSize.sminAxis;em.radio;meta.modelled",
               "Minor axis deconvolved from the beam (see maj_axis_deconv)", ".2f"),
    ]


def _fluxes(what: str) -> list[Column]:
    return [
        Column("peak_flux", "f4", "Jy/beam", "phot.flux.density;stat.max;em.radio",
               f"Peak radio surface brightness inside {what}", ".6g"),
        Column("peak_flux_err", "f4", "Jy/beam", "stat.error;phot.flux.density;stat.max;em.radio",
               "Error of peak_flux: sqrt(rms^2 + (0.05 peak)^2), 5 % calibration", ".3g"),
        Column("int_flux", "f4", "Jy", "phot.flux.density;em.radio",
               f"Integrated radio flux density: sum of the pixels above 3 rms inside {what} divided by the beam "
               "area in pixels (2 pi sigma_maj sigma_min); NaN when the image has no beam", ".6g"),
        Column("int_flux_err", "f4", "Jy", "stat.error;phot.flux.density;em.radio",
               "Error of int_flux: sqrt(rms^2 N_pix / beam_pix + (0.05 int_flux)^2)", ".3g"),
        Column("rms", "f4", "Jy/beam", "stat.stdev;phot.flux.density;em.radio",
               "Local background noise: MAD/0.6745 of the emission-free pixels in a window of about 13 beams "
               f"around the centre of {what} (catalogs.noise.rms_map)", ".4g"),
    ]


def _positions(what: str) -> list[Column]:
    return [
        Column("ra", "f8", "deg", "pos.eq.ra;meta.main",
               f"Right ascension (ICRS) of the flux-weighted centroid of the radio emission above 3 rms in {what} "
               "(the box centre when no pixel is above 3 rms)", ".6f"),
        Column("dec", "f8", "deg", "pos.eq.dec;meta.main",
               "Declination (ICRS) of the flux-weighted radio centroid (see ra)", ".6f"),
        Column("ra_err", "f4", "arcsec", "stat.error;pos.eq.ra", "Error of ra: " + _POS_ERR, ".2f"),
        Column("dec_err", "f4", "arcsec", "stat.error;pos.eq.dec", "Error of dec: " + _POS_ERR, ".2f"),
    ]


def columns(scheme: ClassScheme | tuple[str, ...] | list[str] = ClassScheme()) -> list[Column]:
    """The source table's columns, in order, for a detector with these classes (without background)."""
    scheme = scheme if isinstance(scheme, ClassScheme) else ClassScheme(names=tuple(scheme))
    cols = [
        Column("source_id", "i4", None, "meta.id", "Source number in this catalogue (components' source_id)"),
        Column("name", str, None, "meta.id;meta.main",
               "IAU-style source name CLARAN Jhhmmss.s+ddmmss from (ra, dec), ICRS, truncated not rounded"),
        *_positions("the box"),
        Column("ra_box", "f8", "deg", "pos.eq.ra", "Right ascension (ICRS) of the box centre", ".6f"),
        Column("dec_box", "f8", "deg", "pos.eq.dec", "Declination (ICRS) of the box centre", ".6f"),
        Column("morphology", str, None, "src.morph.type", scheme.description),
        Column("score", "f4", None, "stat.probability", "Detector confidence in the source and its class", ".4f"),
    ]
    for c in scheme.names:
        cols.append(Column(f"score_{c}", "f4", None, "stat.probability",
                           f"Score of class {c} for this source: the highest score of a {c} detection "
                           f"merged into this row (IoU >= 0.5 with its box; 0 when the model reported none "
                           f"above its TEST.RESULT_SCORE_THRESH)", ".4f"))
    cols += [
        Column("n_components", "i2", None, "meta.number;src",
               "Number of radio components the morphology class says (-1 if it does not say)"),
        Column("n_peaks", "i2", None, "meta.number;src",
               "Number of radio peaks the morphology class says (-1 if it does not say)"),
        Column("n_islands", "i2", None, "meta.number;src",
               "Number of islands (connected emission above the lowest contour) of this source: its rows in the "
               "component table (-1 when not measured)"),
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
        *_shape("source"),
        *_fluxes("the box"),
        *[Column(k, bool, None, "meta.code.qual", d) for k, d in FLAGS.items()],
        Column("ir_ra", "f8", "deg", "pos.eq.ra;em.IR",
               "Right ascension (ICRS) of the infrared host: the infrared peak (above 5 rms) inside the box closest "
               "to the radio centroid; NaN without an infrared image or host", ".6f"),
        Column("ir_dec", "f8", "deg", "pos.eq.dec;em.IR", "Declination (ICRS) of the infrared host (see ir_ra)",
               ".6f"),
    ]
    return cols


def component_columns() -> list[Column]:
    """The component table's columns: one row per island of a source, linked by ``source_id``."""
    return [
        Column("component_id", "i4", None, "meta.id;meta.main", "Component number in this catalogue"),
        Column("source_id", "i4", None, "meta.id.parent", "source_id of the source this component belongs to"),
        Column("source_name", str, None, "meta.id", "Name of that source"),
        *[Column(c.name, c.dtype, c.unit, c.ucd.replace(";meta.main", ""), c.description, c.format)
          for c in _positions("the island")],
        Column("x_peak", "f4", "pix", "pos.cartesian.x;obs.image", "Pixel x of the island's peak (0-based)", ".1f"),
        Column("y_peak", "f4", "pix", "pos.cartesian.y;obs.image", "Pixel y of the island's peak (0-based)", ".1f"),
        Column("n_pixels", "i4", None, "meta.number", "Pixels in the island (above the lowest contour)"),
        *_shape("component"),
        *_fluxes("the island"),
        Column("image", str, None, "meta.id;obs.image", "Input image file name"),
    ]
