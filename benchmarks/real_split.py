"""The split of ``mirabest-fields`` between training (real sources injected by ``claran simulate --real-sources``)
and real-sky validation (``benchmarks/real_sky.py``).

Held out: every field that holds, or lies within 3' of, an RGZ DR1 source of ClaRAN's catalogue (the DR1 windows
and class accuracy of real_sky.py are measured there), and a quarter of the others chosen by the file name
(crc32 % 4 == 0; real_sky.py measures MiraBest sizes and FRI/FRII on them). Run as a script it writes the
held-out file names, one per line, for ``claran simulate --exclude-real``::

    python benchmarks/real_split.py heldout.txt

``dr1_folds`` splits the DR1 sources themselves into folds for cross-validation (``benchmarks/dr1_crossval.py``):
a model trained on the RGZ labels of one fold is measured on the others.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MARGIN_ARCSEC = 180.0


def first_id_position(first_id: str) -> tuple[float, float]:
    """FIRSTJhhmmss.s+ddmmss -> (ra, dec) in degrees."""
    s = first_id.split("J", 1)[1]
    k = max(s.find("+"), s.find("-"))
    ra, dec = s[:k], s[k:]
    sign = -1.0 if dec[0] == "-" else 1.0
    return ((float(ra[:2]) + float(ra[2:4]) / 60 + float(ra[4:]) / 3600) * 15.0,
            sign * (float(dec[1:3]) + float(dec[3:5]) / 60 + float(dec[5:]) / 3600))


def heldout_fields(data: Path = DATA) -> set[str]:
    """File names (in ``mirabest-fields/fits``) never used for training."""
    import pandas as pd
    from astropy.io import fits
    from astropy.wcs import WCS

    from rgz.fits_io import pixel_scale_arcsec

    cat = pd.read_csv(data / "claran-labels" / "rgz_dr1_claran_catalogue.csv", usecols=["first_id"])
    pos = np.array([first_id_position(f) for f in cat.first_id.unique()])
    out = set()
    for f in sorted((data / "mirabest-fields" / "fits").glob("*.fits")):
        if zlib.crc32(f.name.encode()) % 4 == 0:
            out.add(f.name)
            continue
        h = fits.getheader(f)
        w = WCS(h).celestial
        scale = pixel_scale_arcsec(w)
        near = (np.abs(pos[:, 1] - h["CRVAL2"]) < 1.0)
        x, y = w.world_to_pixel_values(pos[near, 0], pos[near, 1])
        m = MARGIN_ARCSEC / scale
        if np.any((x > -m) & (y > -m) & (x < h["NAXIS1"] - 1 + m) & (y < h["NAXIS2"] - 1 + m)):
            out.add(f.name)
    return out


def dr1_folds(data: Path = DATA, n: int = 2, link_arcmin: float = 6.0) -> dict[str, int]:
    """FIRST id -> fold (0 .. n-1) of each DR1 source inside a ``mirabest-fields`` image (``real_sky.dr1_sources``).

    Sources closer than ``link_arcmin`` (a large field's side) are one sky region and share a fold, so no
    source, part of a source (DR1 lists some once per component) or field is in two folds; a region's fold is
    the crc32 of its first FIRST id modulo ``n``."""
    from astropy.coordinates import SkyCoord

    from benchmarks.real_sky import dr1_sources

    srcs = dr1_sources(data)
    c = SkyCoord([s["ra"] for s in srcs], [s["dec"] for s in srcs], unit="deg")
    parent = list(range(len(srcs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(srcs)):
        for j in np.flatnonzero(c[i].separation(c[i + 1:]).arcmin < link_arcmin):
            parent[root(i)] = root(i + 1 + int(j))
    regions: dict[int, list[str]] = {}
    for i, s in enumerate(srcs):
        regions.setdefault(root(i), []).append(s["first_id"])
    return {f: zlib.crc32(min(ids).encode()) % n for ids in regions.values() for f in ids}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    names = sorted(heldout_fields())
    Path(sys.argv[1]).write_text("".join(n + "\n" for n in names))
    print(f"{len(names)} held-out fields -> {sys.argv[1]}")
