"""IAU-style source names."""

from __future__ import annotations

import math

__all__ = ["iau_name"]

PREFIX = "CLARAN"


def iau_name(ra: float, dec: float, *, prefix: str = PREFIX) -> str:
    """``PREFIX Jhhmmss.s+ddmmss`` (J2000) with every field truncated, as the IAU asks, never rounded."""
    if not (math.isfinite(ra) and math.isfinite(dec)):
        raise ValueError(f"cannot name a source at ra={ra}, dec={dec}")
    # integer tenths of a time second and whole arcseconds; the tiny epsilon keeps 12.3 from becoming 12.2999
    t = int(math.floor((ra % 360.0) / 15.0 * 36000.0 + 1e-6)) % (24 * 36000)
    hh, rem = divmod(t, 36000)
    mm, rem = divmod(rem, 600)
    ss, tenths = divmod(rem, 10)
    sign = "-" if dec < 0 else "+"
    a = int(math.floor(abs(dec) * 3600.0 + 1e-6))
    dd, rem = divmod(a, 3600)
    dm, ds = divmod(rem, 60)
    return f"{prefix} J{hh:02d}{mm:02d}{ss:02d}.{tenths:d}{sign}{dd:02d}{dm:02d}{ds:02d}"
