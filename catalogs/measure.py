"""Measurements of the radio (and infrared) emission inside a detection box or an island: ICRS centroid,
size and shape (deconvolved where the beam is known), fluxes and their errors, position errors."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales
from scipy import ndimage

from .noise import mad_sigma
from .sky import pixel_to_icrs

__all__ = ["BoxMeasurement", "image_rms", "beam_area_pixels", "measure_box", "measure_pixels", "infrared_peaks",
           "deconvolve", "position_error", "flux_errors", "CALIBRATION_ERROR"]

_FWHM_TO_SIGMA = 1.0 / math.sqrt(8.0 * math.log(2.0))
CALIBRATION_ERROR = 0.05  # fractional flux-scale error (FIRST, NVSS: ~5 %)


@dataclass
class BoxMeasurement:
    ra: float
    dec: float
    ra_box: float
    dec_box: float
    size_arcsec: float
    peak_flux: float
    int_flux: float
    n_pix: int = 0  # pixels summed into int_flux
    maj: float = math.nan  # FWHM arcsec
    min: float = math.nan
    pa: float = math.nan  # degrees east of north
    x_peak: float = math.nan
    y_peak: float = math.nan


def image_rms(data: np.ndarray) -> float:
    """Robust noise of a radio image, one value (MAD/0.6745 over the finite pixels, ``noise.mad_sigma``)."""
    return mad_sigma(data)


def beam_area_pixels(wcs: WCS, beam: tuple[float, ...] | None) -> float:
    """Pixels per beam, 2 pi sigma_maj sigma_min / pixel area, for a beam (BMAJ, BMIN FWHM in degrees)."""
    if beam is None or not all(b and b > 0 for b in beam[:2]):
        return float("nan")
    sx, sy = proj_plane_pixel_scales(wcs)[:2]
    return 2.0 * math.pi * (beam[0] * _FWHM_TO_SIGMA) * (beam[1] * _FWHM_TO_SIGMA) / (sx * sy)


def measure_box(data: np.ndarray, wcs: WCS, box: np.ndarray, *, rms: float, beam_pixels: float,
                nsigma: float = 3.0) -> BoxMeasurement:
    """Centroid, size, shape and fluxes for one box ``x_min, y_min, x_max, y_max`` (astropy convention)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    h, w = data.shape
    # pixels whose centres lie in the box; the centroid of those is inside the box by convexity
    c0, c1 = max(0, math.ceil(x0)), min(w - 1, math.floor(x1))
    r0, r1 = max(0, math.ceil(y0)), min(h - 1, math.floor(y1))
    xc, yc = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    window = (slice(r0, r1 + 1), slice(c0, c1 + 1)) if c1 >= c0 and r1 >= r0 else None
    m = measure_pixels(data, wcs, window, None, rms=rms, beam_pixels=beam_pixels, nsigma=nsigma, default=(xc, yc))
    (ra_b, ra_l, ra_r, ra_d, ra_u), (dec_b, dec_l, dec_r, dec_d, dec_u) = pixel_to_icrs(
        wcs, np.array([xc, x0, x1, xc, xc]), np.array([yc, yc, yc, y0, y1]))
    m.ra_box, m.dec_box = float(ra_b), float(dec_b)
    m.size_arcsec = max(_separation_arcsec(ra_l, dec_l, ra_r, dec_r), _separation_arcsec(ra_d, dec_d, ra_u, dec_u))
    return m


def measure_pixels(data: np.ndarray, wcs: WCS, window: tuple[slice, slice] | None, mask: np.ndarray | None, *,
                   rms: float, beam_pixels: float, nsigma: float = 3.0,
                   default: tuple[float, float] | None = None) -> BoxMeasurement:
    """Centroid, shape and fluxes of the pixels of ``data[window]`` (where ``mask``, if given) above ``nsigma``
    rms; ``default`` is the position when none is (else the window's centre)."""
    cx, cy = default if default is not None else (math.nan, math.nan)
    peak, total, n_pix, shape, xp, yp = math.nan, math.nan, 0, (math.nan,) * 3, math.nan, math.nan
    if window is not None:
        cut = data[window]
        r0, c0 = window[0].start, window[1].start
        finite = np.isfinite(cut) if mask is None else np.isfinite(cut) & mask
        if default is None:
            cy, cx = r0 + (cut.shape[0] - 1) / 2.0, c0 + (cut.shape[1] - 1) / 2.0
        if finite.any():
            k = int(np.argmax(np.where(finite, cut, -np.inf)))
            peak = float(cut.flat[k])
            yp, xp = float(r0 + k // cut.shape[1]), float(c0 + k % cut.shape[1])
            sel = finite & (cut > nsigma * rms) if math.isfinite(rms) else finite & (cut > 0)
            if sel.any():
                wts = np.where(sel, cut, 0.0).astype(np.float64)
                ys, xs = np.mgrid[r0:r0 + cut.shape[0], c0:c0 + cut.shape[1]]
                cx = float((wts * xs).sum() / wts.sum())
                cy = float((wts * ys).sum() / wts.sum())
                n_pix = int(sel.sum())
                total = float(wts.sum() / beam_pixels) if math.isfinite(beam_pixels) else math.nan
                shape = _moments_shape(wts, xs - cx, ys - cy, wcs, cx, cy)
            else:
                total = 0.0 if math.isfinite(beam_pixels) else math.nan
    ra, dec = pixel_to_icrs(wcs, np.array([cx]), np.array([cy]))
    return BoxMeasurement(ra=float(ra[0]), dec=float(dec[0]), ra_box=math.nan, dec_box=math.nan,
                          size_arcsec=math.nan, peak_flux=peak, int_flux=total, n_pix=n_pix, maj=shape[0],
                          min=shape[1], pa=shape[2], x_peak=xp, y_peak=yp)


def _moments_shape(wts: np.ndarray, dx: np.ndarray, dy: np.ndarray, wcs: WCS, cx: float, cy: float
                   ) -> tuple[float, float, float]:
    """FWHM major, minor (arcsec) and PA (deg east of north) from flux-weighted second moments; a single
    pixel gets its own size (the moments of a uniform pixel, 1/12 px^2)."""
    s = wts.sum()
    cov = np.array([[(wts * dx * dx).sum(), (wts * dx * dy).sum()], [(wts * dx * dy).sum(), (wts * dy * dy).sum()]])
    cov = cov / s + np.eye(2) / 12.0
    vals, vecs = np.linalg.eigh(cov)
    scale = float(np.mean(proj_plane_pixel_scales(wcs)[:2])) * 3600.0
    fwhm = np.sqrt(np.maximum(vals, 0.0)) / _FWHM_TO_SIGMA * scale
    vx, vy = vecs[:, 1]  # the major axis direction in pixels; its PA on the sky through the WCS
    ra, dec = pixel_to_icrs(wcs, np.array([cx, cx + vx]), np.array([cy, cy + vy]))
    pa = _position_angle(ra[0], dec[0], ra[1], dec[1]) % 180.0
    return float(fwhm[1]), float(fwhm[0]), float(pa)


def _position_angle(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Position angle (deg, east of north) of point 2 seen from point 1 (astropy's position_angle formula)."""
    a1, d1, a2, d2 = np.radians([ra1, dec1, ra2, dec2])
    da = a2 - a1
    return float(np.degrees(np.arctan2(np.sin(da) * np.cos(d2),
                                       np.cos(d1) * np.sin(d2) - np.sin(d1) * np.cos(d2) * np.cos(da))))


def deconvolve(maj: float, mn: float, pa: float, beam: tuple[float, ...] | None) -> tuple[float, float]:
    """Major and minor FWHM (arcsec) with the beam (BMAJ, BMIN[, BPA], FWHM in degrees) taken out: Gaussian
    covariance matrices subtracted, negative eigenvalues (unresolved) clipped to 0; NaN without a beam."""
    if beam is None or not all(b and b > 0 for b in beam[:2]) or not math.isfinite(maj):
        return math.nan, math.nan
    bpa = beam[2] if len(beam) > 2 and beam[2] is not None else 0.0

    def cov(a: float, b: float, t: float) -> np.ndarray:
        c, s = math.cos(math.radians(t)), math.sin(math.radians(t))
        r = np.array([[c, -s], [s, c]])
        return r @ np.diag([a * a, b * b]) @ r.T

    d = cov(maj, mn, pa) - cov(beam[0] * 3600.0, beam[1] * 3600.0, bpa)
    vals = np.sqrt(np.clip(np.linalg.eigvalsh(d), 0.0, None))
    return float(vals[1]), float(vals[0])


def position_error(peak: float, rms: float, size: float, beam_arcsec: float, clean_bias: float = 0.0) -> float:
    """FIRST's 90 % position error (arcsec): sqrt(beam^2 + size^2) (1/SNR + 1/20), SNR = (peak - bias)/rms."""
    snr = (peak - clean_bias) / rms if rms > 0 else math.nan
    if not (math.isfinite(snr) and snr > 0 and math.isfinite(beam_arcsec)):
        return math.nan
    size = size if math.isfinite(size) else 0.0
    return math.hypot(beam_arcsec, size) * (1.0 / snr + 1.0 / 20.0)


def flux_errors(peak: float, total: float, rms: float, n_pix: int, beam_pixels: float) -> tuple[float, float]:
    """Errors of peak and integrated flux: noise plus a 5 % calibration error, in quadrature."""
    pe = math.hypot(rms, CALIBRATION_ERROR * peak) if math.isfinite(peak) else math.nan
    if math.isfinite(total) and math.isfinite(beam_pixels) and beam_pixels > 0:
        te = math.hypot(rms * math.sqrt(max(n_pix, 1) / beam_pixels), CALIBRATION_ERROR * total)
    else:
        te = math.nan
    return pe, te


def _separation_arcsec(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    # Vincenty formula, as astropy's angular_separation, without building SkyCoord objects per box
    from astropy.coordinates import angular_separation

    return float(np.degrees(angular_separation(*np.radians([ra1, dec1, ra2, dec2]))) * 3600.0)


def infrared_peaks(ir_data: np.ndarray, ir_wcs: WCS, *, nsigma: float = 5.0) -> np.ndarray:
    """ICRS positions (N x 2, degrees) of the local maxima of an infrared image above ``nsigma`` rms."""
    img = np.where(np.isfinite(ir_data), ir_data, np.nanmedian(ir_data))
    level = float(np.median(img)) + nsigma * mad_sigma(img)
    # a 5-pixel window is about one WISE PSF (6.1" at 1.375"/px)
    peaks = (img == ndimage.maximum_filter(img, size=5, mode="nearest")) & (img > level)
    ys, xs = np.nonzero(peaks)
    if not len(xs):
        return np.zeros((0, 2))
    ra, dec = pixel_to_icrs(ir_wcs, xs.astype(float), ys.astype(float))
    return np.stack([ra, dec], axis=1)

