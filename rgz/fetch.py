"""Fetch missing FIRST (or another rgz.surveys survey's) and WISE W1 cutouts for the RGZ builder from SkyView with astroquery (optional).

ClaRAN's original download links are dead; SkyView serves both surveys. Cutouts are 3' x 3' centred on the
FIRST id's position (FIRSTJhhmmss.s+ddmmss), at FIRST's native 1.8"/px (100 px) and WISE's 1.375"/px
(131 px), written atomically into a cache folder as ``<id>.fits`` and ``<id>_w1.fits``. Needs network
access and ``pip install 'claran[fetch]'``; never used by the tests.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from astropy import units as u
from astropy.coordinates import SkyCoord

from claran.errors import UserError
from claran.fileio import atomic_write

from .surveys import Survey, get_survey

__all__ = ["CutoutFetcher", "first_id_to_skycoord"]

WISE_PIXEL_SCALE = 1.375  # arcsec; 3' = 131 px

logger = logging.getLogger("claran")

_POS = re.compile(r"J(\d{2})(\d{2})(\d{2}(?:\.\d+)?)([+-])(\d{2})(\d{2})(\d{2}(?:\.\d+)?)")


def first_id_to_skycoord(first_id: str) -> SkyCoord:
    """``FIRSTJ000224.9+120548`` -> its (truncated) J2000 position."""
    m = _POS.search(first_id)
    if m is None:
        raise UserError(f"{first_id!r} is not a FIRST id like FIRSTJ000224.9+120548")
    h, mi, s, sign, d, dm, ds = m.groups()
    return SkyCoord(f"{h}h{mi}m{s}s", f"{sign}{d}d{dm}m{ds}s", frame="fk5")


class CutoutFetcher:
    """Download radio (``survey``'s, default FIRST) + WISE W1 cutouts into ``cache`` (files already there are reused)."""

    def __init__(self, cache: str | os.PathLike, *, width_arcmin: float = 3.0, survey: str | Survey = "first") -> None:
        radio = get_survey(survey)
        if radio.skyview is None:
            raise UserError(f"{radio.title} cutouts are not on SkyView; get them from the {radio.cutout_service}")
        side = width_arcmin * 60.0
        # SkyView name, pixels at the native scale (FIRST: 3' = 100 px), file suffix
        self.surveys = {"radio": (radio.skyview, int(round(side / radio.pixel_scale_arcsec)),
                                  "" if radio.name == "first" else f"_{radio.name}"),
                        "ir": ("WISE 3.4", int(round(side / WISE_PIXEL_SCALE)), "_w1")}
        try:
            from astroquery.skyview import SkyView
        except ImportError:
            raise UserError("--fetch needs astroquery: pip install 'claran[fetch]'") from None
        self.skyview = SkyView
        self.cache = Path(cache)
        self.cache.mkdir(parents=True, exist_ok=True)
        self.width = width_arcmin * u.arcmin
        self.failures = 0

    def _get(self, first_id: str, kind: str) -> Path | None:
        survey, pixels, suffix = self.surveys[kind]
        path = self.cache / f"{first_id}{suffix}.fits"
        if path.is_file():
            return path
        try:
            hduls = self.skyview.get_images(position=first_id_to_skycoord(first_id), survey=[survey],
                                            pixels=str(pixels), width=self.width, height=self.width)
        except Exception as e:  # network errors come in many types; one line, keep going
            self.failures += 1
            logger.warning("%s: %s cutout not fetched (%s)", first_id, survey, str(e).splitlines()[0] if str(e) else e)
            return None
        if not hduls:
            return None
        atomic_write(path, lambda tmp: hduls[0].writeto(tmp, overwrite=True, output_verify="silentfix"))
        return path

    def fetch(self, first_id: str) -> tuple[Path | None, Path | None]:
        """(radio path, IR path), None where the server had nothing or the network failed."""
        radio = self._get(first_id, "radio")
        return radio, (self._get(first_id, "ir") if radio is not None else None)
