"""claran.ops == torchvision.ops bit for bit, and what the CLI's start-up imports (issue 15)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision

from claran import ops

ROOT = Path(__file__).resolve().parents[1]


def _boxes(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 100
    return torch.cat([xy, xy + 1 + torch.rand(n, 2, generator=g) * 40], 1)


@pytest.mark.parametrize("n", [0, 7, 300, 2000])  # 2000 boxes: torchvision's per-class loop branch
def test_nms_family_identical(n):
    boxes, scores = _boxes(n, n), torch.rand(n, generator=torch.Generator().manual_seed(1))
    idxs = torch.randint(0, 5, (n,), generator=torch.Generator().manual_seed(2))
    assert torch.equal(ops.nms(boxes, scores, 0.5), torchvision.ops.nms(boxes, scores, 0.5))
    assert torch.equal(ops.batched_nms(boxes, scores, idxs, 0.5), torchvision.ops.batched_nms(boxes, scores, idxs, 0.5))
    assert torch.equal(ops.box_iou(boxes, boxes[:5]), torchvision.ops.box_iou(boxes, boxes[:5]))
    assert torch.equal(ops.clip_boxes_to_image(boxes, (60, 80)), torchvision.ops.clip_boxes_to_image(boxes, (60, 80)))
    assert torch.equal(ops.remove_small_boxes(boxes, 20.0), torchvision.ops.remove_small_boxes(boxes, 20.0))


@pytest.mark.parametrize("aligned", [True, False])
def test_roi_align_and_frozen_bn_identical(aligned):
    x = torch.randn(2, 8, 32, 40, generator=torch.Generator().manual_seed(0))
    boxes = [_boxes(5, 3), _boxes(4, 4)]
    for b in (boxes, torchvision.ops._utils.convert_boxes_to_roi_format(boxes)):
        assert torch.equal(ops.roi_align(x, b, 7, 0.25, 2, aligned),
                           torchvision.ops.roi_align(x, b, 7, 0.25, 2, aligned))
    ours, theirs = ops.FrozenBatchNorm2d(8), torchvision.ops.FrozenBatchNorm2d(8)
    sd = {k: torch.rand(8) + 0.5 for k in ("weight", "bias", "running_mean", "running_var")}
    ours.load_state_dict({**sd, "num_batches_tracked": torch.tensor(3)})
    theirs.load_state_dict(sd)
    assert torch.equal(ours(x), theirs(x))


def test_backward_and_autocast_without_torchvision_imported_first():
    """A fresh process that uses claran.ops before torchvision: roi_align's gradient and CPU bf16 autocast are
    torchvision's (they are registered by torchvision's Python, which claran.ops then imports)."""
    got = _imports("""
import json, torch
from claran import ops
x = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(0), requires_grad=True)
rois = torch.tensor([[0, 1.0, 2.0, 9.0, 12.0]])
ops.roi_align(x, rois, 3, 0.5, 2, True).square().sum().backward()
with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
    bf = ops.roi_align(x.detach().bfloat16(), rois, 3, 0.5, 2, True)
import torchvision
y = x.detach().clone().requires_grad_()
torchvision.ops.roi_align(y, rois, 3, 0.5, 2, True).square().sum().backward()
print(json.dumps({"grad": bool(torch.equal(x.grad, y.grad)) and float(x.grad.abs().sum()) > 0,
                  "bf16": list(bf.shape)}))""")
    assert got == {"grad": True, "bf16": [1, 4, 3, 3]}


def _imports(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cli_help_imports_no_torch():
    got = _imports("import sys, io, contextlib, json\nfrom cli.main import main\n"
                   "with contextlib.redirect_stdout(io.StringIO()):\n"
                   "    try: main(['--help'])\n    except SystemExit: pass\n"
                   "print(json.dumps({'torch': 'torch' in sys.modules}))")
    assert got == {"torch": False}


def test_detect_cli_imports_only_what_detection_needs(tmp_path):
    """`claran detect one.fits -o cat.vot` with the bundled model imports neither torchvision (whose ops import
    torch._dynamo) nor matplotlib, regions or reproject/dask (start-up time; issue 15)."""
    heavy = ("torchvision", "torch._dynamo", "matplotlib", "regions", "reproject", "dask")
    got = _imports("import sys, json\nfrom cli.main import main\n"
                   f"main(['detect', 'rgz/examples/sim_radio_0.fits', '-o', {str(tmp_path / 'c.vot')!r}])\n"
                   f"print(json.dumps({{m: m in sys.modules for m in {heavy!r}}}))")
    assert got == dict.fromkeys(heavy, False)
    assert (tmp_path / "c.vot").is_file()


def test_onnxruntime_backend_without_the_extra_says_how_to_get_it(monkeypatch):
    import importlib.util

    import claran
    from claran.errors import UserError
    from tests.test_modeling import tiny_cfg

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    with pytest.raises(UserError, match=r"onnxruntime: pip install -e '\.\[onnx\]'"):
        claran.Predictor(claran.build_model(tiny_cfg("MODE_MASK=False")), backend="onnxruntime")
