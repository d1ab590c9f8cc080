"""Network inputs rendered from a framed radio image (and optionally an infrared image on the same grid).

``render(name, radio, ir=None)`` returns ``H x W x C`` float32 on a 0..255 scale, in the array's own row
order (FITS order if the inputs are in FITS order; rendering never flips). Representations:

- ``D1``: ClaRAN's radio-only input: DS9 ``-scale log -scale mode minmax`` (min-max to [0, 1], then
  ``log10(a x + 1) / log10(a)`` with DS9's a = 1000), grey in three channels.
- ``D3``: ClaRAN's radio contours over the IR image: noise sigma = MAD/0.6745, 14 levels from 5 sigma, each
  twice the previous, drawn 1 px wide in green over the IR (DS9 log min-max, grey). Without IR the contours
  lie on black.
- ``D4``: D3 with the IR outside the convex hull of the radio components' boxes (islands above the lowest
  contour) replaced by a constant (mid grey), as ClaRAN's "ctmask" images.
- ``phys``: our own: channel 0 = radio S/N (data / local noise), asinh-stretched with fixed limits so a
  value keeps its physical meaning across images; channel 1 = IR in units of its own noise above its
  median, stretched the same way (a constant when there is no IR).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from scipy import ndimage

from catalogs.noise import mad_sigma

__all__ = ["REPRESENTATIONS", "render", "estimate_noise", "contour_levels", "radio_components",
           "ds9_log_minmax", "phys_stretch"]

REPRESENTATIONS: dict[str, int] = {"D1": 3, "D3": 3, "D4": 3, "phys": 2}

D3_LOWEST_SIGMA = 5.0
D3_NUM_LEVELS = 14
D3_CONTOUR_RGB = (0.0, 255.0, 0.0)
D4_MASK_VALUE = 127.5
DS9_LOG_EXP = 1000.0

# phys stretch: y = asinh(snr / SOFT), mapped linearly from [asinh(LO/SOFT), asinh(HI/SOFT)] to [0, 255]
PHYS_SOFT = 3.0  # S/N where the stretch turns from linear to logarithmic
PHYS_SNR_RANGE = (-5.0, 3000.0)  # clip limits in S/N (FIRST's brightest sources reach a few thousand)


def _array(x: Any) -> np.ndarray:
    return np.asarray(getattr(x, "data", x), dtype=np.float32)


def estimate_noise(data: Any, *, clip_sigma: float | None = 3.0, max_iters: int = 5) -> float:
    """Robust rms: ``catalogs.noise.mad_sigma`` (MAD/0.6745 over the finite pixels), iteratively sigma-clipped
    so sources do not inflate it; ``clip_sigma=None`` gives ClaRAN's plain MAD/0.6745 of the whole image.
    Returns a positive float (the standard deviation where the MAD is 0, a tiny positive value for a constant
    image, never 0 or NaN): it divides the image.
    """
    v = _array(data)
    # float64 either way, as this function always computed (the plain mad_sigma keeps the input dtype)
    sigma = mad_sigma(v.astype(np.float64), clip_sigma=clip_sigma, max_iters=max_iters)
    if not np.isfinite(sigma) or sigma <= 0:
        finite = v[np.isfinite(v)]
        sigma = float(np.std(finite.astype(np.float64))) if finite.size else 0.0
    return float(sigma) if sigma > 0 else 1e-12


def contour_levels(noise: float, *, lowest_sigma: float = D3_LOWEST_SIGMA, n: int = D3_NUM_LEVELS) -> np.ndarray:
    """ClaRAN's contour levels: ``lowest_sigma * noise * 2**k`` for k = 0..n-1."""
    return lowest_sigma * noise * (2.0 ** np.arange(n))


def radio_components(data: Any, noise: float | None = None, *, lowest_sigma: float = D3_LOWEST_SIGMA,
                     min_pixels: int = 2) -> np.ndarray:
    """Boxes (N x 4, detector x1 y1 x2 y2) of the islands above the lowest contour (ClaRAN's components)."""
    d = _array(data)
    if noise is None:
        noise = estimate_noise(d)
    mask = np.nan_to_num(d, nan=-np.inf) >= lowest_sigma * noise
    lab, n = ndimage.label(mask)
    if n == 0:
        return np.zeros((0, 4), np.float32)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    boxes = [(s[1].start, s[0].start, s[1].stop, s[0].stop)
             for i, s in enumerate(ndimage.find_objects(lab)) if s is not None and sizes[i] >= min_pixels]
    return np.asarray(boxes, np.float32).reshape(-1, 4)


def ds9_log_minmax(data: Any, *, a: float = DS9_LOG_EXP) -> np.ndarray:
    """DS9 log scale with min-max limits, in [0, 1]; NaN -> 0 (the minimum)."""
    d = _array(data)
    finite = np.isfinite(d)
    if not finite.any():
        return np.zeros(d.shape, np.float32)
    lo, hi = float(d[finite].min()), float(d[finite].max())
    x = (np.where(finite, d, lo) - lo) / (hi - lo if hi > lo else 1.0)
    return np.clip(np.log10(a * x + 1.0) / np.log10(a), 0.0, 1.0).astype(np.float32)


def phys_stretch(snr: np.ndarray) -> np.ndarray:
    """S/N -> 0..255 with a fixed asinh stretch (the same S/N gives the same value in every image)."""
    lo, hi = (np.arcsinh(v / PHYS_SOFT) for v in PHYS_SNR_RANGE)
    y = (np.arcsinh(np.nan_to_num(snr, nan=0.0) / PHYS_SOFT) - lo) / (hi - lo)
    return (np.clip(y, 0.0, 1.0) * 255.0).astype(np.float32)


def _grey3(x01: np.ndarray) -> np.ndarray:
    return np.repeat((x01 * 255.0).astype(np.float32)[..., None], 3, axis=2)


def _draw_contours(canvas: np.ndarray, data: np.ndarray, levels: np.ndarray) -> np.ndarray:
    d = np.nan_to_num(data, nan=-np.inf)
    peak = float(d.max())
    for lev in levels:
        if lev > peak:
            break
        mask = (d >= lev).astype(np.uint8)
        cs, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(canvas, cs, -1, D3_CONTOUR_RGB, thickness=1)
    return canvas


def _ir_background(ir: Any, shape: tuple[int, int]) -> np.ndarray:
    if ir is None:
        return np.zeros((*shape, 3), np.float32)
    i = _array(ir)
    if i.shape != shape:
        raise ValueError(f"IR image shape {i.shape} differs from the radio {shape}; frame both on the same grid")
    return _grey3(ds9_log_minmax(i))


def render(name: str, radio: Any, *, ir: Any = None, noise: float | None = None) -> np.ndarray:
    """Render ``radio`` (2-D array or an object with ``.data``) as representation ``name``.

    ``ir``: the infrared image on the same grid (needed for faithful D3/D4; optional for phys).
    ``noise``: the radio rms in the data's units (default: ``estimate_noise``; for tiles of a large image
    pass the noise of the whole image so that all tiles share it).
    """
    if name not in REPRESENTATIONS:
        raise ValueError(f"unknown representation {name!r}; choose one of {', '.join(REPRESENTATIONS)}")
    d = _array(radio)
    if d.ndim != 2:
        raise ValueError(f"radio image must be 2-D, got shape {d.shape}")
    if name == "D1":
        return _grey3(ds9_log_minmax(d))
    if noise is None:
        noise = estimate_noise(d)
    if name in ("D3", "D4"):
        canvas = np.ascontiguousarray(_ir_background(ir, d.shape))
        if name == "D4":
            boxes = radio_components(d, noise)
            keep = np.zeros(d.shape, np.uint8)
            if len(boxes):
                b = boxes.copy()
                b[:, 2:] -= 1  # last covered pixel: fillConvexPoly includes its boundary
                pts = np.concatenate([b[:, [0, 1]], b[:, [2, 1]], b[:, [2, 3]], b[:, [0, 3]]])
                hull = cv2.convexHull(np.round(pts).astype(np.int32))
                cv2.fillConvexPoly(keep, hull, 1)
            canvas[keep == 0] = D4_MASK_VALUE
        return _draw_contours(canvas, d, contour_levels(noise))
    # phys
    out = np.empty((*d.shape, 2), np.float32)
    out[..., 0] = phys_stretch(d / noise)
    if ir is None:
        out[..., 1] = phys_stretch(np.zeros(1))[0]
    else:
        i = _array(ir)
        if i.shape != d.shape:
            raise ValueError(f"IR image shape {i.shape} differs from the radio {d.shape}")
        med = np.nanmedian(i) if np.isfinite(i).any() else 0.0
        out[..., 1] = phys_stretch((i - med) / estimate_noise(i))
    return out
