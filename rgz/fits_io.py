"""Robust FITS input for radio (and infrared) images.

``read_radio`` returns a 2-D float32 image in FITS order (row 0 = first row of the data array, as astropy
reads it), its 2-D celestial WCS, the beam and the pixel scale. It copes with what real cutout servers and
pipelines write: 4-D WCS keywords on a 2-D image (FIRST cutout server), cubes with degenerate FREQ/STOKES
axes (VLASS, CASA), SkyView headers with tabs in COMMENT cards, images in an extension or a compressed HDU,
scaled integers, NaN blanks, and BUNIT spelled in many ways. Anything else fails with one line naming the
file, the problem and what to do.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS, FITSFixedWarning

from catalogs.sky import pixel_scale_arcsec
from claran.errors import UserError

from .surveys import FIRST

__all__ = [
    "FitsInputError", "Beam", "RadioImage", "read_radio", "read_infrared", "read_image", "FIRST_BEAM_ARCSEC",
    "WISE_W1_PSF_ARCSEC",
]

FIRST_BEAM_ARCSEC = FIRST.bmaj_arcsec  # FIRST's CLEAN beam (circular, northern fields): 5.4"
WISE_W1_PSF_ARCSEC = 6.1


class FitsInputError(UserError):
    """A file that is not a usable image: '<path>: <problem>; <what to do>'."""

    def __init__(self, path: str | Path, problem: str, todo: str = "check the file or give another one"):
        super().__init__(f"{path}: {problem}; {todo}")
        self.path = str(path)


class Beam(NamedTuple):
    bmaj: float  # arcsec, FWHM
    bmin: float  # arcsec, FWHM
    bpa: float = 0.0  # degrees east of north

    @property
    def area_arcsec2(self) -> float:
        """Gaussian beam area in square arcsec."""
        return float(np.pi * self.bmaj * self.bmin / (4 * np.log(2)))


@dataclass
class RadioImage:
    """A 2-D sky image: ``data`` (float32, FITS order, NaN blanks kept) with its celestial ``wcs``."""

    data: np.ndarray
    wcs: WCS
    header: fits.Header = field(repr=False)
    path: str | None = None
    beam: Beam | None = None
    pixel_scale_arcsec: float = 0.0
    bunit: str = "Jy/beam"

    def __post_init__(self) -> None:
        if not self.pixel_scale_arcsec:
            self.pixel_scale_arcsec = pixel_scale_arcsec(self.wcs)

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape  # type: ignore[return-value]

    @property
    def center(self) -> SkyCoord:
        """Sky position of the image centre (astropy pixel ((W-1)/2, (H-1)/2))."""
        h, w = self.data.shape
        return self.wcs.pixel_to_world((w - 1) / 2.0, (h - 1) / 2.0)


# BUNIT spellings -> (canonical unit, factor to it). Uppercase-only headers ("MJY/BEAM") mean mJy: a
# mega-Jansky per beam does not occur in radio data.
_BUNITS = {
    "JY/BEAM": ("Jy/beam", 1.0), "JY/BM": ("Jy/beam", 1.0), "JANSKY/BEAM": ("Jy/beam", 1.0),
    "JY BEAM-1": ("Jy/beam", 1.0), "JY.BEAM-1": ("Jy/beam", 1.0), "JY.BEAM**-1": ("Jy/beam", 1.0),
    "JY/BEAM**-1": ("Jy/beam", 1.0), "JY/B": ("Jy/beam", 1.0),
    "MJY/BEAM": ("Jy/beam", 1e-3), "MJY/BM": ("Jy/beam", 1e-3), "MJY BEAM-1": ("Jy/beam", 1e-3),
    "MJY.BEAM-1": ("Jy/beam", 1e-3), "MILLIJY/BEAM": ("Jy/beam", 1e-3),
    "UJY/BEAM": ("Jy/beam", 1e-6), "UJY/BM": ("Jy/beam", 1e-6), "MUJY/BEAM": ("Jy/beam", 1e-6),
    "UJY BEAM-1": ("Jy/beam", 1e-6), "UJY.BEAM-1": ("Jy/beam", 1e-6),
}

# radio units a radio image may carry that are not Jy/beam: read with a warning (fluxes stay in them)
_RADIO_OTHER = {"K", "MK", "JY/PIXEL", "JY/PIX", "JY", "MJY", "JY/SR", "JY.SR-1", "JY/ARCSEC2", "JY/ARCSEC**2"}
# a Jy/beam image whose noise is above this is not in Jy/beam: no radio survey is that noisy (VLSSr at
# 74 MHz: 0.1 Jy/beam); it is read as mJy/beam with a warning (ATCA ATLAS cutouts: rms 1.09, peak 335)
_JY_BEAM_MAX_NOISE = 0.5

_HISTORY_BEAM = re.compile(r"BMAJ\s*=\s*([-+.\dEeDd]+)\s+BMIN\s*=\s*([-+.\dEeDd]+)\s+BPA\s*=\s*([-+.\dEeDd]+)")


def _normalise_bunit(raw: str | None, path: str, *, radio: bool) -> tuple[str, float]:
    if raw is None or not str(raw).strip():
        if radio:
            warnings.warn(f"{path}: no BUNIT; assuming Jy/beam", stacklevel=3)
            return "Jy/beam", 1.0
        return "", 1.0
    s = " ".join(str(raw).strip().split())
    key = s.upper().replace("JANSKYS", "JY").replace("JANSKY", "JY").replace("BEAMS", "BEAM")
    if key in _BUNITS:
        unit, factor = _BUNITS[key]
        if key.startswith("M") and not key.startswith("MU") and s.startswith("MJy"):
            # "MJy/beam" in mixed case is literally mega-Jansky: refuse rather than guess
            raise FitsInputError(path, f"BUNIT {s!r} (mega-Jansky per beam) is not a radio brightness",
                                 "fix BUNIT in the header (e.g. 'mJy/beam' or 'Jy/beam')")
        return unit, factor
    if radio:
        if key.replace(" ", "") in _RADIO_OTHER:
            warnings.warn(f"{path}: BUNIT {s!r} is a radio unit but not Jy/beam; fluxes stay in it and the "
                          "detector was trained on Jy/beam images", stacklevel=3)
        else:
            raise FitsInputError(path, f"BUNIT {s!r} is not a radio brightness (e.g. an infrared or optical image)",
                                 "give a radio image in Jy/beam (pass infrared images with --ir), or fix BUNIT")
    return s, 1.0  # keep other units (K, Jy/pixel; DN for infrared) as they are


def _beam_from_header(header: fits.Header) -> Beam | None:
    bmaj, bmin = header.get("BMAJ"), header.get("BMIN")
    if isinstance(bmaj, (int, float)) and isinstance(bmin, (int, float)) and bmaj > 0 and bmin > 0:
        bpa = header.get("BPA", 0.0)
        return Beam(float(bmaj) * 3600, float(bmin) * 3600, float(bpa) if isinstance(bpa, (int, float)) else 0.0)
    # AIPS writes the CLEAN beam only into HISTORY: "... BMAJ=  1.5000E-03 BMIN=  1.5000E-03 BPA=   0.00"
    for card in header.get("HISTORY", []):
        m = _HISTORY_BEAM.search(str(card))
        if m:
            vals = [float(v.replace("D", "E").replace("d", "e")) for v in m.groups()]
            if vals[0] > 0 and vals[1] > 0:
                return Beam(vals[0] * 3600, vals[1] * 3600, vals[2])
    return None


def _clean_header(header: fits.Header) -> fits.Header:
    """A copy whose COMMENT/HISTORY cards have no tabs or other non-printables (SkyView), so it can be written."""
    header = header.copy()
    for i, card in enumerate(header.cards):
        if card.keyword in ("COMMENT", "HISTORY", "") and isinstance(card.value, str):
            text = card.value
            if any(not (32 <= ord(c) <= 126) for c in text):
                header[i] = "".join(c if 32 <= ord(c) <= 126 else " " for c in text)
    return header


def _wcs_problem(e: Exception) -> str:
    """wcslib's reason ('Unmatched celestial axes') rather than its 'ERROR 4 in wcs_types() at line ...'."""
    lines = [x.strip() for x in str(e).splitlines() if x.strip()]
    reasons = [x for x in lines if not x.startswith("ERROR ")]
    return (reasons or lines or [type(e).__name__])[0].rstrip(".")


def _pick_hdu(hdul: fits.HDUList, hdu: int | str | None, path: str):
    if hdu is not None:
        try:
            h = hdul[hdu]
        except (KeyError, IndexError):
            raise FitsInputError(path, f"has no HDU {hdu!r} ({len(hdul)} HDUs)", "choose an existing HDU") from None
        if h.data is None or not getattr(h, "is_image", False):
            raise FitsInputError(path, f"HDU {hdu!r} holds no image", "choose the HDU with the image")
        return h
    for h in hdul:
        if getattr(h, "is_image", False) and h.header.get("NAXIS", 0) >= 2 and h.data is not None:
            return h
    raise FitsInputError(path, "has no image HDU (no primary or extension with 2 or more axes)",
                         "give a FITS image, not a table or an empty file")


def read_image(path: str | Path, *, hdu: int | str | None = None, radio: bool = True,
               beam_arcsec: float | tuple[float, ...] | None = None,
               default_beam_arcsec: float | None = FIRST_BEAM_ARCSEC) -> RadioImage:
    """Read any 2-D celestial image; ``read_radio`` and ``read_infrared`` are the public front doors."""
    path = str(path)
    if not Path(path).is_file():
        raise FitsInputError(path, "no such file", "check the path")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyWarning)  # tabs in COMMENT, non-standard cards
            with fits.open(path, memmap=False) as hdul:
                h = _pick_hdu(hdul, hdu, path)
                header = h.header.copy()
                raw = h.data  # for scaled integers astropy applies BSCALE/BZERO (and BLANK -> NaN)
                with np.errstate(over="ignore", invalid="ignore"):
                    data = np.array(raw, dtype=np.float32)
                if raw.dtype.kind == "f" and raw.dtype.itemsize > 4 and np.isinf(data).sum() > np.isinf(raw).sum():
                    big = float(np.nanmax(np.abs(raw[np.isfinite(raw)])))
                    raise FitsInputError(path, f"has pixel values up to {big:.3g}, beyond float32's range",
                                         "rescale the image (e.g. to Jy/beam) and write it again")
                if raw.dtype.kind in "iu" and "BLANK" in header and not ("BSCALE" in header or "BZERO" in header):
                    data[raw == header["BLANK"]] = np.nan
    except FitsInputError:
        raise
    except (OSError, ValueError, TypeError, IndexError, KeyError, EOFError, OverflowError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        if msg.startswith("cannot reshape array"):  # numpy's words for a data block cut short
            msg = f"its data are shorter than NAXISn in the header say; {msg}"
        raise FitsInputError(path, f"is not a readable FITS image ({msg})",
                             "check that the file is a complete FITS file (re-download if truncated)") from None

    # squeeze degenerate axes (FREQ, STOKES of 1 pixel); anything else than 2 real axes is not an image
    nd = data.ndim
    keep = [ax for ax in range(nd) if data.shape[ax] != 1]
    if len(keep) != 2:
        shape = "x".join(str(s) for s in data.shape[::-1])
        raise FitsInputError(path, f"data of shape {shape} (FITS order) is not a 2-D image after dropping"
                             " 1-pixel axes", "extract one plane (channel/Stokes) into its own file")
    fits_axes = sorted(nd - 1 - ax for ax in keep)  # 0-based FITS axis numbers that stay
    data = np.ascontiguousarray(data.reshape([data.shape[ax] for ax in keep]))

    header = _clean_header(header)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            warnings.simplefilter("ignore", AstropyWarning)
            full = WCS(header, naxis=None, fix=True)
    except Exception as e:  # astropy raises many kinds for broken WCS cards
        raise FitsInputError(path, f"has an unusable WCS ({_wcs_problem(e)})",
                             "fix the CTYPE/CRVAL/CRPIX/CDELT keywords") from None
    if not full.has_celestial:
        raise FitsInputError(path, "has no celestial WCS (no RA/DEC or GLON/GLAT axes)",
                             "give an image with sky coordinates in its header")
    lng, lat = full.wcs.lng, full.wcs.lat
    if sorted((lng, lat)) != fits_axes:
        raise FitsInputError(path, f"its celestial axes ({lng + 1}, {lat + 1}) are not the image axes"
                             f" ({fits_axes[0] + 1}, {fits_axes[1] + 1})", "extract a sky plane into its own file")
    wcs = full.celestial  # keeps the pixel-axis order, so DEC-first images stay correct

    finite = np.isfinite(data)
    if not finite.all():
        data[~finite] = np.nan  # +-inf is no brightness: a blank, like NaN
    if not finite.any():
        raise FitsInputError(path, "has no finite pixels (all blank/NaN)", "give an image with data")
    vals = data[finite]
    if vals.min() == vals.max():
        raise FitsInputError(path, f"is blank (every pixel is {vals.min():g})", "give an image with data")

    bunit, factor = _normalise_bunit(header.get("BUNIT"), path, radio=radio)
    if radio and bunit == "Jy/beam":
        from catalogs.noise import mad_sigma

        noise = mad_sigma(vals, clip_sigma=3.0) * factor
        if noise > _JY_BEAM_MAX_NOISE:
            warnings.warn(f"{path}: BUNIT says Jy/beam but the noise would be {noise:.3g} Jy/beam and the peak "
                          f"{float(vals.max()) * factor:.4g} Jy/beam; reading the values as mJy/beam (fix BUNIT "
                          "if they are not)", stacklevel=3)
            factor *= 1e-3
    if factor != 1.0:
        data *= np.float32(factor)

    if beam_arcsec is not None:
        b = (beam_arcsec,) if np.isscalar(beam_arcsec) else tuple(beam_arcsec)  # type: ignore[arg-type]
        beam = Beam(float(b[0]), float(b[1] if len(b) > 1 else b[0]), float(b[2] if len(b) > 2 else 0.0))
    else:
        beam = _beam_from_header(header)
        if beam is None and default_beam_arcsec is not None:
            if radio:
                warnings.warn(f"{path}: no beam in the header (BMAJ/BMIN); assuming FIRST's"
                              f" {default_beam_arcsec}\" circular beam (pass --beam, or default_beam=, to set it)", stacklevel=3)
            beam = Beam(default_beam_arcsec, default_beam_arcsec, 0.0)
    return RadioImage(data=data, wcs=wcs, header=header, path=path, beam=beam, bunit=bunit)


def read_radio(path: str | Path, *, beam_arcsec: float | tuple[float, ...] | None = None,
               hdu: int | str | None = None, default_beam: float | tuple[float, ...] | None = None) -> RadioImage:
    """Read a radio image (Jy/beam). ``beam_arcsec``: bmaj or (bmaj, bmin[, bpa]) overriding the header;
    ``default_beam``: the same, for an image whose header has no beam (``claran detect --beam``; without it
    such an image gets FIRST's 5.4" beam and a warning)."""
    img = read_image(path, hdu=hdu, radio=True, beam_arcsec=beam_arcsec,
                     default_beam_arcsec=None if default_beam is not None else FIRST_BEAM_ARCSEC)
    if img.beam is None and default_beam is not None:
        b = (default_beam,) if np.isscalar(default_beam) else tuple(default_beam)  # type: ignore[arg-type]
        img.beam = Beam(float(b[0]), float(b[1] if len(b) > 1 else b[0]), float(b[2] if len(b) > 2 else 0.0))
    return img


def read_infrared(path: str | Path, *, hdu: int | str | None = None) -> RadioImage:
    """Read an infrared image (WISE W1 in DN); ``beam`` is the PSF (6.1" for W1 unless the header says)."""
    return read_image(path, hdu=hdu, radio=False, default_beam_arcsec=WISE_W1_PSF_ARCSEC)
