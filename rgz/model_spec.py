"""The bundled model's path and the RGZ settings a checkpoint carries (representation and frame)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from claran.errors import UserError

from .frame import FrameSpec

__all__ = ["default_model_path", "rgz_settings"]


def default_model_path() -> Path:
    """The bundled default model ``rgz/models/default.pt``; a clear error when it is not installed."""
    p = Path(str(resources.files("rgz") / "models" / "default.pt"))
    if not p.is_file():
        raise UserError(f"no bundled default model ({p} is missing); pass --model CKPT "
                        "(Detector.load('CKPT')) with a checkpoint written by `claran train`")
    return p


def rgz_settings(ckpt: dict) -> dict[str, Any]:
    """Representation and frame from ``ckpt['extra']['rgz']``, falling back to the config's RGZ keys."""
    extra = dict((ckpt.get("extra") or {}).get("rgz") or {})
    cfg_rgz = (ckpt.get("config") or {}).get("RGZ") or {}

    def pick(*names: str, default: Any) -> Any:
        for src in (extra, cfg_rgz):
            for n in names:
                if n in src and src[n] not in (None, ""):
                    return src[n]
        return default

    frame = extra.get("frame") if isinstance(extra.get("frame"), dict) else {}
    return {
        "representation": pick("representation", "REPRESENTATION", default="D1"),
        "frame_size": frame.get("size") or pick("frame_size", "FRAME_SIZE", default=FrameSpec().size),
        "pixel_scale_arcsec": frame.get("pixel_scale_arcsec")
        or pick("pixel_scale_arcsec", "PIXEL_SCALE", "FRAME_PIXEL_SCALE", default=FrameSpec().pixel_scale_arcsec),
    }
