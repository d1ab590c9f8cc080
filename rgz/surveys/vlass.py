"""VLA Sky Survey quick-look images (Lacy et al. 2020): 2-4 GHz (3 GHz), ~2.5" beam, 1"/px, ~0.12 mJy/beam rms."""

from .base import Survey, register_survey

VLASS = register_survey(Survey(
    name="vlass", title="VLASS (quick look)", telescope="EVLA", frequency_hz=3.0e9, bandwidth_hz=2.0e9,
    pixel_scale_arcsec=1.0, bmaj_arcsec=2.9, bmin_arcsec=2.3,  # a quick-look image's typical restoring beam
    rms_jy=0.13e-3, rms_range_jy=(0.10e-3, 0.25e-3),
    dec_range_deg=(-40.0, 89.0),
    cutout_pixels=180, frame_size=180, frame_pixel_scale_arcsec=1.0,  # 3', as RGZ's FIRST cutouts
    cutout_service="CIRADA image cutout service (cutouts.cirada.ca); not on SkyView"))
