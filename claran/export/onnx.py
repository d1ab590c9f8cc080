"""Export a claran model's network parts to one ONNX file (``claran export --format onnx``).

What goes into the graph: every learned part, each as its own subgraph of one ONNX model: the backbone (+FPN),
the RPN head, the box head(s) and predictor(s) (one per cascade stage) and the mask head. What stays in Python
(``claran.modeling``, run by ``claran.export.runtime``): anchors, proposal top-k/NMS, RoIAlign, box decoding,
per-class NMS and mask pasting. Those are data-dependent loops that ONNX would run no faster, and keeping them
means the ONNX Runtime backend shares the torch backend's exact pre- and post-processing.
FrozenBatchNorm is folded into the convolutions before export (as ``claran.Predictor`` does).
"""

from __future__ import annotations

import io
import json
import os
import warnings
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..errors import UserError

__all__ = ["Part", "export_onnx", "onnx_model_proto", "fingerprint", "parts_of", "require"]

OPSET = 17
FORMAT = "claran-onnx-1"


def require(*modules: str) -> None:
    """One clear line when the optional ``onnx`` extra is missing."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise UserError(f"ONNX support needs {' and '.join(missing)}: pip install -e '.[onnx]' "
                        f"(or pip install {' '.join(missing)})")


@dataclass
class Part:
    """One learned module: its attribute path in the model, ONNX input/output names and output nesting."""

    name: str  # attribute path, e.g. "rpn.head" or "roi_heads.box_heads.1"
    inputs: list[str]
    outputs: list[str]
    listed_input: bool  # called with a list of tensors (the RPN head) rather than one tensor
    structure: object  # "T" | {"seq": "list"|"tuple", "items": [...]}


def parts_of(model: nn.Module) -> list[str]:
    """Attribute paths of the learned parts of a ``GeneralizedRCNN`` (the order the forward calls them)."""
    rh = model.roi_heads
    names = ["backbone", "rpn.head"]
    if hasattr(rh, "box_heads"):  # cascade
        for k in range(len(rh.box_heads)):
            names += [f"roi_heads.box_heads.{k}", f"roi_heads.box_predictors.{k}"]
    else:
        names += ["roi_heads.box_head", "roi_heads.box_predictor"]
    if getattr(rh, "mask_head", None) is not None:
        names.append("roi_heads.mask_head")
    return names


def _examples(model: nn.Module) -> dict[str, tuple]:
    """An input for every part, made by running the parts on a small non-square image and three boxes."""
    c = model.pixel_mean.shape[0]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, c, 128, 160, generator=g)
    rh = model.roi_heads
    with torch.no_grad():
        feats = model.backbone(x)
        roi_feats = feats[:4] if model.fpn else feats[-1:]
        rpn_feats = feats if model.fpn else feats[-1:]
        boxes = [torch.tensor([[10.0, 12.0, 70.0, 60.0], [0.0, 0.0, 30.0, 41.0], [50.0, 20.0, 150.0, 110.0]])]
        pooled = rh.box_pooler(roi_feats, boxes)
        ex: dict[str, tuple] = {"backbone": (x,), "rpn.head": (list(rpn_feats),)}
        stages = (list(zip(rh.box_heads, rh.box_predictors)) if hasattr(rh, "box_heads")
                  else [(rh.box_head, rh.box_predictor)])
        for k, (head, _) in enumerate(stages):
            suffix = f"s.{k}" if hasattr(rh, "box_heads") else ""
            h = head(pooled)
            ex[f"roi_heads.box_head{suffix}"] = (pooled,)
            ex[f"roi_heads.box_predictor{suffix}"] = (h.mean((2, 3)) if rh.c4 else h,)
        if getattr(rh, "mask_head", None) is not None:
            m = rh.mask_pooler(roi_feats, boxes)
            ex["roi_heads.mask_head"] = (rh.box_head(m) if rh.c4 else m,)
    return ex


class _Flat(nn.Module):
    """Calls ``module`` with the tensors it expects and returns its outputs flattened to a tuple."""

    def __init__(self, module: nn.Module, listed: bool) -> None:
        super().__init__()
        self.module, self.listed = module, listed

    def forward(self, *xs: torch.Tensor):
        out = self.module(list(xs)) if self.listed else self.module(xs[0])
        return tuple(_flatten(out))


def _flatten(o) -> list[torch.Tensor]:
    if torch.is_tensor(o):
        return [o]
    return [t for item in o for t in _flatten(item)]


def _structure(o):
    if torch.is_tensor(o):
        return "T"
    return {"seq": "list" if isinstance(o, list) else "tuple", "items": [_structure(i) for i in o]}


def fingerprint(model: nn.Module) -> list[float]:
    """Parameter count and float64 sums of all weights: tells whether an ONNX file was made from this model."""
    sd = model.state_dict()
    tensors = [v for v in sd.values() if v.is_floating_point()]
    return [float(sum(v.numel() for v in tensors)), sum(float(v.double().sum()) for v in tensors),
            sum(float(v.double().abs().sum()) for v in tensors)]


def onnx_model_proto(model: nn.Module):
    """The ONNX ModelProto of ``model`` (eval mode, FrozenBN folded, on the CPU): all parts in one graph,
    each part's names prefixed by its attribute path; ``metadata_props`` say how to call each part."""
    require("onnx")
    import onnx
    from onnx import compose, helper

    if getattr(model, "cfg", None) is None or not hasattr(model, "roi_heads"):
        raise UserError("ONNX export needs a model from claran.build_model / load_model / from_torchvision")
    if next(model.parameters()).device.type != "cpu":
        model = model.cpu()
    model = model.eval()
    examples = _examples(model)
    nodes, inputs, outputs, inits, infos, parts = [], [], [], [], [], []
    opsets: dict[str, int] = {}
    for name in parts_of(model):
        module = model.get_submodule(name)
        args = examples[name]
        listed = isinstance(args[0], list)
        flat_in = list(args[0]) if listed else [args[0]]
        with torch.no_grad():
            out = module(*args)
        flat_out = _flatten(out)
        in_names = [f"in{i}" for i in range(len(flat_in))]
        out_names = [f"out{i}" for i in range(len(flat_out))]
        dyn = {n: {0: "batch", 2: f"h{i}", 3: f"w{i}"} if t.dim() == 4 and name in ("backbone", "rpn.head")
               else {0: "batch"} for i, (n, t) in enumerate(zip(in_names, flat_in))}
        dyn.update({n: {d: f"{n}_{d}" for d in range(t.dim())} for n, t in zip(out_names, flat_out)})
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript-based exporter's deprecation and tracer notes
            torch.onnx.export(_Flat(module, listed).eval(), tuple(flat_in), buf, dynamo=False, opset_version=OPSET,
                              input_names=in_names, output_names=out_names, dynamic_axes=dyn,
                              do_constant_folding=True)
        sub = compose.add_prefix(onnx.load_from_string(buf.getvalue()), prefix=f"{name}/")
        g = sub.graph
        nodes += g.node
        inputs += g.input
        outputs += g.output
        inits += g.initializer
        infos += g.value_info
        for op in sub.opset_import:
            opsets[op.domain] = max(opsets.get(op.domain, 0), op.version)
        parts.append(Part(name=name, inputs=[f"{name}/{n}" for n in in_names],
                          outputs=[f"{name}/{n}" for n in out_names], listed_input=listed, structure=_structure(out)))
    graph = helper.make_graph(nodes, "claran", inputs, outputs, initializer=inits, value_info=infos)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()],
                              producer_name="claran")
    proto.ir_version = min(proto.ir_version, 9)  # readable by onnxruntime >= 1.16
    meta = {"claran.format": FORMAT, "claran.parts": json.dumps([asdict(p) for p in parts]),
            "claran.fingerprint": json.dumps(fingerprint(model)), "claran.config": json.dumps(model.cfg.to_dict())}
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=v)
    return proto


def export_onnx(model: nn.Module, path: str | os.PathLike) -> list[Part]:
    """Write ``model`` (FrozenBN folded on a private copy) to ``path`` atomically; returns its parts."""
    import copy

    from ..fileio import atomic_write_bytes

    model = copy.deepcopy(model).cpu().eval()
    if hasattr(model, "fuse_frozen_bn"):
        model.fuse_frozen_bn()
    proto = onnx_model_proto(model)
    atomic_write_bytes(proto.SerializeToString(), path)
    return [Part(**p) for p in json.loads(_meta(proto)["claran.parts"])]


def _meta(proto) -> dict[str, str]:
    return {p.key: p.value for p in proto.metadata_props}
