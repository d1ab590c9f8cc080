"""FIRST's CLEAN beam as a pixel-space Gaussian: analytic convolution of Gaussian components and beam-shaped noise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..surveys import FIRST

__all__ = ["FWHM_TO_SIGMA", "Beam", "first_beam", "ellipse_cov"]

FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def ellipse_cov(fwhm_maj: np.ndarray, fwhm_min: np.ndarray, pa_deg: np.ndarray) -> np.ndarray:
    """Covariance matrices [..., 2, 2] in (x, y) pixels of Gaussians given FWHM (pixels) and PA (deg east of north).

    North up, east left (CDELT1 < 0): north = +y, east = -x, so the major axis points along (-sin pa, cos pa).
    """
    pa = np.deg2rad(np.asarray(pa_deg, dtype=np.float64))
    u = np.stack([-np.sin(pa), np.cos(pa)], axis=-1)
    v = np.stack([np.cos(pa), np.sin(pa)], axis=-1)
    smaj = (np.asarray(fwhm_maj, dtype=np.float64) * FWHM_TO_SIGMA)[..., None, None]
    smin = (np.asarray(fwhm_min, dtype=np.float64) * FWHM_TO_SIGMA)[..., None, None]
    return smaj**2 * (u[..., :, None] * u[..., None, :]) + smin**2 * (v[..., :, None] * v[..., None, :])


@dataclass(frozen=True, kw_only=True)
class Beam:
    """Restoring beam: FWHM in arcsec, position angle in degrees east of north (FITS BMAJ/BMIN/BPA)."""

    bmaj: float = 5.4
    bmin: float = 5.4
    bpa: float = 0.0

    def cov_px(self, pixel_scale: float) -> np.ndarray:
        return ellipse_cov(self.bmaj / pixel_scale, self.bmin / pixel_scale, self.bpa)

    def pixels_per_beam(self, pixel_scale: float) -> float:
        """Beam area in pixels (2 pi sigma_maj sigma_min): divides a sum of Jy/beam to give Jy."""
        return float(np.pi * self.bmaj * self.bmin / (4 * np.log(2)) / pixel_scale**2)

    def kernel(self, pixel_scale: float, *, peak_one: bool = False) -> np.ndarray:
        """The beam sampled on an odd grid out to 4 sigma, normalised to unit sum (or unit peak)."""
        cov = self.cov_px(pixel_scale)
        half = int(np.ceil(4 * np.sqrt(np.linalg.eigvalsh(cov).max())))
        y, x = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float64)
        icov = np.linalg.inv(cov)
        k = np.exp(-0.5 * (icov[0, 0] * x * x + 2 * icov[0, 1] * x * y + icov[1, 1] * y * y))
        return k / (k.max() if peak_one else k.sum())


def first_beam(dec_deg: float) -> Beam:
    """FIRST's beam by declination: 5.4" circular in the north, elongated N-S in the southern strips."""
    bmaj, bmin, bpa = FIRST.beam_at(dec_deg)
    return Beam(bmaj=bmaj, bmin=bmin, bpa=bpa)
