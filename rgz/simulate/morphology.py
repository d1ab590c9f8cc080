"""Radio source models as sums of elliptical Gaussians, and their exact convolution with the beam.

Sizes are in arcsec and fluxes in Jy; positions are offsets in the cutout's pixel axes (x = column, growing
west because east is left; y = row, growing north). A Gaussian convolved with a Gaussian beam stays Gaussian
(covariances add), so rendering needs no FFT and no oversampling.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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


def _jet(b: _Builder, rng, x0, y0, ang, length, flux, *, bend=0.0, width=3.0, n=None, fade=None) -> tuple:
    """A jet or tail from (x0, y0) along ``ang`` (rad), curving sideways by ``bend`` x length at its end."""
    n = n or max(3, int(length / 3.0))
    t = np.linspace(1.0 / n, 1.0, n)
    d = np.array([np.cos(ang), np.sin(ang)])
    p = np.array([-np.sin(ang), np.cos(ang)])
    side = bend * length * t**2
    x = x0 + d[0] * length * t + p[0] * side
    y = y0 + d[1] * length * t + p[1] * side
    slope = np.arctan2(d[1] + p[1] * 2 * bend * t, d[0] + p[0] * 2 * bend * t)  # local direction
    fade = rng.uniform(0.5, 2.5) if fade is None else fade
    w = np.exp(-fade * t) * rng.uniform(0.6, 1.4, n)  # knotty, fading outward (FRI)
    step = length / n
    wid = width * (1 + 1.5 * t)
    b.add(x, y, flux * w / w.sum(), np.maximum(wid, 1.6 * step), wid, np.degrees(slope))
    return x[-1], y[-1], slope[-1]


def _lobe(b: _Builder, rng, xe, ye, ang, flux, *, length, width, hotspot=0.5, knot=0.0) -> None:
    """An FRII lobe ending at (xe, ye), pointing outward along ``ang``: diffuse body, hotspot at the outer edge."""
    d = np.array([np.cos(ang), np.sin(ang)])
    if hotspot + knot > 0.9:  # keep some diffuse lobe
        hotspot, knot = (0.9 * hotspot / (hotspot + knot), 0.9 * knot / (hotspot + knot))
    if hotspot > 0:
        hm, hn = _point_like(rng, 4.0)
        b.add(xe, ye, flux * hotspot, hm, hn, np.degrees(ang) + rng.normal(0, 30))
    body = flux * (1 - hotspot - knot)
    cx, cy = xe - d[0] * 0.45 * length, ye - d[1] * 0.45 * length
    b.add(cx, cy, body, length, width, np.degrees(ang) + rng.normal(0, 10))
    if knot > 0:  # a secondary hotspot or knot further in: a second peak in the same lobe
        off = rng.uniform(0.7, 1.1) * length
        km, kn = _point_like(rng, 4.5)
        b.add(xe - d[0] * off, ye - d[1] * off, flux * knot, km, kn, rng.uniform(0, 180))


def _fr2(rng, las, flux, *, core=0.0, bridge=0.0, asym=0.15, bend=0.0, knot=0.0, lobe_scale=1.0) -> Source:
    """FRII double/triple: two lobes with hotspots at their outer edges, optional core and bridge emission."""
    b = _Builder()
    ang = rng.uniform(0, 2 * np.pi)
    a = rng.uniform(-asym, asym)
    r1, r2 = las / 2 * (1 + a), las / 2 * (1 - a)
    angs = (ang, ang + np.pi + bend * rng.choice([-1, 1]))
    fl = rng.uniform(0.3, 0.7)
    lobe_flux = flux * (1 - core - bridge)
    for i, (r, an, f) in enumerate(zip((r1, r2), angs, (fl, 1 - fl), strict=True)):
        length = min(r * rng.uniform(0.3, 0.8), 25.0) * lobe_scale + 2.0
        width = length * rng.uniform(0.4, 0.9)
        _lobe(b, rng, r * np.cos(an), r * np.sin(an), an, lobe_flux * f, length=length, width=width,
              hotspot=rng.uniform(0.25, 0.75), knot=knot if i == 0 else 0.0)
        if bridge > 0:
            _jet(b, rng, 0.0, 0.0, an, r * 0.8, flux * bridge / 2, width=rng.uniform(3, 6), fade=0.0)
    if core > 0:
        cm, cn = _point_like(rng, 3.0)
        b.add(0.0, 0.0, flux * core, cm, cn, 0.0)
    return b.build(kind="fr2")


def _fr1(rng, las, flux, *, twin=True, bend=0.0, core=0.3, head=False) -> Source:
    """FRI: bright core with jets fading outward; ``bend`` bends both jets the same way (wide-angle / narrow-angle
    tail); ``head`` makes a head-tail source (one long curved tail behind a bright head)."""
    b = _Builder()
    ang = rng.uniform(0, 2 * np.pi)
    cm, cn = _point_like(rng, 4.0)
    b.add(0.0, 0.0, flux * core, cm, cn, 0.0)
    jf = flux * (1 - core)
    if head:
        _jet(b, rng, 0.0, 0.0, ang, las, jf, bend=bend, width=rng.uniform(3, 6), fade=rng.uniform(0.2, 1.5))
        return b.build(kind="headtail")
    if twin:
        f1 = rng.uniform(0.35, 0.65)
        side = rng.choice([-1, 1])
        _jet(b, rng, 0.0, 0.0, ang, las / 2 * rng.uniform(0.8, 1.2), jf * f1, bend=bend * side,
             width=rng.uniform(2.5, 5))
        _jet(b, rng, 0.0, 0.0, ang + np.pi, las / 2 * rng.uniform(0.8, 1.2), jf * (1 - f1), bend=-bend * side,
             width=rng.uniform(2.5, 5))
    else:
        _jet(b, rng, 0.0, 0.0, ang, las, jf, bend=bend, width=rng.uniform(2.5, 5))
    return b.build(kind="fr1" if bend < 0.2 else "wat")


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


# Per RGZ class, the morphologies that usually produce it (weights) and their size priors (arcsec). The final
# class is always measured on the rendered image; these only make the wanted class likely.
def _c1p1(rng, flux):
    return _compact(rng, flux, _lognormal(rng, 7.0, 0.6, 0.3, 25.0))


def _c1p2(rng, flux):
    u = rng.uniform()
    if u < 0.45:
        return _double(rng, _lognormal(rng, 18.0, 0.3, 8.0, 34.0), flux)
    if u < 0.75:
        return _fr1(rng, _lognormal(rng, 26.0, 0.35, 10.0, 50.0), flux, twin=False, core=rng.uniform(0.3, 0.7))
    return _fr2(rng, _lognormal(rng, 21.0, 0.3, 10.0, 40.0), flux, bridge=rng.uniform(0.1, 0.3))


def _c1p3(rng, flux):
    u = rng.uniform()
    if u < 0.35:
        return _fr1(rng, _lognormal(rng, 48.0, 0.4, 18.0, 130.0), flux, core=rng.uniform(0.15, 0.5))
    if u < 0.65:
        return _fr2(rng, _lognormal(rng, 40.0, 0.4, 16.0, 110.0), flux, core=rng.uniform(0.05, 0.3),
                    bridge=rng.uniform(0.1, 0.3))
    if u < 0.85:
        return _fr1(rng, _lognormal(rng, 50.0, 0.4, 18.0, 130.0), flux, bend=rng.uniform(0.3, 1.2),
                    core=rng.uniform(0.15, 0.5))
    return _fr1(rng, _lognormal(rng, 48.0, 0.4, 18.0, 120.0), flux, head=True, bend=rng.uniform(-0.8, 0.8),
                core=rng.uniform(0.2, 0.5))


def _c2p2(rng, flux):
    return _fr2(rng, _lognormal(rng, 22.0, 0.45, 12.0, 110.0), flux, asym=0.2, lobe_scale=0.6)


def _c2p3(rng, flux):
    las = _lognormal(rng, 36.0, 0.5, 16.0, 140.0)
    if rng.uniform() < 0.5:  # core merged with one lobe (asymmetric), or a lobe with two hotspots
        return _fr2(rng, las, flux, core=rng.uniform(0.05, 0.25), asym=0.6, bend=rng.uniform(0, 0.5))
    return _fr2(rng, las, flux, knot=rng.uniform(0.2, 0.4), bend=rng.uniform(0, 0.4))


def _c3p3(rng, flux):
    return _fr2(rng, _lognormal(rng, 58.0, 0.45, 24.0, 160.0), flux, core=rng.uniform(0.05, 0.3),
                bend=rng.uniform(0, 0.6), asym=0.25)


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
        return _fr2(rng, _lognormal(rng, 20.0, 0.5, 8.0, 60.0), flux, core=rng.uniform(0, 0.2))
    return _fr1(rng, _lognormal(rng, 18.0, 0.5, 8.0, 50.0), flux, core=rng.uniform(0.2, 0.6))


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
