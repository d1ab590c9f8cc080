"""Pixels <-> ICRS for any celestial WCS: catalogues are ICRS whatever frame the image is in.

Galactic (MAGPIS), FK4 B1950, ecliptic and FK5 images all give ICRS ``ra``/``dec``, names and regions. RA/Dec
grids in ICRS or FK5 J2000 (which differ by under 25 mas, far below a radio pixel) take the fast path
through the WCS's own world values; every other frame goes through SkyCoord.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales

__all__ = ["equatorial_j2000", "pixel_to_icrs", "icrs_to_pixel", "frame_label", "pixel_scale_arcsec"]


def pixel_scale_arcsec(wcs: WCS) -> float:
    """Mean pixel side in arcsec of a celestial WCS (its first two axes)."""
    return float(np.mean(proj_plane_pixel_scales(wcs)[:2])) * 3600.0


def equatorial_j2000(wcs: WCS) -> bool:
    """RA/Dec axes in ICRS or FK5 J2000 (no RADESYS and no EQUINOX counts as ICRS, as FITS says)."""
    w = wcs.wcs
    if not (w.ctype[0].upper().startswith("RA") and w.ctype[1].upper().startswith("DEC")):
        return False
    radesys = (w.radesys or "").strip().upper()
    equinox = w.equinox if np.isfinite(w.equinox) else 2000.0
    return radesys == "ICRS" or (radesys in ("FK5", "") and abs(equinox - 2000.0) < 1e-6)


def pixel_to_icrs(wcs: WCS, x, y) -> tuple[np.ndarray, np.ndarray]:
    """ICRS (ra, dec) in degrees of astropy pixel coordinates (0-based) of ``wcs``."""
    if equatorial_j2000(wcs):
        ra, dec = wcs.pixel_to_world_values(x, y)
    else:
        c = wcs.pixel_to_world(x, y).icrs
        ra, dec = c.ra.deg, c.dec.deg
    return np.asarray(ra, dtype=np.float64) % 360.0, np.asarray(dec, dtype=np.float64)


def icrs_to_pixel(wcs: WCS, ra, dec) -> tuple[np.ndarray, np.ndarray]:
    """Astropy pixel coordinates on ``wcs`` of ICRS (ra, dec) in degrees."""
    if equatorial_j2000(wcs):
        x, y = wcs.world_to_pixel_values(ra, dec)
    else:
        x, y = wcs.world_to_pixel(SkyCoord(np.asarray(ra) * u.deg, np.asarray(dec) * u.deg, frame="icrs"))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def frame_label(wcs: WCS) -> tuple[str, str]:
    """Axis labels for a plot of ``wcs``: the world axes' own names and frame (e.g. 'Galactic longitude')."""
    t = [str(wcs.wcs.ctype[i]).upper() for i in range(2)]
    if t[0].startswith("GLON"):
        return "Galactic longitude", "Galactic latitude"
    if t[0].startswith("ELON"):
        return "Ecliptic longitude", "Ecliptic latitude"
    frame = (wcs.wcs.radesys or "ICRS").strip() or "ICRS"
    if frame in ("FK4", "FK5") and np.isfinite(wcs.wcs.equinox):
        frame += f" {'B' if frame == 'FK4' else 'J'}{wcs.wcs.equinox:g}"
    return f"RA ({frame})", f"Dec ({frame})"
