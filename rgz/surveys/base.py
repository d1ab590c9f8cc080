"""``Survey``: what claran needs to know about a radio survey's images (pixel scale, beam, noise, frequency,
footprint, cutout service), and the registry of known surveys (``rgz.surveys``)."""

from __future__ import annotations

from dataclasses import dataclass

from claran.errors import UserError

__all__ = ["Survey", "register_survey", "get_survey", "survey_names"]


@dataclass(frozen=True, kw_only=True)
class Survey:
    """One survey. Beams are FWHM in arcsec, position angle in degrees east of north; noise in Jy/beam."""

    name: str  # registry key, lower case ("first")
    title: str  # "VLA FIRST"
    telescope: str  # FITS TELESCOP
    frequency_hz: float
    bandwidth_hz: float
    pixel_scale_arcsec: float  # its images' native pixel
    bmaj_arcsec: float
    bmin_arcsec: float
    bpa_deg: float = 0.0
    beam_by_dec: tuple[tuple[float, float, float], ...] = ()  # (dec below which, bmaj, bmin), increasing dec
    rms_jy: float  # typical (median) noise
    rms_range_jy: tuple[float, float]  # the range the simulator draws from
    dec_range_deg: tuple[float, float]  # footprint the simulator places cutouts in
    ra_range_deg: tuple[float, float] = (0.0, 360.0)
    cutout_pixels: int  # the side of a simulated (and fetched) cutout
    # the frame a model trained on this survey sees (RGZ.FRAME_SIZE / RGZ.PIXEL_SCALE when RGZ.SURVEY is set);
    # FIRST's is the RGZ frame: ClaRAN's 132 px PNG of a 3' FIRST cutout
    frame_size: int
    frame_pixel_scale_arcsec: float
    skyview: str | None = None  # the astroquery SkyView survey name of its cutout service, if SkyView serves it
    cutout_service: str = ""  # where to get cutouts otherwise (for error messages and docs)

    def beam_at(self, dec_deg: float) -> tuple[float, float, float]:
        """(bmaj, bmin, bpa) at a declination (FIRST's southern strips have an elongated beam)."""
        for below, bmaj, bmin in self.beam_by_dec:
            if dec_deg < below:
                return bmaj, bmin, self.bpa_deg
        return self.bmaj_arcsec, self.bmin_arcsec, self.bpa_deg


_SURVEYS: dict[str, Survey] = {}


def register_survey(survey: Survey) -> Survey:
    """Make ``survey`` known by its name (``claran simulate --survey NAME``, ``RGZ.SURVEY``)."""
    _SURVEYS[survey.name.lower()] = survey
    return survey


def get_survey(name: str | Survey) -> Survey:
    if isinstance(name, Survey):
        return name
    try:
        return _SURVEYS[str(name).lower()]
    except KeyError:
        raise UserError(f"unknown survey {name!r}; known surveys: {', '.join(survey_names())}") from None


def survey_names() -> list[str]:
    return sorted(_SURVEYS)
