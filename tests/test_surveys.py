"""rgz.surveys: the survey registry, and the simulator making FIRST-, NVSS- and VLASS-like cutouts from it."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from astropy.io import fits

from claran.errors import UserError
from cli.main import main
from rgz.simulate import SimConfig, first_beam
from rgz.surveys import FIRST, NVSS, VLASS, Survey, get_survey, register_survey, survey_names
from rgz.surveys import base as survey_base


def test_registry_and_first_defaults():
    assert {"first", "nvss", "vlass"} <= set(survey_names())
    assert get_survey("NVSS") is NVSS and get_survey(VLASS) is VLASS
    with pytest.raises(UserError, match="unknown survey 'emu'.*first"):
        get_survey("emu")
    # FIRST's survey gives exactly the simulator's historical defaults, so FIRST cutouts are unchanged
    assert SimConfig.for_survey("first") == SimConfig()
    assert first_beam(-5).bmaj == 6.8 and first_beam(0).bmaj == 6.4 and first_beam(30).bmaj == 5.4


def test_a_new_survey_is_one_registration(monkeypatch):
    monkeypatch.setattr(survey_base, "_SURVEYS", dict(survey_base._SURVEYS))
    emu = register_survey(replace(FIRST, name="emu", title="ASKAP EMU", telescope="ASKAP", frequency_hz=9.44e8,
                                  pixel_scale_arcsec=2.0, bmaj_arcsec=15.0, bmin_arcsec=15.0, beam_by_dec=(),
                                  rms_jy=30e-6, rms_range_jy=(20e-6, 40e-6), dec_range_deg=(-80.0, 20.0)))
    assert get_survey("emu") is emu and isinstance(emu, Survey)
    cfg = SimConfig.for_survey("emu", size=64)
    assert (cfg.survey, cfg.size, cfg.pixel_scale, cfg.rms_median) == ("emu", 64, 2.0, 30e-6)


@pytest.mark.parametrize("survey", ["nvss", "vlass"])
def test_simulate_survey_cutouts(tmp_path, survey):
    s = get_survey(survey)
    out = tmp_path / survey
    main(["simulate", str(out), "--count", "3", "--seed", "1", "--survey", survey])
    coco = json.loads((out / "annotations.json").read_text())
    assert len(coco["images"]) == 3 and coco["annotations"]
    for img in coco["images"]:
        with fits.open(out / img["file_name"]) as hdul:
            h, data = hdul[0].header, hdul[0].data
        assert data.shape == (s.cutout_pixels, s.cutout_pixels)
        assert abs(abs(h["CDELT1"]) * 3600 - s.pixel_scale_arcsec) < 1e-6
        assert abs(h["BMAJ"] * 3600 / s.bmaj_arcsec - 1) < 0.2  # the beam, jittered by a few per cent
        assert h["CRVAL3"] == s.frequency_hz and h["TELESCOP"] == s.telescope
        assert s.dec_range_deg[0] <= h["CRVAL2"] <= s.dec_range_deg[1]
        assert s.rms_range_jy[0] <= h["SIMRMS"] <= s.rms_range_jy[1]
        mad = np.nanmedian(np.abs(data - np.nanmedian(data))) / 0.6745  # the noise level, a source or two inside
        assert 0.5 * h["SIMRMS"] < mad < 3 * h["SIMRMS"]


def test_simulate_rejects_backgrounds_for_other_surveys(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["simulate", str(tmp_path / "x"), "--count", "1", "--survey", "nvss", "--backgrounds", str(tmp_path)])
    assert e.value.code != 0 and "--backgrounds needs FIRST cutouts" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_fetcher_takes_the_survey(tmp_path, monkeypatch):
    import sys
    import types

    from rgz.fetch import CutoutFetcher

    with pytest.raises(UserError, match="VLASS.*not on SkyView.*CIRADA"):
        CutoutFetcher(tmp_path, survey="vlass")
    fake = types.ModuleType("astroquery.skyview")
    fake.SkyView = object()  # never called: nothing downloads in tests
    monkeypatch.setitem(sys.modules, "astroquery", types.ModuleType("astroquery"))
    monkeypatch.setitem(sys.modules, "astroquery.skyview", fake)
    assert CutoutFetcher(tmp_path).surveys == {"radio": ("VLA FIRST (1.4 GHz)", 100, ""), "ir": ("WISE 3.4", 131, "_w1")}
    assert CutoutFetcher(tmp_path, survey="nvss").surveys["radio"] == ("NVSS", 12, "_nvss")
