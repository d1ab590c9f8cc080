"""``Detector.detect_many(..., workers=N)``: files spread over N processes, one torch thread each.

A small model on a small frame leaves most of a core idle in torch's intra-op threads (hand-offs cost more
than the work), so on a laptop or a CPU node, N single-thread processes go faster than one N-thread process.
Each worker loads the model once (from the checkpoint the parent's Detector came from); files go out in
chunks so every worker stays busy, and the catalogue keeps the input order.
"""

from __future__ import annotations

import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["detect_in_workers"]

_DETECTOR: Any = None  # the worker's own Detector


def _start(path: str | None, kwargs: dict) -> None:
    global _DETECTOR
    import torch

    torch.set_num_threads(1)
    from .detector import Detector

    _DETECTOR = Detector.load(path, **kwargs)


def _detect(files: list[str], ir: Any, min_score: float) -> tuple:
    res = _DETECTOR.detect_many(files, ir=ir, min_score=min_score)
    return res.table, res.errors, res.wcs, res.n_images


def detect_in_workers(source: tuple[str | None, dict], files: list[str], *, ir: Any, min_score: float,
                      workers: int, batch_size: int, progress: bool = False):
    """``DetectionResult`` of ``files`` computed by ``workers`` processes loading ``source`` = (path, kwargs)."""
    from astropy.table import vstack

    from .detector import DetectionResult, _progress

    size = max(batch_size, math.ceil(len(files) / (4 * workers)))
    chunks = [files[i:i + size] for i in range(0, len(files), size)]
    bar = _progress(len(files), progress)
    parts = []
    # spawn, not fork: a forked child would inherit the parent's torch thread pool and any open handles
    with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=multiprocessing.get_context("spawn"),
                             initializer=_start, initargs=source) as pool:
        for chunk, part in zip(chunks, pool.map(_detect, chunks, [ir] * len(chunks), [min_score] * len(chunks)),
                               strict=True):
            parts.append(part)
            bar.update(len(chunk))
    bar.close()
    tables = [p[0] for p in parts]
    out = DetectionResult(table=vstack(tables, metadata_conflicts="silent") if len(tables) > 1 else tables[0])
    for _, errors, wcs, n in parts:
        out.errors += errors
        out.wcs.update(wcs)
        out.n_images += n
    return out
