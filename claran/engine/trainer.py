"""The training loop: tensorpack's schedule and callbacks in plain PyTorch (DDP through torchrun)."""

from __future__ import annotations

import bisect
import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..config import Config
from ..data.dataset import DatasetRegistry
from ..errors import CheckpointError, UserError
from .checkpoint import atomic_write_bytes, find_checkpoints, load_checkpoint, save_checkpoint
from .distributed import init_distributed, reduce_mean, synchronize

__all__ = ["Trainer", "LRSchedule", "find_resume_checkpoint", "load_matching_weights"]

logger = logging.getLogger("claran")


class LRSchedule:
    """tensorpack's schedule as a pure function of the step (so resuming is exact).

    ``TRAIN.LR_SCHEDULE``, ``TRAIN.WARMUP`` and the learning rates are defined for a total batch of 8;
    they are scaled linearly to the real total batch ``NUM_GPUS * BATCH_PER_DEVICE`` (steps by ``8 / B``,
    rates by ``B / 8``). Linear warm-up from ``WARMUP_INIT_LR``, then x0.1 at each boundary.
    """

    def __init__(self, cfg: Config) -> None:
        self.total_batch = int(cfg.TRAIN.NUM_GPUS) * int(cfg.TRAIN.BATCH_PER_DEVICE)
        factor = 8.0 / self.total_batch
        self.base_lr = float(cfg.TRAIN.BASE_LR) / factor
        self.init_lr = float(cfg.TRAIN.WARMUP_INIT_LR) / factor
        self.warmup = int(round(cfg.TRAIN.WARMUP * factor))
        self.boundaries = [int(round(s * factor)) for s in cfg.TRAIN.LR_SCHEDULE]
        self.max_steps = self.boundaries[-1]
        if cfg.TRAIN.MAX_STEPS > 0:
            self.max_steps = min(self.max_steps, int(cfg.TRAIN.MAX_STEPS))

    def __call__(self, step: int) -> float:
        """The learning rate of the update that takes the model from ``step`` to ``step + 1``."""
        lr = self.base_lr * 0.1 ** bisect.bisect_right(self.boundaries[:-1], step)
        if step < self.warmup:
            a = step / self.warmup
            lr = min(lr, self.init_lr * (1 - a) + self.base_lr * a)
        return lr


def find_resume_checkpoint(logdir: str | os.PathLike) -> dict[str, Any] | None:
    """The newest *readable* ``model-<step>.pt`` in ``logdir``; unreadable newer ones are reported and skipped."""
    for path in reversed(find_checkpoints(logdir)):
        try:
            return load_checkpoint(path)
        except CheckpointError as e:
            logger.warning("%s; skipped for resuming", e)
    return None


def load_matching_weights(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Initialise from ``state`` wherever names and shapes agree (tensorpack's SmartInit): a COCO model
    can start an RGZ one whose heads have another number of classes."""
    own = model.state_dict()
    use = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not use:
        raise CheckpointError(f"{source}: no weight fits this model's architecture")
    model.load_state_dict(use, strict=False)
    skipped = [k for k in state if k not in use]
    logger.info("loaded %d tensors from %s (%d not used, %d of the model's left at their init)",
                len(use), source, len(skipped), len(own) - len(use))


class _MetricsWriter:
    """JSON lines in ``LOGDIR/metrics.jsonl``; TensorBoard too when it is installed."""

    def __init__(self, logdir: Path, start: int = 0) -> None:
        self.path = logdir / "metrics.jsonl"
        self._truncate(start)
        self.tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(logdir))
        except Exception:  # tensorboard is optional
            pass

    def _truncate(self, start: int) -> None:
        """After a crash: drop lines past the step we resume from (they are re-done) and a half-written last
        line, so the file holds each step once, in order."""
        if not self.path.is_file():
            return
        lines = self.path.read_text().splitlines(keepends=True)
        keep = []
        for line in lines:
            try:
                if line.endswith("\n") and int(json.loads(line)["step"]) <= start:
                    keep.append(line)
            except (ValueError, KeyError, TypeError):
                pass
        if len(keep) < len(lines):
            atomic_write_bytes("".join(keep).encode(), self.path)
            logger.info("%s: dropped %d line(s) after step %d (re-done now)", self.path, len(lines) - len(keep), start)

    def write(self, step: int, values: dict[str, float]) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps({"step": step, **values}) + "\n")
        if self.tb is not None:
            for k, v in values.items():
                if v is not None:
                    self.tb.add_scalar(k, v, step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


class Trainer:
    """Train ``build_model(cfg)`` on ``cfg.DATA.TRAIN``.

    ``cfg`` is finalized here with the number of processes torchrun started. ``load`` initialises weights;
    a readable checkpoint already in ``logdir`` takes precedence (automatic resume, like tensorpack).
    """

    def __init__(
        self, *, cfg: Config, logdir: str | os.PathLike, load: str | None = None, resume: bool = True,
        keep_checkpoints: int = 5, progress: bool = True, extra: dict[str, Any] | None = None,
    ) -> None:
        self.rank, self.world_size, self.device = init_distributed()
        if not cfg.frozen:
            cfg.finalize(is_training=True, num_devices=self.world_size)
        self.cfg = cfg
        self.logdir = Path(logdir)
        self.load, self.resume = load, resume
        self.keep_checkpoints = keep_checkpoints
        self.progress = progress
        self.extra = dict(extra or {})
        for name in cfg.DATA.TRAIN:  # a dataset family's own metadata travels in the checkpoint
            meta = DatasetRegistry.get_metadata(name, "checkpoint_extra")  # a dict, or a function read now
            self.extra.update((meta() if callable(meta) else meta) or {})
        self.schedule = LRSchedule(cfg)

    # ------------------------------------------------------------------ setup
    def _build(self) -> int:
        from ..modeling import build_model

        cfg = self.cfg
        torch.manual_seed(int(cfg.TRAIN.SEED) + self.rank)
        model = build_model(cfg)
        start = 0
        ckpt = find_resume_checkpoint(self.logdir) if self.resume else None
        if ckpt is not None:
            try:
                model.load_state_dict(ckpt["model"])
            except RuntimeError:  # the logdir holds another run: say so rather than print torch's key lists
                raise CheckpointError(
                    f"{ckpt['path']}: --logdir holds a checkpoint of another architecture than this config; "
                    "train into a new --logdir (or use the same --preset/--config to resume)") from None
            start = int(ckpt["step"])
            logger.info("resuming from %s at step %d", ckpt["path"], start)
        elif self.load and str(self.load).lower().endswith(".npz"):  # tensorpack's model zoo
            from ..tensorpack_weights import load_tensorpack_npz

            load_tensorpack_npz(model, str(self.load), what="--load", skip_mismatched=True)
        elif self.load:
            load_matching_weights(model, load_checkpoint(self.load)["model"], self.load)
        cuda = self.device.type == "cuda"
        if cfg.BACKBONE.NORM == "SyncBN" and self.world_size > 1:
            if cuda:
                model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
            else:
                logger.warning("BACKBONE.NORM=SyncBN: SyncBatchNorm needs GPUs; each CPU process normalises alone")
        model.to(self.device)
        if cuda:
            model.to(memory_format=torch.channels_last)
        model.train()
        decay, no_decay = [], []
        for p in model.parameters():  # tensorpack regularises weights, not biases or norm parameters
            if p.requires_grad:
                (decay if p.ndim > 1 else no_decay).append(p)
        self.optimizer = torch.optim.SGD(
            [{"params": decay, "weight_decay": float(cfg.TRAIN.WEIGHT_DECAY)}, {"params": no_decay, "weight_decay": 0.0}],
            lr=self.schedule(start), momentum=0.9,
        )
        if ckpt is not None and ckpt.get("optimizer"):
            self.optimizer.load_state_dict(ckpt["optimizer"])
        self.model = model
        if self.world_size > 1:
            # every head's loss stays connected to its parameters (x0 when empty), so no unused-parameter scan
            self.model = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[self.device.index] if cuda else None, find_unused_parameters=False)
        self.amp = bool(cfg.TRAIN.AMP) and cuda
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        return start

    # ------------------------------------------------------------------ loop
    def train(self) -> int:
        """Run to the end of the schedule (or ``TRAIN.MAX_STEPS``); returns the final step."""
        from ..data.loader import build_train_loader

        cfg = self.cfg
        main = self.rank == 0
        if main:
            self.logdir.mkdir(parents=True, exist_ok=True)
            for stale in self.logdir.glob(".model-*.pt.*.tmp"):  # a checkpoint being written when a run was killed
                stale.unlink(missing_ok=True)
        start = self._build()
        total = self.schedule.max_steps
        if start >= total:
            logger.info("%s already holds a checkpoint at step %d (the schedule ends at %d): nothing to do",
                        self.logdir, start, total)
            return start
        loader, n_images = build_train_loader(cfg, rank=self.rank, world_size=self.world_size, start_step=start)
        steps_per_epoch = int(cfg.TRAIN.STEPS_PER_EPOCH)
        ckpt_every = max(1, int(cfg.TRAIN.CHECKPOINT_PERIOD) * steps_per_epoch)
        eval_every = int(cfg.TRAIN.EVAL_PERIOD) * steps_per_epoch
        log_every = max(1, int(cfg.TRAIN.LOG_PERIOD))
        writer = _MetricsWriter(self.logdir, start) if main else None
        if main:
            logger.info("training %d images on %d process(es) x %d images/step: steps %d -> %d, base LR %.4g",
                        n_images, self.world_size, cfg.TRAIN.BATCH_PER_DEVICE, start, total, self.schedule.base_lr)
        bar = tqdm(total=total, initial=start, disable=not (main and self.progress), dynamic_ncols=True, desc="train")
        data_iter = iter(loader)
        t0 = time.perf_counter()
        try:
            for step in range(start, total):
                lr = self.schedule(step)
                for g in self.optimizer.param_groups:
                    g["lr"] = lr
                t_data = time.perf_counter()
                batch = next(data_iter)
                while not batch:  # every image of the batch failed to load (reported): take the next
                    batch = next(data_iter)
                t_data = time.perf_counter() - t_data
                # anchor/RoI sampling draws from torch's RNG: a function of (seed, rank, step) like the LR
                # and the data stream, so a resumed run redoes a lost step exactly
                torch.manual_seed(int(np.random.SeedSequence([int(cfg.TRAIN.SEED), self.rank, step]).generate_state(1)[0]))
                losses = self._step(batch, step)
                done = step + 1
                bar.update(1)
                if done % log_every == 0 or done == total or done == start + 1:
                    values = reduce_mean(losses, self.device)
                    values.update(lr=lr, data_time=t_data, time=time.perf_counter() - t0)
                    if main:
                        bar.set_postfix(loss=f"{values['total_loss']:.3f}", lr=f"{lr:.2e}")
                        writer.write(done, values)
                if done % ckpt_every == 0 or done == total:
                    self.save(done)
                if eval_every > 0 and (done % eval_every == 0 or done == total) and cfg.DATA.VAL:
                    self.evaluate(done, writer)
        finally:
            bar.close()
            if writer is not None:
                writer.close()
            del data_iter
        return total

    def _step(self, batch: list[dict], step: int) -> dict[str, float]:
        images = [b["image"].to(self.device, non_blocking=True) for b in batch]
        targets = [{k: v.to(self.device, non_blocking=True) for k, v in b["target"].items()} for b in batch]
        with torch.autocast("cuda", dtype=torch.float16, enabled=self.amp):
            loss_dict = self.model(images, targets)
        loss = sum(loss_dict.values())
        if not torch.isfinite(loss):
            raise UserError(f"training diverged: the loss is {loss.item()} at step {step + 1}; "
                            "lower TRAIN.BASE_LR or lengthen TRAIN.WARMUP")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        out = {k: float(v.detach()) for k, v in loss_dict.items()}
        out["total_loss"] = float(loss.detach())
        return out

    # ------------------------------------------------------------------ callbacks
    def save(self, step: int) -> None:
        """Rank 0 writes ``LOGDIR/model-<step>.pt`` atomically and keeps the newest few."""
        if self.rank == 0:
            path = self.logdir / f"model-{step}.pt"
            save_checkpoint(path, model=self.model, cfg=self.cfg, step=step, optimizer=self.optimizer, extra=self.extra)
            for old in find_checkpoints(self.logdir)[: -self.keep_checkpoints]:
                old.unlink(missing_ok=True)
            logger.info("saved %s", path)
        synchronize()

    def evaluate(self, step: int, writer: _MetricsWriter | None) -> dict[str, dict[str, float]]:
        from .evaluator import evaluate_splits

        metrics = evaluate_splits(self.model, list(self.cfg.DATA.VAL), progress=self.progress)
        if self.rank == 0:
            for name, m in metrics.items():
                clean = {f"{name}/{k}": (v if math.isfinite(v) else None) for k, v in m.items()}
                if writer is not None:
                    writer.write(step, clean)
                logger.info("step %d %s: bbox AP %.4f", step, name, m.get("mAP(bbox)/IoU=0.5:0.95", float("nan")))
        synchronize()
        return metrics
