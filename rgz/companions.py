"""Compact sources beside another source: how likely RGZ would have counted them as one.

A 1C_1P row whose nearest other row lies d arcsec away is, in RGZ's labels, a component of a larger source (or
an unlabelled neighbour) with a probability P(d) that falls with d (``LabelRules.companion_*``, measured by
``benchmarks/companions.py``). Its score, the confidence in the source and its class as RGZ would list it, is
scaled by 1 - P(d), and the row is flagged ``possible_component``. The network has already decided to keep
it apart; this only says how often RGZ's volunteers disagreed at that separation.
"""

from __future__ import annotations

import numpy as np

from .contours import LabelRules

__all__ = ["companion_weights"]


def companion_weights(centres_arcsec: np.ndarray, compact: np.ndarray, rules: LabelRules = LabelRules()
                      ) -> np.ndarray:
    """The factor on each source's score: 1 - P(one source) at the distance to its nearest other source for the
    ``compact`` ones (box centres in arcsec on a plane, N x 2), 1 for the others and where off or out of range."""
    c = np.asarray(centres_arcsec, dtype=np.float64).reshape(-1, 2)
    compact = np.asarray(compact, dtype=bool).reshape(-1)
    w = np.ones(len(c))
    if len(c) < 2 or not rules.companion_arcsec or not compact.any():
        return w
    from scipy.spatial import cKDTree  # nearest neighbours: a mosaic's thousands of rows need no N x N matrix

    near = cKDTree(c).query(c[compact], k=2)[0][:, 1]
    p = np.interp(near, rules.companion_arcsec, rules.companion_one_source)
    w[compact] = np.where(near <= rules.companion_max_arcsec, 1.0 - p, 1.0)
    return w
