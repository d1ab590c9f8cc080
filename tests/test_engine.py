"""claran.engine: LR schedule, training in C4/FPN/mask/cascade, COCO evaluation, checkpoints and resume."""

from __future__ import annotations

import json
import logging
import math

import pytest
import torch

from claran.config import Config
from claran.data import get_dataset_family
from claran.engine.checkpoint import find_checkpoints, load_checkpoint, load_model
from claran.engine.evaluator import evaluate_splits
from claran.engine.trainer import LRSchedule, Trainer

CONFIGS = {
    "C4": ["MODE_FPN=False", "MODE_MASK=False"],
    "FPN": ["MODE_MASK=False"],
    "FPN-mask": [],
    "FPN-mask-cascade": ["FPN.CASCADE=True"],
}


def _cfg(data, *overrides, num_devices=1):
    cfg = Config()
    get_dataset_family("coco")(cfg, str(data))
    from claran.config import get_preset

    get_preset("tiny")(cfg)
    cfg.update_args(["DATA.NUM_WORKERS=0", "TRAIN.EVAL_PERIOD=0", "TRAIN.LOG_PERIOD=1", *overrides])
    return cfg.finalize(is_training=True, num_devices=num_devices)


def _steps(logdir):
    return [json.loads(line)["step"] for line in (logdir / "metrics.jsonl").read_text().splitlines()]


def test_lr_schedule_scales_to_total_batch_and_is_pure():
    cfg = Config()
    cfg.update_args(["DATA.CLASS_NAMES=['a']", "TRAIN.LR_SCHEDULE=[800,1600]", "TRAIN.WARMUP=80",
                     "TRAIN.BASE_LR=0.01", "TRAIN.WARMUP_INIT_LR=0.001", "TRAIN.BATCH_PER_DEVICE=1"])
    s8 = LRSchedule(cfg.clone().finalize(num_devices=8))
    s2 = LRSchedule(cfg.clone().finalize(num_devices=2))
    assert (s8.boundaries, s8.warmup, s8.base_lr) == ([800, 1600], 80, 0.01)
    assert (s2.boundaries, s2.warmup, s2.max_steps) == ([3200, 6400], 320, 6400)
    assert s2.base_lr == pytest.approx(0.0025) and s2(0) == pytest.approx(0.00025)
    assert s2(160) == pytest.approx((0.00025 + 0.0025) / 2)  # linear warm-up
    assert s2(320) == pytest.approx(0.0025) and s2(3199) == pytest.approx(0.0025)
    assert s2(3200) == pytest.approx(0.00025) and s2(6399) == pytest.approx(0.00025)
    assert [s2(i) for i in range(0, 6400, 97)] == [LRSchedule(cfg.clone().finalize(num_devices=2))(i)
                                                   for i in range(0, 6400, 97)]
    capped = cfg.clone()
    capped.update_args(["TRAIN.MAX_STEPS=5"])
    assert LRSchedule(capped.finalize(num_devices=2)).max_steps == 5


@pytest.mark.parametrize("name", list(CONFIGS))
def test_train_and_evaluate_each_architecture(name, tiny_coco, tmp_path):
    cfg = _cfg(tiny_coco, "TRAIN.MAX_STEPS=2", "TRAIN.BATCH_PER_DEVICE=2", *CONFIGS[name])
    trainer = Trainer(cfg=cfg, logdir=tmp_path, progress=False)
    assert trainer.train() == 2
    assert [p.name for p in find_checkpoints(tmp_path)] == ["model-2.pt"]
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2] and all(math.isfinite(x["total_loss"]) for x in lines)
    assert ("maskrcnn_loss" in lines[0]) == cfg.MODE_MASK
    model, ckpt = load_model(tmp_path / "model-2.pt")
    assert ckpt["step"] == 2 and ckpt["class_names"] == ["BG", "square", "disc", "triangle"]
    metrics = evaluate_splits(model, ["coco_val2017"], output=str(tmp_path / "res.json"), progress=False)
    m = metrics["coco_val2017"]
    assert len(m) == (24 if cfg.MODE_MASK else 12)
    assert all(-1 <= v <= 1 for v in m.values())
    for d in json.loads((tmp_path / "res.json").read_text()):
        assert d["category_id"] in (2, 5, 9) and ("segmentation" in d) == cfg.MODE_MASK


def test_resume_continues_step_count_and_skips_truncated(tiny_coco, tmp_path, caplog):
    Trainer(cfg=_cfg(tiny_coco, "TRAIN.MAX_STEPS=2", "MODE_MASK=False"), logdir=tmp_path, progress=False).train()
    first = load_checkpoint(tmp_path / "model-2.pt")
    Trainer(cfg=_cfg(tiny_coco, "TRAIN.MAX_STEPS=3", "MODE_MASK=False"), logdir=tmp_path, progress=False).train()
    assert _steps(tmp_path) == [1, 2, 3]
    assert load_checkpoint(tmp_path / "model-3.pt")["optimizer"]["state"]  # momentum carried over
    # a crash while copying left the newest checkpoint truncated: report it, resume from the one before
    data = (tmp_path / "model-3.pt").read_bytes()
    (tmp_path / "model-3.pt").write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="claran"):
        Trainer(cfg=_cfg(tiny_coco, "TRAIN.MAX_STEPS=4", "MODE_MASK=False"), logdir=tmp_path, progress=False).train()
    assert any("model-3.pt" in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)
    assert _steps(tmp_path) == [1, 2, 3, 4]  # the lost step 3 is redone and logged once (metrics.jsonl truncated)
    assert load_checkpoint(tmp_path / "model-4.pt")["step"] == 4
    assert first["step"] == 2


def test_load_initialises_matching_weights(tiny_coco, tmp_path):
    Trainer(cfg=_cfg(tiny_coco, "TRAIN.MAX_STEPS=1", "MODE_MASK=False"), logdir=tmp_path / "a", progress=False).train()
    src = load_checkpoint(tmp_path / "a" / "model-1.pt")["model"]
    trainer = Trainer(cfg=_cfg(tiny_coco, "TRAIN.MAX_STEPS=1", "MODE_MASK=False", "TRAIN.BASE_LR=0.0"),
                      logdir=tmp_path / "b", load=str(tmp_path / "a" / "model-1.pt"), progress=False)
    trainer.train()
    out = load_checkpoint(tmp_path / "b" / "model-1.pt")["model"]
    key = next(k for k, v in src.items() if v.is_floating_point() and "conv" in k)
    assert torch.equal(src[key], out[key])  # LR 0: the loaded weights come back unchanged
