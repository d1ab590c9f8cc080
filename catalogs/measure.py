"""Measurements of the radio (and infrared) emission inside a detection box."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales
from scipy import ndimage

from .noise import mad_sigma

__all__ = ["BoxMeasurement", "image_rms", "beam_area_pixels", "measure_box", "infrared_peaks"]

_FWHM_TO_SIGMA = 1.0 / math.sqrt(8.0 * math.log(2.0))


@dataclass
class BoxMeasurement:
    ra: float
    dec: float
    ra_box: float
    dec_box: float
    size_arcsec: float
    peak_flux: float
    int_flux: float


def image_rms(data: np.ndarray) -> float:
    """Robust noise of a radio image, one value (MAD/0.6745 over the finite pixels, ``noise.mad_sigma``)."""
    return mad_sigma(data)


def beam_area_pixels(wcs: WCS, beam: tuple[float, float] | None) -> float:
    """Pixels per beam, 2 pi sigma_maj sigma_min / pixel area, for a beam (BMAJ, BMIN FWHM in degrees)."""
    if beam is None or not all(b and b > 0 for b in beam):
        return float("nan")
    sx, sy = proj_plane_pixel_scales(wcs)[:2]
    return 2.0 * math.pi * (beam[0] * _FWHM_TO_SIGMA) * (beam[1] * _FWHM_TO_SIGMA) / (sx * sy)


def measure_box(data: np.ndarray, wcs: WCS, box: np.ndarray, *, rms: float, beam_pixels: float,
                nsigma: float = 3.0) -> BoxMeasurement:
    """Centroid, size and fluxes for one box ``x_min, y_min, x_max, y_max`` (astropy pixel convention)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    h, w = data.shape
    # pixels whose centres lie in the box; the centroid of those is inside the box by convexity
    c0, c1 = max(0, math.ceil(x0)), min(w - 1, math.floor(x1))
    r0, r1 = max(0, math.ceil(y0)), min(h - 1, math.floor(y1))
    xc, yc = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    cx, cy, peak, total = xc, yc, float("nan"), float("nan")
    if c1 >= c0 and r1 >= r0:
        cut = data[r0:r1 + 1, c0:c1 + 1]
        finite = np.isfinite(cut)
        if finite.any():
            peak = float(np.nanmax(cut))
            sel = finite & (cut > nsigma * rms) if math.isfinite(rms) else finite & (cut > 0)
            if sel.any():
                wts = np.where(sel, cut, 0.0)
                ys, xs = np.mgrid[r0:r1 + 1, c0:c1 + 1]
                cx = float((wts * xs).sum() / wts.sum())
                cy = float((wts * ys).sum() / wts.sum())
                total = float(wts.sum() / beam_pixels) if math.isfinite(beam_pixels) else float("nan")
            else:
                total = 0.0 if math.isfinite(beam_pixels) else float("nan")
    (ra, ra_b, ra_l, ra_r, ra_d, ra_u), (dec, dec_b, dec_l, dec_r, dec_d, dec_u) = wcs.pixel_to_world_values(
        np.array([cx, xc, x0, x1, xc, xc]), np.array([cy, yc, yc, yc, y0, y1]))
    width = _separation_arcsec(ra_l, dec_l, ra_r, dec_r)
    height = _separation_arcsec(ra_d, dec_d, ra_u, dec_u)
    return BoxMeasurement(ra=float(ra) % 360.0, dec=float(dec), ra_box=float(ra_b) % 360.0, dec_box=float(dec_b),
                          size_arcsec=max(width, height), peak_flux=peak, int_flux=total)


def _separation_arcsec(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    # Vincenty formula, as astropy's angular_separation, without building SkyCoord objects per box
    from astropy.coordinates import angular_separation

    return float(np.degrees(angular_separation(*np.radians([ra1, dec1, ra2, dec2]))) * 3600.0)


def infrared_peaks(ir_data: np.ndarray, ir_wcs: WCS, *, nsigma: float = 5.0) -> np.ndarray:
    """Sky positions (N x 2, degrees) of the local maxima of an infrared image above ``nsigma`` rms."""
    img = np.where(np.isfinite(ir_data), ir_data, np.nanmedian(ir_data))
    level = float(np.median(img)) + nsigma * mad_sigma(img)
    # a 5-pixel window is about one WISE PSF (6.1" at 1.375"/px)
    peaks = (img == ndimage.maximum_filter(img, size=5, mode="nearest")) & (img > level)
    ys, xs = np.nonzero(peaks)
    if not len(xs):
        return np.zeros((0, 2))
    ra, dec = ir_wcs.pixel_to_world_values(xs.astype(float), ys.astype(float))
    return np.stack([np.asarray(ra) % 360.0, np.asarray(dec)], axis=1)
