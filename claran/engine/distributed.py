"""torch.distributed helpers: torchrun's environment in, NCCL on GPUs and gloo on CPUs."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["init_distributed", "get_rank", "get_world_size", "is_main_process", "synchronize",
           "all_gather_object", "reduce_mean", "default_device"]


def init_distributed(timeout_s: int = 1800) -> tuple[int, int, torch.device]:
    """Join the process group torchrun describes (``WORLD_SIZE``/``RANK``/``LOCAL_RANK``/``MASTER_ADDR``,
    multi-node included) or run alone. Returns ``(rank, world_size, device)``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local % torch.cuda.device_count())
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo", timeout=timedelta(seconds=timeout_s))
    return get_rank(), get_world_size(), default_device()


def default_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")


def get_rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def get_world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    return get_rank() == 0


def synchronize() -> None:
    if get_world_size() > 1:
        dist.barrier()


def all_gather_object(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (picklable), in rank order, on every rank."""
    if get_world_size() == 1:
        return [obj]
    out: list[Any] = [None] * get_world_size()
    dist.all_gather_object(out, obj)
    return out


def reduce_mean(values: dict[str, float], device: torch.device) -> dict[str, float]:
    """Average scalars over ranks (for logging; every rank must call it at the same step)."""
    if get_world_size() == 1 or not values:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    t /= get_world_size()
    return dict(zip(keys, t.tolist()))
