"""Model export: ONNX files (``claran export``) and the ONNX Runtime backend of ``claran.Predictor``."""

from .onnx import export_onnx, onnx_model_proto
from .runtime import onnxruntime_model

__all__ = ["export_onnx", "onnx_model_proto", "onnxruntime_model"]
