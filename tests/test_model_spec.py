"""rgz.model_spec: the RGZ model spec is written once into a checkpoint and read back by one function; old
checkpoints (the bundled model among them) still load; the rgz family's derived keys come from one place."""

from __future__ import annotations

import pytest

from claran.config import Config
from claran.errors import CheckpointError
from rgz import RGZ_CLASSES
from rgz.frame import FrameSpec
from rgz.model_spec import RGZModelSpec, default_model_path, read_model_spec


def _cfg(**keys) -> Config:
    import rgz.dataset  # noqa: F401  registers the presets
    from claran.config import get_preset

    cfg = Config()
    get_preset("rgz-small")(cfg)
    overrides = [f"{k}={v}" for k, v in keys.items()]
    cfg.update_args(overrides)
    from rgz.config import after_overrides

    after_overrides(cfg, overrides)
    return cfg


def test_bundled_model_and_its_pre_spec_form_read_the_same():
    """The bundled model carries the full spec; the same checkpoint as written before the spec existed (no
    survey, uses_ir or spec_version) still reads, with uses_ir unknown."""
    from dataclasses import replace

    import torch

    ckpt = torch.load(default_model_path(), map_location="cpu", weights_only=False)
    want = RGZModelSpec(representation="phys", frame=FrameSpec(132, 1.3748), classes=RGZ_CLASSES, survey="first",
                        input_size=128, uses_ir=False)
    assert read_model_spec(ckpt) == want
    old = {k: v for k, v in ckpt["extra"]["rgz"].items() if k not in ("survey", "uses_ir", "spec_version")}
    assert read_model_spec(dict(ckpt, extra={"rgz": old})) == replace(want, uses_ir=None)


def test_round_trip_and_survey():
    cfg = _cfg(**{"RGZ.SURVEY": "nvss"})
    spec = RGZModelSpec.from_config(cfg)
    assert (spec.representation, spec.frame, spec.survey, spec.input_size) == ("phys", FrameSpec(48, 15.0), "nvss", 128)
    ckpt = {"extra": spec.to_extra(), "config": cfg.to_dict(), "class_names": ["BG", *RGZ_CLASSES]}
    assert read_model_spec(ckpt) == spec
    # the config's RGZ keys are the training config, not a second copy of the spec: the reader ignores them
    ckpt["config"]["RGZ"]["REPRESENTATION"] = "D3"
    assert read_model_spec(ckpt).representation == "phys"


def test_old_checkpoints_without_extra_read_the_config():
    cfg = _cfg(**{"RGZ.REPRESENTATION": "D1", "RGZ.INPUT_SIZE": 264})
    d = cfg.to_dict()
    del d["RGZ"]["SURVEY"]  # older configs had no survey
    spec = read_model_spec({"config": d, "class_names": ["BG", *RGZ_CLASSES]})
    assert (spec.representation, spec.frame.size, spec.survey, spec.input_size) == ("D1", 132, "first", 264)


def test_not_an_rgz_model():
    with pytest.raises(CheckpointError, match="not a radio-galaxy model.*person, bicycle"):
        read_model_spec({"path": "coco.pt", "config": Config().to_dict(), "class_names": ["BG", "person", "bicycle"]})


def test_derived_keys_come_from_one_place():
    from claran.data import family_after_overrides
    from rgz.config import after_overrides

    assert family_after_overrides("rgz") is after_overrides
    cfg = _cfg()
    assert cfg.BACKBONE.IN_CHANNELS == 2 and cfg.PREPROC.TEST_SHORT_EDGE_SIZE == 128
    cfg.update_args(["RGZ.REPRESENTATION=D3", "RGZ.INPUT_SIZE=256", "PREPROC.MAX_SIZE=300"])
    after_overrides(cfg, ["RGZ.REPRESENTATION=D3", "RGZ.INPUT_SIZE=256", "PREPROC.MAX_SIZE=300"])
    assert cfg.BACKBONE.IN_CHANNELS == 3 and cfg.PREPROC.TEST_SHORT_EDGE_SIZE == 256
    assert cfg.PREPROC.MAX_SIZE == 300  # the user's own value wins


def test_the_survey_sets_the_frame():
    from rgz import FRAME_PIXEL_SCALE, FRAME_SIZE
    from rgz.surveys import FIRST

    assert (FIRST.frame_size, FIRST.frame_pixel_scale_arcsec) == (FRAME_SIZE, FRAME_PIXEL_SCALE) == (132, 1.3748)
    cfg = _cfg(**{"RGZ.SURVEY": "vlass"})
    assert (cfg.RGZ.FRAME_SIZE, cfg.RGZ.PIXEL_SCALE) == (180, 1.0)
    spec = RGZModelSpec.from_config(cfg)
    assert spec.frame == FrameSpec(180, 1.0) and spec.survey == "vlass"
    cfg = _cfg(**{"RGZ.SURVEY": "nvss", "RGZ.FRAME_SIZE": 64})  # an explicit frame size wins
    assert (cfg.RGZ.FRAME_SIZE, cfg.RGZ.PIXEL_SCALE) == (64, 15.0)
