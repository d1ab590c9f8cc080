"""NRAO VLA Sky Survey (Condon et al. 1998): 1.4 GHz, 45" beam, 15"/px images, ~0.45 mJy/beam rms, dec > -40."""

from .base import Survey, register_survey

NVSS = register_survey(Survey(
    name="nvss", title="NVSS", telescope="VLA", frequency_hz=1.4e9, bandwidth_hz=4.2e7,
    pixel_scale_arcsec=15.0, bmaj_arcsec=45.0, bmin_arcsec=45.0,
    rms_jy=0.45e-3, rms_range_jy=(0.4e-3, 0.6e-3),
    dec_range_deg=(-40.0, 89.0),
    cutout_pixels=48, frame_size=48, frame_pixel_scale_arcsec=15.0,  # 12': a 3' RGZ target is 4 beams across
    skyview="NVSS", cutout_service="SkyView (NVSS)"))
