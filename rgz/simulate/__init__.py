"""Simulated FIRST-like sky with Radio Galaxy Zoo labels (``claran simulate``).

``simulate_field(rng, SimConfig(), backgrounds)`` draws one cutout and its labels; ``write_dataset`` writes
the RGZ dataset layout of docs/ARCHITECTURE.md.
"""

from ..contours import LabelRules, class_id, count_peaks, find_islands, noise_sigma, source_box
from .beam import Beam, first_beam
from .noise import RealBackgrounds
from .sky import BALANCED_CLASS_WEIGHTS, DR1_CLASS_COUNTS, RANDOMISED, Field, SimConfig, simulate_field
from .writer import write_dataset

__all__ = ["Beam", "first_beam", "LabelRules", "class_id", "count_peaks", "find_islands", "noise_sigma",
           "source_box", "RealBackgrounds", "DR1_CLASS_COUNTS", "BALANCED_CLASS_WEIGHTS", "RANDOMISED", "Field", "SimConfig", "simulate_field",
           "write_dataset"]
