"""``Detector.detect_many(..., workers=N)``: files spread over N processes, one torch thread each.

A small model on a small frame leaves most of a core idle in torch's intra-op threads (hand-offs cost more
than the work), so on a laptop or a CPU node, N single-thread processes go faster than one N-thread process.
Each worker loads the model once (from the checkpoint the parent's Detector came from) and the Detector
keeps the pool for its next calls; files go out in chunks so every worker stays busy, and the catalogue
keeps the input order.
"""

from __future__ import annotations

import builtins
import contextlib
import math
import multiprocessing
import sys
import warnings
import weakref
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from claran.errors import UserError

from .batching import progress_bar
from .results import DetectionResult

__all__ = ["WorkerPool"]

_DETECTOR: Any = None  # the worker's own Detector


def _start(detector_cls: type, path: str | None, kwargs: dict) -> None:
    global _DETECTOR
    import torch

    torch.set_num_threads(1)
    _DETECTOR = detector_cls.load(path, **kwargs)  # the class arrives by reference: rgz.parallel never imports it


def _detect(files: list[str], ir: Any, min_score: float):
    """The chunk's result and its warnings' texts (re-issued in the parent: one place prints them, once)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = _DETECTOR.detect_many(files, ir=ir, min_score=min_score)
    return res, [(str(w.message), w.category.__name__) for w in caught]


@contextlib.contextmanager
def _main_not_rerun(detector_cls: type):
    """Start spawned workers without re-running the user's script in them.

    A spawned child imports the parent's ``__main__`` from its file; a plain script without an
    ``if __name__ == "__main__":`` guard would then call ``detect_many`` again in every worker (and
    multiprocessing refuses). The workers need only rgz (the Detector class and ``_start``), so the main module's
    file is hidden from them while they start, as in an interactive session. Not when the Detector class
    itself is defined in ``__main__`` (the workers must import it from there).
    """
    main = sys.modules.get("__main__")
    if main is None or getattr(detector_cls, "__module__", "") == "__main__" or not hasattr(main, "__file__"):
        yield
        return
    saved_file, saved_spec = main.__file__, getattr(main, "__spec__", None)
    try:
        del main.__file__
        main.__spec__ = None
        yield
    finally:
        main.__file__, main.__spec__ = saved_file, saved_spec


class WorkerPool:
    """``workers`` processes that each loaded ``source`` = (checkpoint, Detector.load kwargs) once with
    ``detector_cls.load``; reused across calls (a Jupyter session pays the start-up once). ``close()`` ends
    them; so does garbage collection."""

    def __init__(self, detector_cls: type, source: tuple[str | None, dict], workers: int) -> None:
        self.source, self.workers, self.detector_cls = source, workers, detector_cls
        # spawn, not fork: a forked child would inherit the parent's torch thread pool and any open handles
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start, initargs=(detector_cls, *source))
        weakref.finalize(self, self._pool.shutdown, wait=False, cancel_futures=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def detect(self, files: list[str], *, ir: Any, min_score: float, batch_size: int, progress: bool = False):
        """``DetectionResult`` of ``files``, in their order (the chunks come back in order)."""
        size = max(batch_size, math.ceil(len(files) / (4 * self.workers)))
        chunks = [files[i:i + size] for i in range(0, len(files), size)]
        bar = progress_bar(len(files), progress)
        parts = []
        n = len(chunks)
        try:
            with _main_not_rerun(self.detector_cls):  # the workers start during the map's submissions
                results = self._pool.map(_detect, chunks, [ir] * n, [min_score] * n)
            for chunk, (part, caught) in zip(chunks, results, strict=True):
                parts.append(part)
                for text, kind in caught:
                    warnings.warn(text, getattr(builtins, kind, UserWarning), stacklevel=2)
                bar.update(len(chunk))
        except BrokenProcessPool as e:  # a worker was killed (out of memory?) or could not start
            raise UserError(f"a detect worker process died ({e}); rerun with fewer --workers") from e
        bar.close()
        return DetectionResult.combine(parts)
