"""Radio source models as sums of elliptical Gaussians, and their exact convolution with the beam.

Sizes are in arcsec and fluxes in Jy; positions are offsets in the cutout's pixel axes (x = column, growing
west because east is left; y = row, growing north). A Gaussian convolved with a Gaussian beam stays Gaussian
(covariances add), so rendering needs no FFT and no oversampling.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import extended as ext
from .beam import Beam, ellipse_cov

__all__ = ["Source", "CLASS_FAMILIES", "sample_source", "sample_neighbour", "render"]


@dataclass
class Source:
    """Components of one radio source: arrays of equal length, offsets and sizes in arcsec."""

    x: np.ndarray
    y: np.ndarray
    flux: np.ndarray  # Jy per component
    fwhm_maj: np.ndarray
    fwhm_min: np.ndarray
    theta: np.ndarray  # major-axis angle in the x-y plane, degrees from +x towards +y
    host: tuple[float, float] = (0.0, 0.0)  # where the optical/IR host sits (the core)
    kind: str = ""
    parts: list[np.ndarray] = field(default_factory=list)  # component indices of each physical part

    def __len__(self) -> int:
        return len(self.x)

    def shifted(self, dx: float, dy: float) -> Source:
        return Source(self.x + dx, self.y + dy, self.flux, self.fwhm_maj, self.fwhm_min, self.theta,
                      (self.host[0] + dx, self.host[1] + dy), self.kind, self.parts)

    def scaled_flux(self, factor: float) -> Source:
        return Source(self.x, self.y, self.flux * factor, self.fwhm_maj, self.fwhm_min, self.theta,
                      self.host, self.kind, self.parts)


class _Builder:
    """Accumulates Gaussian components part by part (core, jet, lobe, hotspot)."""

    def __init__(self) -> None:
        self.cols: list[list[float]] = []
        self.parts: list[np.ndarray] = []

    def add(self, x, y, flux, fmaj, fmin, theta) -> None:
        x, y, flux, fmaj, fmin, theta = np.broadcast_arrays(*map(np.atleast_1d, (x, y, flux, fmaj, fmin, theta)))
        start = len(self.cols)
        self.cols.extend(zip(x, y, flux, fmaj, np.minimum(fmin, fmaj), theta, strict=True))
        self.parts.append(np.arange(start, len(self.cols)))

    def build(self, host=(0.0, 0.0), kind="") -> Source:
        a = np.asarray(self.cols, dtype=np.float64).reshape(-1, 6)
        return Source(*a.T, host=host, kind=kind, parts=self.parts)


def _point_like(rng: np.random.Generator, scale: float) -> tuple[float, float]:
    """FWHM (maj, min) of a core, knot or hotspot: unresolved to slightly resolved."""
    maj = scale * rng.uniform(0.2, 1.0)
    return maj, maj * rng.uniform(0.5, 1.0)


def _compact(rng, flux, fwhm) -> Source:
    b = _Builder()
    b.add(0.0, 0.0, flux, fwhm, fwhm * rng.uniform(0.45, 1.0), rng.uniform(0, 180))
    return b.build(kind="compact")


def _double(rng, sep, flux) -> Source:
    """Two compact blobs (a small double or a core with one knot)."""
    b = _Builder()
    ang = rng.uniform(0, 2 * np.pi)
    f = rng.uniform(0.35, 0.65)
    for s, ff in ((0.5, f), (-0.5, 1 - f)):
        m, n = _point_like(rng, 6.0)
        b.add(s * sep * np.cos(ang), s * sep * np.sin(ang), flux * ff, m, n, np.degrees(ang))
    return b.build(kind="double")


def _lognormal(rng, median, sigma, lo, hi) -> float:
    return float(np.clip(median * np.exp(sigma * rng.normal()), lo, hi))


# Per RGZ class, the morphologies that usually produce it (weights) and their size priors (largest angular size,
# arcsec, log-normal about RGZ DR1's ang_extent medians per class, with a long tail to ~200"). The final class is
# always measured on the rendered image; these only make the wanted class likely.
def _las(rng, median, lo=12.0, hi=200.0, sigma=0.5):
    return _lognormal(rng, median, sigma, lo, hi)


def _ext(fn, rng, las: float, flux: float, **kw) -> Source:
    """An extended model from extended.py; bigger sources get more flux (at fixed flux a 100" source would sink
    into the noise: RGZ and MiraBest sources are surface-brightness selected)."""
    b = _Builder()
    kind = fn(b, rng, las, flux * float(np.clip(las / 20.0, 1.0, 8.0)) ** 1.2, **kw)
    return b.build(kind=kind)


def _c1p1(rng, flux):
    if rng.uniform() < 0.8:
        return _compact(rng, flux, _lognormal(rng, 7.0, 0.6, 0.3, 25.0))
    return _ext(ext.diffuse_blob, rng, _las(rng, 22.0, 10.0, 60.0, 0.35), flux)


def _c1p2(rng, flux):
    u = rng.uniform()
    if u < 0.35:
        return _double(rng, _lognormal(rng, 18.0, 0.3, 8.0, 34.0), flux)
    if u < 0.65:
        return _ext(ext.core_jet, rng, _las(rng, 30.0, 10.0, 90.0, 0.4), flux, core=rng.uniform(0.3, 0.7))
    if u < 0.85:
        return _ext(ext.fr2, rng, _las(rng, 26.0, 10.0, 70.0, 0.35), flux, bridge=rng.uniform(0.1, 0.4),
                    clumpy=rng.uniform(0, 0.5), hotspot=(0.2, 0.6))
    return _ext(ext.fr1, rng, _las(rng, 28.0, 10.0, 80.0, 0.35), flux, core=rng.uniform(0.0, 0.2),
                one_sided=rng.uniform(0, 1))


def _c1p3(rng, flux):
    u = rng.uniform()
    las = _las(rng, 36.0, 16.0, 200.0)
    if u < 0.35:
        return _ext(ext.fr1, rng, las, flux, core=rng.uniform(0.05, 0.4), one_sided=rng.uniform(0, 0.6) ** 2)
    if u < 0.65:
        return _ext(ext.fr2, rng, las, flux, core=rng.uniform(0.02, 0.25), bridge=rng.uniform(0.15, 0.4),
                    bend=rng.uniform(0, 0.4), asym=0.3)
    if u < 0.85:
        return _ext(ext.fr1, rng, las * 0.8, flux, bend=rng.uniform(0.25, 0.8), core=rng.uniform(0.05, 0.4))
    return _ext(ext.head_tail, rng, las, flux, core=rng.uniform(0.15, 0.5))


def _c2p2(rng, flux):
    return _ext(ext.fr2, rng, _las(rng, 30.0, 12.0, 160.0), flux, asym=0.25, clumpy=rng.uniform(0, 0.6),
                hotspot=(0.25, 0.65))


def _c2p3(rng, flux):
    las = _las(rng, 36.0, 16.0, 200.0)
    u = rng.uniform()
    if u < 0.4:  # core merged with one lobe (asymmetric arms)
        return _ext(ext.fr2, rng, las, flux, core=rng.uniform(0.05, 0.3), asym=0.6, bend=rng.uniform(0, 0.5))
    if u < 0.75:  # clumpy lobes or a double hotspot
        return _ext(ext.fr2, rng, las, flux, bend=rng.uniform(0, 0.4), clumpy=rng.uniform(0.8, 1.5))
    return _ext(ext.fr1, rng, las, flux, bend=rng.uniform(0, 1.0), core=rng.uniform(0.0, 0.3))


def _c3p3(rng, flux):
    return _ext(ext.fr2, rng, _las(rng, 48.0, 24.0, 200.0), flux, core=rng.uniform(0.05, 0.3),
                bend=rng.uniform(0, 0.6), asym=0.3, clumpy=rng.uniform(0.2, 1.2))


CLASS_FAMILIES = (_c1p1, _c1p2, _c1p3, _c2p2, _c2p3, _c3p3)  # index = RGZ class id - 1


def sample_source(rng: np.random.Generator, class_id: int, flux: float) -> Source:
    """A source meant to look like RGZ class ``class_id`` (1..6), total flux ``flux`` Jy, origin at its host."""
    return CLASS_FAMILIES[class_id - 1](rng, flux)


def sample_neighbour(rng: np.random.Generator, flux: float) -> Source:
    """An unrelated field source: ~65% unresolved/compact (FIRST), the rest resolved doubles and FRIs."""
    u = rng.uniform()
    if u < 0.65:
        return _compact(rng, flux, _lognormal(rng, 2.5, 0.8, 0.2, 12.0))
    if u < 0.85:
        return _ext(ext.fr2, rng, _lognormal(rng, 20.0, 0.5, 8.0, 60.0), flux, core=rng.uniform(0, 0.2),
                    clumpy=rng.uniform(0, 1))
    return _ext(ext.fr1, rng, _lognormal(rng, 18.0, 0.5, 8.0, 50.0), flux, core=rng.uniform(0.2, 0.6))


def render(sources: list[Source], origins_px: list[tuple[float, float]], *, shape: tuple[int, int],
           beam: Beam, pixel_scale: float) -> np.ndarray:
    """Sum of the sources convolved with the beam, in Jy/beam on an (ny, nx) grid (astropy pixel centres).

    ``origins_px`` places each source's (0, 0) at that (x, y) astropy pixel position.
    """
    img = np.zeros(shape, dtype=np.float64)
    if not sources:
        return img
    ps = pixel_scale
    x = np.concatenate([s.x / ps + o[0] for s, o in zip(sources, origins_px, strict=True)])
    y = np.concatenate([s.y / ps + o[1] for s, o in zip(sources, origins_px, strict=True)])
    flux = np.concatenate([s.flux for s in sources])
    cov = ellipse_cov(np.concatenate([s.fwhm_maj for s in sources]) / ps,
                      np.concatenate([s.fwhm_min for s in sources]) / ps,
                      np.concatenate([s.theta for s in sources]) - 90.0)
    bcov = beam.cov_px(ps)
    tot = cov + bcov
    det = tot[:, 0, 0] * tot[:, 1, 1] - tot[:, 0, 1] ** 2
    peak = flux * np.sqrt(np.linalg.det(bcov) / det)  # Jy -> Jy/beam at the peak
    inv = np.stack([tot[:, 1, 1], -tot[:, 0, 1], tot[:, 0, 0]], axis=1) / det[:, None]
    ny, nx = shape
    gy, gx = np.arange(ny, dtype=np.float64), np.arange(nx, dtype=np.float64)
    for i in np.flatnonzero(peak > 0):
        r = 5.0 * np.sqrt(max(tot[i, 0, 0], tot[i, 1, 1]))  # 5 sigma window keeps this cheap
        x0, x1 = int(max(0, np.floor(x[i] - r))), int(min(nx, np.ceil(x[i] + r) + 1))
        y0, y1 = int(max(0, np.floor(y[i] - r))), int(min(ny, np.ceil(y[i] + r) + 1))
        if x0 >= x1 or y0 >= y1:
            continue
        dx = gx[x0:x1][None, :] - x[i]
        dy = gy[y0:y1][:, None] - y[i]
        q = inv[i, 0] * dx * dx + 2 * inv[i, 1] * dx * dy + inv[i, 2] * dy * dy
        img[y0:y1, x0:x1] += peak[i] * np.exp(-0.5 * q)
    return img
