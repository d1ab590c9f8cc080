"""ONNX Runtime backend: a claran model whose learned parts run as ONNX Runtime sessions.

``onnxruntime_model(model)`` returns a private copy of ``model`` in which the backbone, RPN head, box and mask
heads are replaced by ``OrtPart`` modules (one ``InferenceSession`` each, from one ONNX file or an in-memory
export); anchors, proposals, RoIAlign, NMS and post-processing stay claran's own torch code, so
``claran.Predictor(model, backend="onnxruntime")`` pre- and post-processes exactly as the torch backend does.
Tensors cross between torch and ONNX Runtime through numpy without copies (CPU only).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import UserError
from .onnx import FORMAT, Part, fingerprint, onnx_model_proto, parts_of, require

__all__ = ["OrtPart", "onnxruntime_model", "session_options"]


def session_options(threads: int | None = None):
    """Sequential execution on ``threads`` intra-op threads (default: torch's thread count), full graph
    optimisation (conv + activation fusion, NCHWc layouts), no spinning between calls (torch runs between them)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads or torch.get_num_threads())
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3
    return so


class OrtPart(nn.Module):
    """Stands in for one learned module: same call (a tensor, or a list of tensors), same output nesting."""

    def __init__(self, session, part: Part) -> None:
        super().__init__()
        self.session, self.part = session, part

    def forward(self, x):
        xs = list(x) if self.part.listed_input else [x]
        feeds = {n: np.ascontiguousarray(t.detach().float().cpu().numpy()) for n, t in zip(self.part.inputs, xs)}
        outs = iter(torch.from_numpy(o) for o in self.session.run(self.part.outputs, feeds))
        return _rebuild(self.part.structure, outs)

    def extra_repr(self) -> str:
        return f"onnxruntime: {self.part.name}"


def _rebuild(structure, outs):
    if structure == "T":
        return next(outs)
    items = [_rebuild(s, outs) for s in structure["items"]]
    return items if structure["seq"] == "list" else tuple(items)


def _load_proto(path: str | os.PathLike):
    import onnx

    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: ONNX file not found; write one with `claran export --format onnx`")
    try:
        proto = onnx.load(str(p))
    except Exception as e:  # a truncated or foreign file: protobuf's DecodeError and friends
        raise UserError(f"{p}: not a readable ONNX file ({type(e).__name__}); export it again") from None
    meta = {m.key: m.value for m in proto.metadata_props}
    if meta.get("claran.format") != FORMAT:
        raise UserError(f"{p}: not an ONNX file written by `claran export` (no claran metadata)")
    return proto, meta


def _sub_model(proto, part: Part):
    """The subgraph of one part (names carry the ``part.name/`` prefix that the export gave them)."""
    from onnx import helper

    pre = f"{part.name}/"
    g = proto.graph
    graph = helper.make_graph(
        [n for n in g.node if n.output and all(o.startswith(pre) for o in n.output)], part.name,
        [v for v in g.input if v.name.startswith(pre)], [v for v in g.output if v.name.startswith(pre)],
        initializer=[t for t in g.initializer if t.name.startswith(pre)],
        value_info=[v for v in g.value_info if v.name.startswith(pre)])
    sub = helper.make_model(graph, opset_imports=proto.opset_import)
    sub.ir_version = proto.ir_version
    return sub


def onnxruntime_model(model: nn.Module, onnx: str | os.PathLike | None = None, *,
                      threads: int | None = None) -> nn.Module:
    """A copy of ``model`` (eval, FrozenBN folded) whose learned parts run in ONNX Runtime on the CPU.

    ``onnx``: a file from ``claran export`` of this very model (checked by a weight fingerprint); ``None``
    exports in memory (a few seconds for R50-FPN).
    """
    require("onnxruntime", "onnx")
    import onnxruntime as ort

    if next(model.parameters()).device.type != "cpu":
        raise UserError("backend='onnxruntime' runs on the CPU; use backend='torch' on a GPU")
    private = copy.deepcopy(model).eval()
    if hasattr(private, "fuse_frozen_bn"):
        private.fuse_frozen_bn()
    if onnx is None:
        proto = onnx_model_proto(private)
        meta = {m.key: m.value for m in proto.metadata_props}
    else:
        proto, meta = _load_proto(onnx)
        want, got = fingerprint(private), json.loads(meta.get("claran.fingerprint", "[]"))
        if len(got) != len(want) or any(abs(a - b) > 1e-6 * max(1.0, abs(b)) for a, b in zip(got, want)):
            raise UserError(f"{onnx}: exported from another model than this checkpoint; export it again "
                            f"with `claran export --load CKPT --format onnx {onnx}`")
    parts = [Part(**p) for p in json.loads(meta["claran.parts"])]
    if [p.name for p in parts] != parts_of(private):
        raise UserError(f"{onnx}: its parts {[p.name for p in parts]} do not match this model's architecture")
    so = session_options(threads)
    for part in parts:
        sess = ort.InferenceSession(_sub_model(proto, part).SerializeToString(), so,
                                    providers=["CPUExecutionProvider"])
        parent, _, attr = part.name.rpartition(".")
        holder = private.get_submodule(parent) if parent else private
        if isinstance(holder, nn.ModuleList):
            holder[int(attr)] = OrtPart(sess, part)
        else:
            setattr(holder, attr, OrtPart(sess, part))
    private.backend = "onnxruntime"
    return private
