"""The one place where detector pixel coordinates and astropy pixel coordinates convert.

Detector (tensorpack/detectron2): continuous coordinates, pixel ``i`` covers ``[i, i+1)``.
astropy (and catalogues): 0-based, pixel centres at integers. Both use x = column, y = row of the data
array as astropy reads it, so the conversion is a shift by half a pixel on both axes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["detector_to_astropy", "astropy_to_detector"]


def detector_to_astropy(xy: np.ndarray) -> np.ndarray:
    """Points or boxes (any shape, last axis x, y[, x, y]) from detector to astropy pixel coordinates."""
    return np.asarray(xy, dtype=np.float64) - 0.5


def astropy_to_detector(xy: np.ndarray) -> np.ndarray:
    """Points or boxes from astropy to detector pixel coordinates."""
    return np.asarray(xy, dtype=np.float64) + 0.5
