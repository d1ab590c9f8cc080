"""Extended radio galaxies with internal structure: FRI jets flaring into plumes, FRII lobes with hotspots and
clumpy bodies, backflow bridges, wide-angle / head-tail sources, asymmetric doubles.

Everything is still a sum of elliptical Gaussians (so ``morphology.render`` convolves it with the beam exactly),
but many of them: a jet is a wiggling, bending chain whose width grows (flaring) and whose knots vary in flux;
a lobe is a smooth envelope plus tens of small clumps scattered inside an ellipse (a cheap random field), which
gives the several peaks, filaments and ragged low-surface-brightness edges seen in real FIRST images
(../shared/data/mirabest-sample). Sizes in arcsec, positions relative to the host (the core) at (0, 0).
"""

from __future__ import annotations

import numpy as np

__all__ = ["fr1", "fr2", "head_tail", "core_jet", "diffuse_blob"]


def _rot(ang: float) -> tuple[np.ndarray, np.ndarray]:
    return np.array([np.cos(ang), np.sin(ang)]), np.array([-np.sin(ang), np.cos(ang)])


def _clumps(b, rng, cx, cy, a, w, ang, flux, *, n, smooth=0.4, clump=(0.15, 0.45), sigma=0.8) -> None:
    """Emission inside an ellipse (FWHM-like extent ``a`` along ``ang``, ``w`` across): a smooth envelope holding
    ``smooth`` of the flux plus ``n`` clumps at random places with log-normal fluxes (a lumpy random field)."""
    d, p = _rot(ang)
    if smooth > 0:
        b.add(cx, cy, flux * smooth, a, w, np.degrees(ang))
    if n <= 0:
        return
    r = np.sqrt(rng.uniform(0, 1, n))  # uniform in the ellipse
    phi = rng.uniform(0, 2 * np.pi, n)
    u, v = 0.5 * a * r * np.cos(phi), 0.5 * w * r * np.sin(phi)
    x = cx + d[0] * u + p[0] * v
    y = cy + d[1] * u + p[1] * v
    size = w * rng.uniform(*clump, n)
    f = np.exp(sigma * rng.normal(size=n))
    b.add(x, y, flux * (1 - smooth) * f / f.sum(), size * rng.uniform(1.0, 2.2, n), size,
          np.degrees(ang) + rng.normal(0, 35, n))


def _path(rng, x0, y0, ang, length, n, *, bend=0.0, wiggle=0.0):
    """Points along a jet from (x0, y0): direction ``ang`` (rad), sideways bend ``bend`` x length at the end
    (quadratic), sinusoidal wiggle of relative amplitude ``wiggle`` and a small random walk; local directions."""
    t = np.linspace(0.0, 1.0, n + 1)[1:]
    d, p = _rot(ang)
    side = bend * length * t**2
    if wiggle > 0:
        side = side + wiggle * length * t * np.sin(2 * np.pi * rng.uniform(0.6, 2.0) * t + rng.uniform(0, 6.3))
    side = side + np.cumsum(rng.normal(0, 0.02 * length / np.sqrt(n), n))
    x = x0 + d[0] * length * t + p[0] * side
    y = y0 + d[1] * length * t + p[1] * side
    dx, dy = np.gradient(x), np.gradient(y)
    return t, x, y, np.arctan2(dy, dx)


def _jet(b, rng, x0, y0, ang, length, flux, *, w0=2.0, w1=15.0, flare=0.4, bend=0.0, wiggle=0.05, fade=1.0,
         knots=0.35, plume=0.0) -> tuple[float, float, float]:
    """A jet that is narrow and knotty near the core and flares (after ``flare`` of its length) into a broad,
    lumpy plume; ``plume`` of the flux goes into a diffuse blob at the end. Returns the end point and direction."""
    n = int(np.clip(length / 2.0, 5, 60))
    t, x, y, th = _path(rng, x0, y0, ang, length, n, bend=bend, wiggle=wiggle)
    grow = np.clip((t - flare) / max(1 - flare, 1e-3), 0, 1)
    wid = w0 + (w1 - w0) * grow**1.5
    wt = np.exp(-fade * t) * np.exp(knots * rng.normal(size=n))
    step = length / n
    main = flux * (1 - plume)
    b.add(x, y, main * 0.7 * wt / wt.sum(), np.maximum(wid, 2.0 * step), wid, np.degrees(th))
    # clumps scattered across the flaring part: filaments and sub-peaks inside the plume
    m = int(np.clip(grow.sum() * 1.5, 0, 80))
    if m:
        k = rng.choice(n, m, p=(grow + 1e-3) / (grow + 1e-3).sum())
        off = rng.uniform(-0.5, 0.5, m) * wid[k]
        xs = x[k] - np.sin(th[k]) * off
        ys = y[k] + np.cos(th[k]) * off
        s = wid[k] * rng.uniform(0.15, 0.45, m)
        f = np.exp(0.9 * rng.normal(size=m))
        b.add(xs, ys, main * 0.3 * f / f.sum(), s * rng.uniform(1, 2.5, m), s, np.degrees(th[k]) + rng.normal(0, 30, m))
    if plume > 0:
        _clumps(b, rng, x[-1] + np.cos(th[-1]) * w1 * 0.3, y[-1] + np.sin(th[-1]) * w1 * 0.3, w1 * 1.3,
                w1 * rng.uniform(0.8, 1.4), th[-1], flux * plume, n=int(rng.integers(4, 14)), smooth=0.4)
    return float(x[-1]), float(y[-1]), float(th[-1])


def _point(rng, scale: float) -> tuple[float, float]:
    maj = scale * rng.uniform(0.15, 1.0)
    return maj, maj * rng.uniform(0.5, 1.0)


def fr1(b, rng, las: float, flux: float, *, bend: float = 0.0, core: float = 0.2, one_sided: float = 0.0) -> str:
    """FRI / wide-angle tail: core plus two jets flaring into plumes; ``bend`` bends both jets to the same side
    (WAT / narrow-angle tail); ``one_sided`` dims the counter-jet (Doppler boosting)."""
    ang = rng.uniform(0, 2 * np.pi)
    cm, cn = _point(rng, 4.0)
    b.add(0.0, 0.0, flux * core, cm, cn, rng.uniform(0, 180))
    f1 = rng.uniform(0.45, 0.7)
    f2 = (1 - f1) * (1 - one_sided)
    side = rng.choice([-1.0, 1.0])
    wmax = min(0.45 * las, 60.0)
    for sgn, f in ((0.0, f1), (np.pi, f2)):
        if f <= 0.02:
            continue
        length = las / 2 * rng.uniform(0.75, 1.15)
        w1 = wmax * rng.uniform(0.35, 1.0)
        _jet(b, rng, 0.0, 0.0, ang + sgn + rng.normal(0, 0.08), length, flux * (1 - core) * f,
             w0=rng.uniform(1.0, 3.5), w1=w1, flare=rng.uniform(0.1, 0.6),
             bend=bend * side * (1 if sgn == 0 else -1), wiggle=rng.uniform(0, 0.08), fade=rng.uniform(0.0, 2.0),
             plume=rng.uniform(0.0, 0.45))
    return "fr1" if abs(bend) < 0.25 else "wat"


def head_tail(b, rng, las: float, flux: float, *, core: float = 0.35) -> str:
    """Head-tail: a bright head (core + merged jets) and one long tail that widens and curves."""
    ang = rng.uniform(0, 2 * np.pi)
    cm, cn = _point(rng, 5.0)
    b.add(0.0, 0.0, flux * core, cm, cn, np.degrees(ang))
    tails = 1 if rng.uniform() < 0.6 else 2  # two tails that run side by side (narrow-angle tail)
    for k in range(tails):
        _jet(b, rng, 0.0, 0.0, ang + (k - 0.5 * (tails - 1)) * rng.uniform(0.15, 0.4), las * rng.uniform(0.8, 1.0),
             flux * (1 - core) / tails, w0=rng.uniform(2, 4), w1=min(las * rng.uniform(0.15, 0.4), 40.0),
             flare=rng.uniform(0.0, 0.3), bend=rng.uniform(-0.6, 0.6), wiggle=rng.uniform(0.02, 0.1),
             fade=rng.uniform(0.3, 2.0), knots=0.45)
    return "headtail"


def _fr2_lobe(b, rng, r: float, an: float, flux: float, *, las: float, hotspot: float, bridge: float,
              clumpy: float) -> None:
    """A lobe ending at distance ``r`` along ``an``: hotspot at the outer edge (sometimes a double hotspot), a
    clumpy body behind it, and a backflow bridge fading towards the core (``bridge`` of the lobe flux)."""
    d, p = _rot(an)
    xe, ye = r * d[0], r * d[1]
    body = flux * max(1 - hotspot - bridge, 0.1)
    hm, hn = _point(rng, 5.0)
    if rng.uniform() < 0.25:  # double hotspot: a second compact one offset sideways
        off = rng.uniform(3, 10) * rng.choice([-1, 1])
        b.add(xe - d[0] * rng.uniform(2, 8) + p[0] * off, ye - d[1] * rng.uniform(2, 8) + p[1] * off,
              flux * hotspot * 0.4, hm, hn, np.degrees(an))
        hotspot *= 0.6
    b.add(xe, ye, flux * hotspot, hm, hn, np.degrees(an) + rng.normal(0, 30))
    length = min(r * rng.uniform(0.25, 0.8), 60.0) + 3.0
    width = min(length * rng.uniform(0.25, 0.65), 40.0) + 2.0
    cx, cy = xe - d[0] * 0.45 * length, ye - d[1] * 0.45 * length
    n = int(clumpy * np.clip(length * width / 40.0, 3, 40))
    _clumps(b, rng, cx, cy, length, width, an + rng.normal(0, 0.15), body, n=n, smooth=rng.uniform(0.3, 0.7))
    if bridge > 0:
        # backflow from the lobe to the core: a broad, faint, ragged channel
        _jet(b, rng, cx, cy, an + np.pi + rng.normal(0, 0.1), max(r - 0.45 * length, 1.0), flux * bridge,
             w0=width * rng.uniform(0.4, 0.8), w1=width * rng.uniform(0.2, 0.5), flare=0.0, fade=rng.uniform(0, 1.5),
             wiggle=0.03, knots=0.5)


def fr2(b, rng, las: float, flux: float, *, core: float = 0.0, bridge: float = 0.0, asym: float = 0.15,
        bend: float = 0.0, clumpy: float = 1.0, hotspot: tuple[float, float] = (0.1, 0.45)) -> str:
    """FRII double/triple: edge-brightened lobes, optional core, bridges, arm-length and flux asymmetry,
    misaligned (bent) arms."""
    ang = rng.uniform(0, 2 * np.pi)
    a = rng.uniform(-asym, asym)
    fl = rng.uniform(0.25, 0.75)
    lobe_flux = flux * (1 - core)
    turn = bend * rng.choice([-1, 1])
    for r, an, f in ((las / 2 * (1 + a), ang, fl), (las / 2 * (1 - a), ang + np.pi + turn, 1 - fl)):
        _fr2_lobe(b, rng, r, an, lobe_flux * f, las=las, hotspot=rng.uniform(*hotspot),
                  bridge=bridge * rng.uniform(0.5, 1.5) if bridge > 0 else 0.0, clumpy=clumpy)
    if core > 0:
        cm, cn = _point(rng, 3.0)
        b.add(0.0, 0.0, flux * core, cm, cn, 0.0)
    return "fr2"


def core_jet(b, rng, las: float, flux: float, *, core: float = 0.5) -> str:
    """Bright core with a single jet (the counter-jet beamed away)."""
    ang = rng.uniform(0, 2 * np.pi)
    cm, cn = _point(rng, 4.0)
    b.add(0.0, 0.0, flux * core, cm, cn, 0.0)
    _jet(b, rng, 0.0, 0.0, ang, las, flux * (1 - core), w0=rng.uniform(1.5, 3), w1=min(las * rng.uniform(0.2, 0.5), 30),
         flare=rng.uniform(0.3, 0.8), bend=rng.uniform(-0.3, 0.3), wiggle=rng.uniform(0, 0.08), fade=rng.uniform(0, 2),
         plume=rng.uniform(0, 0.4))
    return "corejet"


def diffuse_blob(b, rng, las: float, flux: float) -> str:
    """A resolved, smooth-ish single-peaked source (compact double blended by the beam, relic-like blob)."""
    ang = rng.uniform(0, 2 * np.pi)
    _clumps(b, rng, 0.0, 0.0, las * 0.6, las * rng.uniform(0.25, 0.7), ang, flux, n=int(rng.integers(0, 6)),
            smooth=rng.uniform(0.6, 0.9), clump=(0.3, 0.6), sigma=0.5)
    return "blob"
