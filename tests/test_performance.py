"""Guards of the speed paths (issue 7): they must not change results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
EXAMPLES = Path(__file__).resolve().parents[1] / "rgz" / "examples"


def test_worker_processes_give_the_same_catalogue(tmp_path):
    from rgz.detector import Detector

    files = sorted(str(p) for p in EXAMPLES.glob("*.fits")) + [str(tmp_path / "missing.fits")]
    det = Detector.load(batch_size=1)  # one file per chunk: both workers get work
    one, two = det.detect_many(files), det.detect_many(files, workers=2)
    assert len(one.table) > 0 and one.n_images == two.n_images == len(files) - 1
    for col in ("image", "morphology", "ra", "dec", "score", "x_min", "y_max"):
        assert list(one.table[col]) == list(two.table[col]), col
    assert [e[0] for e in two.errors] == [files[-1]] and det.last_errors == two.errors
    pool = det._pool
    assert len(det.detect_many(files[:2], workers=2).table) > 0 and det._pool is pool  # the workers are reused
    det.close()
    assert det._pool is None


def test_workers_need_a_loaded_detector():
    from claran.errors import UserError
    from rgz.detector import Detector

    det = Detector(predictor=lambda x: {}, representation="phys")
    with pytest.raises(UserError, match="Detector.load"):
        det.detect_many([str(p) for p in EXAMPLES.glob("*.fits")], workers=2)


def test_bf16_predictor_gives_the_trained_models_catalogue():
    """bfloat16 convolutions (Predictor(precision="bf16")) on the bundled model: the same sources, classes and
    boxes up to bf16 rounding; the caller's model is left as it was."""
    from claran.errors import UserError
    from claran.predictor import Predictor
    from rgz.detector import Detector

    files = sorted(str(p) for p in EXAMPLES.glob("*.fits"))
    fp32, bf16 = Detector.load(), Detector.load(precision="bf16")
    model = fp32.predictor.model
    assert Predictor(model, precision="bf16").model is not model and model.backbone.body.conv1.weight.is_contiguous()
    a, b = fp32.detect_many(files, min_score=0.5).table, bf16.detect_many(files, min_score=0.5).table
    assert len(a) >= 4 and list(a["morphology"]) == list(b["morphology"])
    for c in ("x_min", "y_min", "x_max", "y_max"):
        np.testing.assert_allclose(a[c], b[c], rtol=0, atol=0.5)
    np.testing.assert_allclose(a["score"], b["score"], rtol=0, atol=0.03)
    with pytest.raises(UserError, match="precision='fp16'"):
        Predictor(model, precision="fp16")


def test_predictor_folds_frozen_bn_without_touching_the_model_or_its_detections():
    import claran
    from claran import Config
    from claran.config import get_preset

    cfg = Config()
    get_preset("tiny")(cfg)
    cfg.MODE_MASK = False
    cfg.DATA.CLASS_NAMES = ["a", "b", "c", "d", "e", "f"]
    cfg.BACKBONE.NORM = "FreezeBN"
    cfg.TEST.RESULT_SCORE_THRESH = 0.0
    cfg.finalize(is_training=False)
    torch.manual_seed(0)
    model = claran.build_model(cfg)
    for m in model.modules():  # non-trivial frozen statistics, so folding really changes the convs
        if isinstance(m, torch.nn.Module) and hasattr(m, "running_var"):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
    keys = set(model.state_dict())
    img = np.random.default_rng(0).integers(0, 255, (96, 120, 3), dtype=np.uint8)
    fast, plain = claran.Predictor(model), claran.Predictor(model, fuse_bn=False)
    assert fast.model is not model and plain.model is model and set(model.state_dict()) == keys
    assert not any(type(m).__name__ == "FrozenBatchNorm2d" for m in fast.model.modules())
    a, b = fast(img), plain(img)
    assert len(b["boxes"]) > 0 and len(a["boxes"]) == len(b["boxes"])
    np.testing.assert_array_equal(a["labels"], b["labels"])
    np.testing.assert_allclose(a["boxes"], b["boxes"], rtol=0, atol=0.05)
    np.testing.assert_allclose(a["scores"], b["scores"], rtol=0, atol=1e-3)


def test_mosaic_tiles_rendered_in_batches_give_the_same_catalogue(tmp_path):
    """detect_many renders a large image's tiles batch by batch (bounded memory): same rows as all at once."""
    files = sorted((DATA / "mirabest-sample").glob("*.fits"))[:1]
    if not files:
        pytest.skip("../shared/data/mirabest-sample not available")
    from claran import Config, Predictor
    from claran.config import get_preset
    from claran.modeling import build_model
    from rgz.detector import Detector

    cfg = Config()
    get_preset("tiny")(cfg)
    cfg.MODE_MASK = False
    cfg.DATA.CLASS_NAMES = ["a", "b", "c", "d", "e", "f"]
    cfg.TEST.RESULT_SCORE_THRESH = 0.0
    cfg.finalize(is_training=False)
    torch.manual_seed(0)
    pred = Predictor(build_model(cfg))
    tables = []
    for bs in (2, 64):  # 9 tiles: lazily in 5 batches, or framed eagerly in the reading thread
        det = Detector(predictor=pred, batch_size=bs)
        res = det.detect_many([str(f) for f in files], min_score=0.0)
        assert not res.errors and res.n_images == 1
        tables.append(res.table)
    assert len(tables[0]) > 0 and len(tables[0]) == len(tables[1])
    for c in ("ra", "dec", "score", "x_min", "y_max"):
        np.testing.assert_allclose(np.asarray(tables[0][c], float), np.asarray(tables[1][c], float), rtol=1e-6)
