"""VLA FIRST (Becker, White & Helfand 1995): 1.4 GHz, 5.4" beam, 1.8"/px images, ~0.15 mJy/beam rms.
RGZ's radio images are FIRST cutouts (100 px = 3')."""

from .base import Survey, register_survey

FIRST = register_survey(Survey(
    name="first", title="VLA FIRST", telescope="VLA", frequency_hz=1.4e9, bandwidth_hz=2.1875e7,
    pixel_scale_arcsec=1.8, bmaj_arcsec=5.4, bmin_arcsec=5.4,
    beam_by_dec=((-2.5, 6.8, 5.4), (4.5, 6.4, 5.4)),  # elongated N-S in the southern strips
    rms_jy=0.155e-3,  # mirabest-sample MAD: 0.118-0.215 mJy/beam, median 0.156
    rms_range_jy=(0.11e-3, 0.35e-3),
    dec_range_deg=(-10.0, 65.0), ra_range_deg=(110.0, 250.0),  # the north Galactic cap, where RGZ's targets are
    cutout_pixels=100, frame_size=132, frame_pixel_scale_arcsec=1.3748, skyview="VLA FIRST (1.4 GHz)", cutout_service="SkyView (VLA FIRST (1.4 GHz))"))
