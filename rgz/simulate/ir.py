"""A WISE W1-like infrared image of the same field: 1.375"/px, DN (MAGZP 20.5), sky ~3 DN with ~0.13 DN noise
correlated by the 6.1" PSF, field stars and galaxies, and the host galaxy at the radio core."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .beam import Beam
from .morphology import Source, render

__all__ = ["WISE_PIXEL_SCALE", "WISE_MAGZP", "simulate_ir"]

WISE_PIXEL_SCALE = 1.375
WISE_MAGZP = 20.5
_PSF = Beam(bmaj=6.1, bmin=6.1)


def simulate_ir(rng: np.random.Generator, size: int, hosts_px: list[tuple[float, float, bool]]) -> np.ndarray:
    """W1 image (size x size, FITS order) with hosts at the given (x, y) astropy pixels of this IR grid."""
    shape = (size, size)
    sky = rng.uniform(2.6, 3.4)
    noise = rng.standard_normal(shape)
    noise = ndimage.gaussian_filter(noise, 0.6)  # Atlas images are resampled: mildly correlated pixels
    img = sky + noise * (rng.uniform(0.11, 0.15) / noise.std())
    n_field = rng.poisson(size * size * WISE_PIXEL_SCALE**2 / 3600.0**2 * 2.5e4)  # ~25k W1 sources/deg^2 < 17
    mags = 12.0 + 5.0 * rng.power(3.0, n_field)  # counts rise steeply to the faint end
    xs = list(rng.uniform(-2, size + 2, n_field))
    ys = list(rng.uniform(-2, size + 2, n_field))
    ext = list(rng.uniform(0, 1, n_field) < 0.4)  # galaxies are slightly resolved
    for x, y, is_target in hosts_px:  # radio galaxies' hosts: bright ellipticals, W1 ~ 13-16.5
        xs.append(x)
        ys.append(y)
        mags = np.append(mags, rng.uniform(13.0, 16.0) if is_target else rng.uniform(14.0, 17.0))
        ext.append(True)
    if not xs:
        return img.astype(np.float32)
    fluxes = 10 ** ((WISE_MAGZP - mags) / 2.5)  # DN summed over the PSF
    ps = WISE_PIXEL_SCALE
    fw = np.where(ext, rng.uniform(2.0, 6.0, len(xs)), 0.1)
    src = Source(np.asarray(xs) * ps, np.asarray(ys) * ps, fluxes, fw, fw * rng.uniform(0.5, 1.0, len(xs)),
                 rng.uniform(0, 180, len(xs)))
    # render() returns flux per PSF area; divide by the PSF area in pixels for DN per pixel
    stars = render([src], [(0.0, 0.0)], shape=shape, beam=_PSF, pixel_scale=ps)
    return (img + stars / _PSF.pixels_per_beam(ps)).astype(np.float32)
