"""ONNX export and the ONNX Runtime backend (issue 15): same detections and catalogues as the torch backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import claran  # noqa: E402
from claran.errors import UserError  # noqa: E402
from claran.predictor import Predictor  # noqa: E402
from tests.shared_data import shared  # noqa: E402
from tests.test_modeling import CONFIGS, tiny_cfg  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def assert_same(a: dict, b: dict, *, box_tol: float = 0.05, score_tol: float = 1e-3) -> None:
    assert len(a["boxes"]) == len(b["boxes"]) > 0
    np.testing.assert_array_equal(a["labels"], b["labels"])
    np.testing.assert_allclose(a["boxes"], b["boxes"], rtol=0, atol=box_tol)
    np.testing.assert_allclose(a["scores"], b["scores"], rtol=0, atol=score_tol)
    if "masks" in a:
        assert (a["masks"] != b["masks"]).mean() < 0.002


@pytest.mark.parametrize("name", ["fpn-mask", "c4-mask", "cascade-mask", "gn-heads", "1-channel"])
def test_onnxruntime_backend_matches_torch(name):
    """Every architecture (FPN, C4, Cascade, masks, GN heads, 1 channel), two images of different sizes in one
    batch, the caller's model untouched."""
    torch.manual_seed(0)
    model = claran.build_model(tiny_cfg(*CONFIGS[name])).eval()
    c = model.cfg.BACKBONE.IN_CHANNELS
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (96, 130, c), dtype=np.uint8), rng.integers(0, 255, (70, 64, c), dtype=np.uint8)]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ort = Predictor(model, backend="onnxruntime")
    for a, b in zip(Predictor(model).predict_batch(imgs), ort.predict_batch(imgs)):
        assert_same(a, b)
    assert ort.backend == "onnxruntime" and ort.model is not model
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_export_file_roundtrip_and_errors(tmp_path):
    from claran.engine.checkpoint import save_checkpoint
    from cli.main import main

    torch.manual_seed(0)
    cfg = tiny_cfg("MODE_MASK=False")
    model = claran.build_model(cfg).eval()
    ckpt, out = tmp_path / "m.pt", tmp_path / "m.onnx"
    save_checkpoint(ckpt, model=model, cfg=cfg)
    main(["export", "--load", str(ckpt), "--format", "onnx", str(out)])
    img = np.random.default_rng(1).integers(0, 255, (100, 90, 3), dtype=np.uint8)
    assert_same(Predictor(model)(img), Predictor(model, backend="onnxruntime", onnx=out)(img))
    with pytest.raises(SystemExit):  # an existing file is kept unless --overwrite
        main(["export", "--load", str(ckpt), "--format", "onnx", str(out)])
    torch.manual_seed(1)
    other = claran.build_model(cfg).eval()
    with pytest.raises(UserError, match="another model"):
        Predictor(other, backend="onnxruntime", onnx=out)
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    with pytest.raises(UserError, match="bad.onnx"):
        Predictor(model, backend="onnxruntime", onnx=tmp_path / "bad.onnx")
    with pytest.raises(UserError, match="float32 only"):
        Predictor(model, backend="onnxruntime", precision="bf16")
    with pytest.raises(UserError, match="backend='tpu'"):
        Predictor(model, backend="tpu")


@pytest.mark.slow
def test_onnxruntime_gives_torchvisions_r50fpn_detections():
    """A torchvision-converted R50-FPN Mask R-CNN (random weights) through ONNX Runtime vs torchvision itself."""
    import torchvision

    torch.manual_seed(0)
    tv = torchvision.models.detection.maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=4,
                                                            min_size=320, max_size=1000).eval()
    img = np.random.default_rng(1).integers(0, 256, (270, 300, 3), dtype=np.uint8)
    with torch.inference_mode():
        ref = tv([torch.from_numpy(img).permute(2, 0, 1).float() / 255])[0]
    got = Predictor(claran.from_torchvision(tv), backend="onnxruntime")(img)
    masks = ref["masks"][:, 0].numpy() > 0.5
    assert_same(got, {"boxes": ref["boxes"].numpy(), "scores": ref["scores"].numpy(),
                      "labels": ref["labels"].numpy(), "masks": masks})


def _catalogues(files: list[str]):
    from rgz.detector import Detector

    a = Detector.load().detect_many(files).table
    b = Detector.load(backend="onnxruntime").detect_many(files).table
    assert len(a) == len(b) > 0
    assert list(a["morphology"]) == list(b["morphology"]) and list(a["name"]) == list(b["name"])
    for c in ("x_min", "y_min", "x_max", "y_max"):
        np.testing.assert_allclose(a[c], b[c], rtol=0, atol=0.05)
    for c in [c for c in a.colnames if c.startswith("score")]:
        np.testing.assert_allclose(a[c], b[c], rtol=0, atol=1e-3)
    return a


def test_bundled_model_through_onnxruntime_gives_the_same_catalogue_on_the_examples():
    _catalogues(sorted(str(p) for p in (ROOT / "rgz" / "examples").glob("*.fits")))


@pytest.mark.filterwarnings("ignore:.*no beam in the header")
def test_bundled_model_through_onnxruntime_gives_the_same_catalogue_on_real_dev_cutouts():
    _catalogues(sorted(str(p) for p in (shared("rgz-real-dev") / "fits").glob("*.fits")))
