"""The frozen RGZ model spec: what a trained model needs to read the sky the way it was trained.

``RGZModelSpec`` (input representation, frame, classes, survey, the network's input size) is made from the
training config once (``RGZModelSpec.from_config``), written once into the checkpoint as ``extra["rgz"]``
(``to_extra``) and read back by one function, ``read_model_spec``. Checkpoints written before the spec existed
carry the same flat keys without ``survey`` (the bundled ``rgz/models/default.pt`` is one); checkpoints with
no ``extra["rgz"]`` fall back to the saved config's ``RGZ.*`` keys. Both still load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from claran.errors import CheckpointError, UserError

from . import RGZ_CLASSES
from .frame import FrameSpec
from .surveys import get_survey

__all__ = ["RGZModelSpec", "default_model_path", "read_model_spec"]

SPEC_VERSION = 1


@dataclass(frozen=True)
class RGZModelSpec:
    """How a model sees the sky. ``representation``: rgz.render's name (``png``: ClaRAN's pre-rendered PNGs)."""

    representation: str = "D1"
    frame: FrameSpec = field(default_factory=FrameSpec)
    classes: tuple[str, ...] = RGZ_CLASSES
    survey: str = "first"  # the survey its training images came from (rgz.surveys)
    input_size: int | None = None  # pixels the network saw (the frame upsampled or resized); None: unknown
    # trained with the infrared image in its input; None: not recorded (the Detector decides by representation:
    # D3/D4 draw on it, phys and D1 models are taken as radio-only, as the bundled one is)
    uses_ir: bool | None = None

    @classmethod
    def from_config(cls, cfg: Any, *, representation: str | None = None) -> RGZModelSpec:
        """The spec of a model trained with ``cfg`` (its ``RGZ.*`` keys after presets and overrides)."""
        return cls(representation=representation or str(cfg.RGZ.REPRESENTATION),
                   frame=FrameSpec(int(cfg.RGZ.FRAME_SIZE), float(cfg.RGZ.PIXEL_SCALE)),
                   classes=tuple(RGZ_CLASSES), survey=get_survey(str(cfg.RGZ.SURVEY)).name,
                   input_size=int(cfg.PREPROC.TEST_SHORT_EDGE_SIZE))

    def to_extra(self) -> dict[str, dict[str, Any]]:
        """``checkpoint["extra"]``'s entry; flat keys, as every rgz checkpoint has written them."""
        return {"rgz": {"spec_version": SPEC_VERSION, "representation": self.representation,
                        "frame_size": int(self.frame.size), "pixel_scale_arcsec": float(self.frame.pixel_scale_arcsec),
                        "input_size": self.input_size, "classes": list(self.classes), "survey": self.survey,
                        "uses_ir": self.uses_ir}}


def read_model_spec(ckpt: dict) -> RGZModelSpec:
    """The spec a checkpoint (``claran.engine.checkpoint.load_checkpoint``'s dict) was trained with.

    Raises ``CheckpointError`` for a model that is not an RGZ model (e.g. a COCO one: it would "find" squares
    and discs in the sky)."""
    extra = (ckpt.get("extra") or {}).get("rgz")
    cfg = (ckpt.get("config") or {}).get("RGZ")
    if not extra and not cfg:
        names = [str(n) for n in ckpt.get("class_names") or [] if n != "BG"]
        raise CheckpointError(f"{ckpt.get('path', 'checkpoint')}: not a radio-galaxy model (no RGZ settings; its "
                              f"classes: {', '.join(names[:4]) + (', ...' if len(names) > 4 else '') or 'unknown'}); "
                              "give a checkpoint from `claran train --dataset rgz`")
    if extra:
        src = {"representation": extra.get("representation"), "size": extra.get("frame_size"),
               "scale": extra.get("pixel_scale_arcsec"), "input": extra.get("input_size"),
               "classes": extra.get("classes"), "survey": extra.get("survey"), "uses_ir": extra.get("uses_ir")}
    else:  # no spec written: the training config's own keys
        src = {"representation": cfg.get("REPRESENTATION"), "size": cfg.get("FRAME_SIZE"),
               "scale": cfg.get("PIXEL_SCALE"), "input": ((ckpt.get("config") or {}).get("PREPROC") or {})
               .get("TEST_SHORT_EDGE_SIZE"), "classes": None, "survey": cfg.get("SURVEY"), "uses_ir": None}
    default = RGZModelSpec()
    names = [n for n in ckpt.get("class_names") or [] if n != "BG"]
    return RGZModelSpec(
        representation=str(src["representation"] or default.representation),
        frame=FrameSpec(int(src["size"] or default.frame.size), float(src["scale"] or default.frame.pixel_scale_arcsec)),
        classes=tuple(names or src["classes"] or default.classes),  # the network's own output order first
        survey=str(src["survey"] or default.survey),
        input_size=int(src["input"]) if src["input"] else None,
        uses_ir=None if src["uses_ir"] is None else bool(src["uses_ir"]))


def default_model_path() -> Path:
    """The bundled default model ``rgz/models/default.pt``; a clear error when it is not installed."""
    p = Path(str(resources.files("rgz") / "models" / "default.pt"))
    if not p.is_file():
        raise UserError(f"no bundled default model ({p} is missing); pass --model CKPT "
                        "(Detector.load('CKPT')) with a checkpoint written by `claran train`")
    return p
