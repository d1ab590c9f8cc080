"""claran: a PyTorch re-implementation of tensorpack's Faster/Mask/Cascade R-CNN examples."""

from .config import Config, ConfigError

__all__ = ["Config", "ConfigError", "build_model", "Predictor", "from_torchvision", "load_model"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # Lazy so that `import claran` (and `claran --help`) stays fast.
    if name == "build_model":
        from .modeling import build_model

        return build_model
    if name == "Predictor":
        from .predictor import Predictor

        return Predictor
    if name == "from_torchvision":
        from .torchvision_compat import from_torchvision

        return from_torchvision
    if name == "load_model":
        from .engine.checkpoint import load_model

        return load_model
    raise AttributeError(f"module 'claran' has no attribute {name!r}")
