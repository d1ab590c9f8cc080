"""FIRST-like noise and artefacts: beam-correlated noise, real-noise backgrounds cut from real FIRST images,
sidelobe spokes around bright sources, faint stripes, CLEAN bias and NaN edges."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from scipy import ndimage, signal

from catalogs.noise import mad_sigma
from claran.errors import UserError

from .beam import Beam

__all__ = ["correlated_noise", "RealBackgrounds", "sidelobes", "stripes", "clean_bias", "nan_edge"]


def correlated_noise(rng: np.random.Generator, shape: tuple[int, int], *, rms: float, beam: Beam,
                     pixel_scale: float) -> np.ndarray:
    """Gaussian noise whose autocorrelation is the beam (white noise convolved with beam/sqrt(2)), std = ``rms``.

    Measured on mirabest-sample: real FIRST noise ACF at lags 1/2/3 px is 0.77/0.41/0.27; the beam's own
    shape gives 0.73/0.29/0.06 and white noise convolved with the full beam 0.86/0.55/0.27.
    """
    # A quarter of the variance is broader (2.5 beams: FIRST's sidelobe/calibration residue) to match the tail.
    out = np.zeros(shape)
    for width, var in ((1.0, 0.75), (2.5, 0.25)):
        b = Beam(bmaj=beam.bmaj * width / np.sqrt(2), bmin=beam.bmin * width / np.sqrt(2), bpa=beam.bpa)
        k = b.kernel(pixel_scale)
        pad = k.shape[0] // 2
        white = rng.standard_normal((shape[0] + 2 * pad, shape[1] + 2 * pad))
        out += signal.fftconvolve(white, k, mode="valid") * (np.sqrt(var) / np.sqrt(np.sum(k**2)))
    return out * rms


class RealBackgrounds:
    """Source-free noise fields from real FIRST images (e.g. ../shared/data/mirabest-sample).

    Sources (islands above 4 sigma, grown by 3 beams) are replaced by beam-correlated noise of the local rms,
    so what remains is FIRST's own noise: its level, correlation, stripes and the sidelobes of the masked
    sources. Crops are taken at random positions with random 90-degree rotations and flips.
    """

    def __init__(self, folder: str | Path, *, exclude: set[str] | frozenset[str] = frozenset(),
                 pixel_scale: float = 1.8, max_masked: float = 0.35):
        folder = Path(folder)
        files = sorted(p for p in folder.glob("*.fits") if p.name not in exclude) if folder.is_dir() else []
        if not files:
            raise UserError(f"--backgrounds {folder}: no .fits images found; give a folder of FIRST images")
        self.fields: list[np.ndarray] = []
        self.masks: list[np.ndarray] = []
        self.names: list[str] = []
        rng = np.random.default_rng(0)
        for p in files:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    with fits.open(p, memmap=False) as hdul:
                        data = np.squeeze(np.asarray(hdul[0].data, dtype=np.float64))
                        cdelt = abs(float(hdul[0].header.get("CDELT2", pixel_scale / 3600))) * 3600
            except (OSError, ValueError, TypeError) as e:
                raise UserError(f"--backgrounds {p}: cannot read it as FITS ({e}); remove it or fix it") from e
            if data.ndim != 2 or abs(cdelt - pixel_scale) > 0.05 * pixel_scale:
                continue  # another survey or pixel scale: not a FIRST background at this scale
            self._add(rng, data, pixel_scale, p.name)
        if not self.fields:
            raise UserError(f"--backgrounds {folder}: no 2-D images at {pixel_scale}\"/px; give FIRST images")
        self.max_masked = max_masked

    def _add(self, rng, data: np.ndarray, pixel_scale: float, name: str) -> None:
        finite = np.isfinite(data)
        med = np.median(data[finite])
        sigma = mad_sigma(data)
        src = ndimage.binary_dilation(np.nan_to_num(data - med) > 4 * sigma, iterations=5)
        filled = np.where(src | ~finite,
                          correlated_noise(rng, data.shape, rms=sigma, beam=Beam(), pixel_scale=pixel_scale),
                          data - med)
        self.fields.append(filled)
        self.masks.append(src)
        self.names.append(name)

    def __len__(self) -> int:
        return len(self.fields)

    def sample(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """A random real-noise crop of ``shape`` (Jy/beam, median ~0)."""
        for _ in range(50):
            i = int(rng.integers(len(self.fields)))
            f, m = self.fields[i], self.masks[i]
            if f.shape[0] < shape[0] or f.shape[1] < shape[1]:
                continue
            y = int(rng.integers(f.shape[0] - shape[0] + 1))
            x = int(rng.integers(f.shape[1] - shape[1] + 1))
            if m[y : y + shape[0], x : x + shape[1]].mean() > self.max_masked:
                continue
            crop = f[y : y + shape[0], x : x + shape[1]]
            k = int(rng.integers(4))
            crop = np.rot90(crop, k) if shape[0] == shape[1] else crop
            return np.array(crop[:, ::-1] if rng.uniform() < 0.5 else crop)
        raise UserError("--backgrounds: no image is large and source-free enough for the requested --size")


def sidelobes(rng: np.random.Generator, shape: tuple[int, int], x0: float, y0: float, peak: float, *,
              beam: Beam, pixel_scale: float, level: tuple[float, float] = (0.002, 0.012)) -> np.ndarray:
    """Snapshot-VLA dirty-beam residuals around a bright source: six long spokes (the Y array's 3 arms), rippled
    and fading slowly with radius (in real FIRST they cross the whole 3' field), at ``level`` of the peak,
    smoothed by the beam."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    dx, dy = xx - x0, yy - y0
    r = np.hypot(dx, dy) + 1e-6
    out = np.zeros(shape)
    base = rng.uniform(0, np.pi / 3)
    lam = rng.uniform(5.0, 12.0)  # px between ripples
    for k in range(3):
        a = base + k * np.pi / 3
        along = dx * np.cos(a) + dy * np.sin(a)
        perp = -dx * np.sin(a) + dy * np.cos(a)
        spoke = np.exp(-0.5 * (perp / rng.uniform(0.8, 1.6)) ** 2)
        out += spoke * np.cos(2 * np.pi * along / lam + rng.uniform(0, 2 * np.pi))
    out *= (r > 3) / (1 + r / rng.uniform(10, 40))
    out = ndimage.gaussian_filter(out, beam.bmin / pixel_scale / 2.3548)
    return out * peak * rng.uniform(*level) / max(np.abs(out).max(), 1e-12)


def stripes(rng: np.random.Generator, shape: tuple[int, int], *, rms: float) -> np.ndarray:
    """Faint parallel stripes across the field (sidelobes of a bright source outside the cutout)."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    a = rng.uniform(0, np.pi)
    u = xx * np.cos(a) + yy * np.sin(a)
    return rms * rng.uniform(0.2, 0.6) * np.cos(2 * np.pi * u / rng.uniform(6, 20) + rng.uniform(0, 2 * np.pi))


def clean_bias(model: np.ndarray, *, bias: float, rms: float) -> np.ndarray:
    """FIRST's CLEAN bias: CLEANed emission (above ~5 sigma) comes out ``bias`` Jy/beam too faint."""
    return -bias * np.clip(model / (5 * rms), 0.0, 1.0)


def nan_edge(rng: np.random.Generator, image: np.ndarray, *, max_width: int) -> np.ndarray:
    """Blank a band along one edge (a cutout at the edge of the survey coverage), as the cutout server does."""
    out = image.copy()
    w = int(rng.integers(3, max_width + 1))
    side = int(rng.integers(4))
    if side == 0:
        out[:w] = np.nan
    elif side == 1:
        out[-w:] = np.nan
    elif side == 2:
        out[:, :w] = np.nan
    else:
        out[:, -w:] = np.nan
    return out
