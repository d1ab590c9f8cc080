"""Real FIRST radio galaxies cut out by their islands, to inject into simulated scenes (``--real-sources``).

A MiraBest field (``mirabest-fields/``: ``labels.csv`` and ``fits/``) is centred on one radio galaxy whose
largest angular size is known, so the grouping RGZ's volunteers had to make is given: the galaxy is the set of
islands above RGZ's lowest contour that reach within half its size (plus a beam) of the field centre. Its
pixels (the islands, grown into the faint emission around them that connects to them above 2 sigma, then by
two pixels) minus the field's median become a stamp; everything else in the field (neighbours, noise) is left
behind. ``simulate_field`` places a stamp as the target, rotated, flipped and flux-scaled, on simulated or real
background, and labels it by the same rule as every simulated source, measured on the final image. The
stamp carries its own FIRST noise inside its mask, so the injected source looks as FIRST saw it.
"""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from claran.errors import UserError

from ..contours import Islands, LabelRules, find_islands, group_class, noise_sigma
from ..fits_io import pixel_scale_arcsec

__all__ = ["RealStamp", "RealSources", "centre_source", "cut_source", "GALAXY_MARGIN_ARCSEC"]

GALAXY_MARGIN_ARCSEC = 5.4  # one FIRST beam beyond half the galaxy's largest angular size


@dataclass(frozen=True)
class RealStamp:
    image: np.ndarray  # float32 (h, w) Jy/beam above the field's median, 0 outside the source's mask
    class_id: int  # RGZ class the rule gives the galaxy in its own field
    sigma: float  # the field's MAD noise (Jy/beam)
    name: str


def centre_source(image: np.ndarray, centre_xy: tuple[float, float], radius_px: float,
                  rules: LabelRules = LabelRules()) -> tuple[Islands, list[int], int] | None:
    """The galaxy at ``centre_xy`` (astropy pixel) as RGZ's rule sees it: the image's islands, the ids of those
    reaching within ``radius_px`` of it, and their RGZ class; None when no island is there or no class fits."""
    data = np.asarray(image, dtype=np.float64)
    sigma = noise_sigma(data)
    if not np.isfinite(sigma) or sigma <= 0:
        return None
    isl = find_islands(data, rules, sigma)
    if not isl.count:
        return None
    yy, xx = np.indices(data.shape)
    near = np.hypot(xx - centre_xy[0], yy - centre_xy[1]) <= radius_px
    ids = sorted(set(np.unique(isl.labels[near & (isl.labels > 0)]).tolist()))
    if not ids:
        return None
    cid = group_class(data, isl, ids)
    return None if cid is None else (isl, ids, cid)


def cut_source(image: np.ndarray, centre_xy: tuple[float, float], radius_px: float,
               rules: LabelRules = LabelRules(), *, name: str = "") -> RealStamp | None:
    """The galaxy at ``centre_xy`` (``centre_source``) cut out of ``image`` with its faint surroundings."""
    data = np.asarray(image, dtype=np.float64)
    found = centre_source(data, centre_xy, radius_px, rules)
    if found is None:
        return None
    isl, ids, cid = found
    sigma = isl.sigma
    own = np.isin(isl.labels, ids)
    med = float(np.nanmedian(data))
    faint, _ = ndimage.label(np.nan_to_num(data - med, nan=-np.inf) > 2 * sigma, structure=np.ones((3, 3), bool))
    touching = np.unique(faint[own])
    mask = np.isin(faint, touching[touching > 0]) | own
    others = ndimage.binary_dilation((isl.labels > 0) & ~own, iterations=2)
    mask = ndimage.binary_dilation(mask, iterations=2) & ~others & np.isfinite(data)
    ys, xs = np.nonzero(mask)
    sl = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    stamp = np.where(mask[sl], data[sl] - med, 0.0).astype(np.float32)
    return RealStamp(stamp, cid, sigma, name)


class RealSources:
    """The MiraBest galaxies of a ``mirabest-fields``-like folder (``labels.csv`` + ``fits/``) as stamps.

    ``exclude``: file names to leave out (fields kept for validation). Stamps wider than ``max_side`` pixels are
    dropped (they would not fit a cutout). Reading needs a few seconds per hundred fields.
    """

    def __init__(self, folder: str | Path, *, exclude: frozenset[str] = frozenset(), pixel_scale: float = 1.8,
                 rules: LabelRules = LabelRules(), max_side: int = 80,
                 margin_arcsec: float = GALAXY_MARGIN_ARCSEC):
        from astropy.io import fits
        from astropy.wcs import WCS

        folder = Path(folder)
        table = folder / "labels.csv"
        if not table.is_file():
            raise UserError(f"--real-sources {folder}: no labels.csv; give a mirabest-fields folder "
                            "(labels.csv with file, ra, dec, size_arcsec and fits/)")
        with open(table, newline="") as f:
            rows = [r for r in csv.DictReader(f) if r.get("file") and r["file"] not in exclude]
        self.stamps: list[RealStamp] = []
        for r in rows:
            path = folder / "fits" / r["file"]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    with fits.open(path, memmap=False) as hdul:
                        data = np.squeeze(np.asarray(hdul[0].data, dtype=np.float64))
                        wcs = WCS(hdul[0].header).celestial
                x, y = wcs.world_to_pixel_values(float(r["ra"]), float(r["dec"]))
                size = float(r["size_arcsec"])
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a field that cannot be read is simply not a stamp
            scale = pixel_scale_arcsec(wcs)
            if data.ndim != 2 or abs(scale - pixel_scale) > 0.05 * pixel_scale:
                continue
            s = cut_source(data, (float(x), float(y)), (size / 2 + margin_arcsec) / scale, rules, name=r["file"])
            if s is not None and max(s.image.shape) <= max_side:
                self.stamps.append(s)
        if not self.stamps:
            raise UserError(f"--real-sources {folder}: no usable source in {len(rows)} fields")
        self.by_class = {c: [i for i, s in enumerate(self.stamps) if s.class_id == c] for c in range(1, 7)}

    def __len__(self) -> int:
        return len(self.stamps)

    def sample(self, rng: np.random.Generator, class_id: int) -> tuple[np.ndarray, float] | None:
        """A stamp of ``class_id`` (as measured in its field), randomly flipped and rotated, and its field's
        noise sigma; None if there is none of that class."""
        pool = self.by_class.get(class_id) or []
        if not pool:
            return None
        st = self.stamps[pool[int(rng.integers(len(pool)))]]
        img = st.image
        img = np.rot90(img, int(rng.integers(4)))
        if rng.uniform() < 0.5:
            img = img[:, ::-1]
        if rng.uniform() < 0.5:  # any angle; cubic keeps the peaks' heights
            img = ndimage.rotate(img, float(rng.uniform(0, 90)), reshape=True, order=3, mode="constant")
        return np.ascontiguousarray(img, dtype=np.float64), st.sigma
