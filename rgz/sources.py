"""What rgz tells the catalogue about its sources: RGZ's class scheme (names, description, colours), the
islands each source owns (its components), what its class says (components, peaks), flags, and the
survey, frequency and CLEAN bias of its image. The catalogue layer (``catalogs``) knows none of this."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np

from catalogs.schema import ClassScheme
from catalogs.sky import icrs_to_pixel, pixel_to_icrs
from catalogs.table import ImageDetections, local_rms

from . import RGZ_CLASSES
from .contours import LabelRules, find_islands, owned_islands, speck_diag
from .coords import astropy_to_detector
from .fits_io import FIRST_BEAM_ARCSEC, RadioImage
from .surveys import FIRST, Survey

__all__ = ["RGZ_SCHEME", "class_counts", "owned_islands", "annotate", "image_survey", "image_frequency_hz",
           "FIRST_CLEAN_BIAS", "domain_problem", "overlaps"]

RGZ_SCHEME = ClassScheme(
    names=RGZ_CLASSES,
    description="Radio Galaxy Zoo morphology class XC_YP (X radio components, Y radio peaks)",
    # one colour per class, names that matplotlib and DS9 both know, readable on the inferno colour map
    colours={"1C_1P": "lime", "1C_2P": "cyan", "1C_3P": "deepskyblue", "2C_2P": "yellow", "2C_3P": "orange",
             "3C_3P": "red"},
)

FIRST_CLEAN_BIAS = 2.5e-4  # Jy/beam (White et al. 1997), in FIRST's position-error S/N
_XC_YP = re.compile(r"^(\d+)C_(\d+)P$")


def class_counts(name: str) -> tuple[int, int]:
    """(components, peaks) an RGZ class XC_YP says; (-1, -1) for any other name."""
    m = _XC_YP.match(str(name))
    return (int(m.group(1)), int(m.group(2))) if m else (-1, -1)


def domain_problem(image: RadioImage, survey: Survey = FIRST, *, factor: float = 2.0, warn_units: bool = False
                   ) -> str | None:
    """How ``image`` is far from the training data (``survey``'s images): pixel scale or beam more than
    ``factor`` x the survey's (and, with ``warn_units``, a unit other than Jy/beam); None when it is not."""
    out = []
    if image.pixel_scale_arcsec > factor * survey.pixel_scale_arcsec:
        out.append(f"pixel scale {image.pixel_scale_arcsec:.3g}\"/px is "
                   f"{image.pixel_scale_arcsec / survey.pixel_scale_arcsec:.1f}x {survey.title}'s "
                   f"{survey.pixel_scale_arcsec:g}\"")
    if image.beam is not None and image.beam.bmaj > factor * survey.bmaj_arcsec:
        out.append(f"beam {image.beam.bmaj:.3g}\" x {image.beam.bmin:.3g}\" is {image.beam.bmaj / survey.bmaj_arcsec:.1f}x "
                   f"{survey.title}'s {survey.bmaj_arcsec:g}\"")
    if warn_units and image.bunit != "Jy/beam":
        out.append(f"BUNIT {image.bunit} is not Jy/beam")
    if not out:
        return None
    return f"far from the detector's training data ({survey.title}): " + "; ".join(out) + \
        "; sources and classes may be unreliable"


def overlaps(radio: RadioImage, ir: RadioImage, *, n: int = 9) -> bool:
    """Whether the infrared image covers any of an n x n grid of points over the radio image (with data there)."""
    h, w = radio.shape
    yy, xx = np.meshgrid(np.linspace(0, h - 1, n), np.linspace(0, w - 1, n), indexing="ij")
    ra, dec = pixel_to_icrs(radio.wcs, xx.ravel(), yy.ravel())
    x, y = icrs_to_pixel(ir.wcs, ra, dec)
    ih, iw = ir.shape
    inside = np.isfinite(x) & np.isfinite(y) & (x >= -0.5) & (x <= iw - 0.5) & (y >= -0.5) & (y <= ih - 0.5)
    if not inside.any():
        return False
    xi = np.clip(np.round(x[inside]).astype(int), 0, iw - 1)
    yi = np.clip(np.round(y[inside]).astype(int), 0, ih - 1)
    return bool(np.isfinite(ir.data[yi, xi]).any())


def image_survey(image: RadioImage) -> str:
    """The survey or telescope named in the header (SkyView's SURVEY, FIRST's cutout server, TELESCOP)."""
    h = image.header
    if h.get("SURVEY"):
        return str(h["SURVEY"]).strip()
    server = str(h.comments["SIMPLE"]) if "SIMPLE" in h else ""
    if "FIRST" in server:
        return "FIRST"
    if "GPS Cutout Server" in server:  # MAGPIS (its TELESCOP names Effelsberg, whose data fill the short spacings)
        return "MAGPIS"
    return str(h.get("TELESCOP") or "").strip()


def image_frequency_hz(image: RadioImage) -> float:
    """Observing frequency from a FREQ axis or the RESTFRQ/RESTFREQ/FREQ keywords; NaN when absent."""
    h = image.header
    for i in range(3, 5):
        kind, val = str(h.get(f"CTYPE{i}", "")).upper(), h.get(f"CRVAL{i}")
        if isinstance(val, (int, float)) and val > 0:
            if kind.startswith("FREQ"):
                return float(val)
            if kind.startswith(("LAMBDA", "WAVE")):  # MAGPIS: wavelength in metres
                return 299792458.0 / float(val)
    for k in ("RESTFRQ", "RESTFREQ", "FREQ", "OBSFREQ"):
        if isinstance(h.get(k), (int, float)) and h[k] > 0:
            return float(h[k])
    if "FIRST" in image_survey(image).upper():
        return 1.4e9  # FIRST's band centre (SkyView FIRST headers carry no frequency)
    return math.nan


def annotate(d: ImageDetections, image: RadioImage, *, rules: LabelRules = LabelRules(),
             out_of_domain: bool = False) -> ImageDetections:
    """``d`` with its components, class counts, flags and image metadata filled in (what is already set is kept).

    Components are the islands above the lowest contour (``contours.find_islands``, as the class rule sees
    them) each row owns; a row whose island another row owns too is ``blended``.
    """
    n = len(d.boxes)
    changes: dict = {}
    if d.components is None and n:
        isl = find_islands(image.data, rules, min_diag=speck_diag(rules, image.pixel_scale_arcsec))
        comps = owned_islands(isl.labels, astropy_to_detector(np.asarray(d.boxes).reshape(-1, 4)))
        counts = np.bincount([k for c in comps for k in c], minlength=isl.count + 1)
        changes.update(islands=isl.labels, components=comps)
        blended = [any(counts[k] > 1 for k in c) for c in comps]
        flags = dict(d.flags or {})
        flags.setdefault("blended", blended)
        changes["flags"] = flags
    if d.n_components is None:
        counts_cls = [class_counts(lab) for lab in d.labels]
        changes.update(n_components=[c for c, _ in counts_cls], n_peaks=[p for _, p in counts_cls])
    flags = dict(changes.get("flags", d.flags or {}))
    flags.setdefault("out_of_domain", [out_of_domain] * n)
    changes["flags"] = flags
    if d.rms is None:
        changes["rms"] = local_rms(image.data, image.wcs, d.beam)
    survey = image_survey(image)
    first = "FIRST" in survey.upper() and image.beam is not None and abs(image.beam.bmaj - FIRST_BEAM_ARCSEC) < 0.5
    changes.update(survey=survey, frequency_hz=image_frequency_hz(image), low_snr=rules.level_sigma,
                   clean_bias=FIRST_CLEAN_BIAS if first else 0.0)
    if image.beam is not None and d.beam is not None and len(d.beam) == 2:
        changes["beam"] = (*d.beam, image.beam.bpa)
    return dataclasses.replace(d, **changes)
