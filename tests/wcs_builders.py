"""Celestial WCS headers for tests: one builder for every frame (ICRS, FK5, FK4, Galactic, ecliptic)."""

from __future__ import annotations

from astropy.wcs import WCS


def celestial_wcs(ctype: list[str], crval: list[float], *, crpix: list[float], scale_deg: float,
                  radesys: str | None = None, equinox: float | None = None) -> WCS:
    """A 2-D celestial WCS, east left (``-scale_deg`` on the first axis), set up and ready to transform."""
    w = WCS(naxis=2)
    w.wcs.ctype, w.wcs.crval, w.wcs.crpix = list(ctype), list(crval), list(crpix)
    w.wcs.cdelt = [-scale_deg, scale_deg]
    if radesys:
        w.wcs.radesys = radesys
    if equinox:
        w.wcs.equinox = equinox
    w.wcs.set()
    return w
