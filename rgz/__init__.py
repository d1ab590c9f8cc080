"""rgz: the astronomy layer of claran (FITS input, RGZ frame and classes, simulator, Detector)."""

from .surveys import FIRST

RGZ_CLASSES = ("1C_1P", "1C_2P", "1C_3P", "2C_2P", "2C_3P", "3C_3P")  # ids 1..6; background is 0
FRAME_SIZE = FIRST.frame_size  # 132 pixels: the RGZ frame, ClaRAN's PNG of a 3' FIRST cutout
FRAME_PIXEL_SCALE = FIRST.frame_pixel_scale_arcsec  # 1.3748 arcsec per pixel (3' x 3')
# Catalogue threshold of `claran detect` / Detector.detect: low enough that real but modest-scoring sources
# stay in (users cut on `score`); VOC AP, the project's accuracy measure, only grows as it drops.
DEFAULT_MIN_SCORE = 0.25


def __getattr__(name: str):
    # Lazy: `from rgz import Detector` should not import torch until it is used.
    if name == "Detector":
        from .detector import Detector

        return Detector
    raise AttributeError(name)
