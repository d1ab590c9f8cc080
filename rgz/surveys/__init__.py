"""Radio surveys (``Survey``): pixel scale, beam, noise, frequency, footprint and cutout service, used by the
simulator (``claran simulate --survey``), the cutout fetcher, the reader's default beam and the model spec.

Adding a survey is one new file here that defines and registers a ``Survey``, and one import line below.
"""

from .base import Survey, get_survey, register_survey, survey_names
from .first import FIRST  # each import registers its survey
from .nvss import NVSS
from .vlass import VLASS

__all__ = ["Survey", "get_survey", "register_survey", "survey_names", "FIRST", "NVSS", "VLASS"]
