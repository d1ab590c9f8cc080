"""Detector: FITS radio images (and optionally an infrared image) -> a catalogue of radio sources.

    from rgz import Detector
    det = Detector.load()                      # the bundled default model, or Detector.load("model.pt")
    table = det.detect("cutout.fits")          # astropy Table: one row per source (see catalogs.schema)
    det.plot("cutout.fits", table)             # matplotlib Figure for Jupyter

Every image is resampled onto the model's frame (ClaRAN: 132 px at 1.3748"/px). Images larger than a frame
are tiled with overlap (``rgz.frame.tiles``); all tiles of all files are batched through
``Predictor.predict_batch`` (``rgz.batching``). Boxes go back to each input image through the sky;
duplicates (across classes, and across tiles) are merged by NMS on boxes in a sky tangent plane centred on
the image, and the merged group gives each source its per-class scores (``rgz.merge``). A file that cannot be
used is named with a one-line reason and skipped; the others are processed.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table

from claran.errors import CheckpointError, UserError

from . import DEFAULT_MIN_SCORE, RGZ_CLASSES
from .batching import Pending, find_fits, prepare, run_batches
from .contours import LabelRules
from .frame import FrameSpec
from .merge import finish
from .model_spec import RGZModelSpec, default_model_path, read_model_spec
from .plotting import plot_file
from .render import REPRESENTATIONS
from .results import DetectionResult

__all__ = ["Detector", "DetectionResult", "DEFAULT_MIN_SCORE", "CLASS_MODES", "default_model_path", "find_fits"]

CLASS_MODES = ("contours", "network")
BOX_MODES = ("contours", "network")


class Detector:
    """A trained model plus what it needs to read sky images: representation, frame and class names."""

    def __init__(self, *, predictor: Callable, class_names: Sequence[str] = RGZ_CLASSES,
                 representation: str = "D1", spec: FrameSpec = FrameSpec(), overlap: float = 0.25,
                 batch_size: int = 8, nms_thresh: float = 0.5, edge_penalty: float = 0.5,
                 classes: str = "contours", tta: bool = False, beam: float | tuple[float, ...] | None = None,
                 uses_ir: bool | None = None, boxes: str = "contours", rules: LabelRules = LabelRules()) -> None:
        if representation not in REPRESENTATIONS:
            raise CheckpointError(f"unknown input representation {representation!r}; "
                                  f"expected one of {', '.join(REPRESENTATIONS)}")
        self.predictor = predictor
        self.class_names = tuple(class_names)
        self.representation = representation
        self.spec = spec
        self.overlap = overlap
        self.batch_size = batch_size
        self.nms_thresh = nms_thresh
        self.edge_penalty = edge_penalty  # NMS priority of boxes cut by an inner tile edge
        if classes not in CLASS_MODES:
            raise UserError(f"classes={classes!r}: expected one of {', '.join(CLASS_MODES)}")
        # "contours": the network finds and groups each source; RGZ's rule (islands above the lowest contour,
        # peaks in the contour tree) counts its components and peaks. "network": the network's own class.
        self.classes = classes
        if boxes not in BOX_MODES:
            raise UserError(f"boxes={boxes!r}: expected one of {', '.join(BOX_MODES)}")
        # with contour classes, "contours" draws each source's box around its islands' contours as RGZ's boxes
        # are drawn; "network" keeps the network's box
        self.boxes = boxes
        self.rules = rules
        self.tta = tta  # test-time augmentation: 8 rotations/flips per frame, fused (rgz.tta); 8x the model time
        self.beam = beam  # arcsec: bmaj or (bmaj, bmin[, bpa]) for images whose header has no beam
        # whether the network takes the infrared image: D3/D4 draw on it; a phys model only if its checkpoint says
        # so (extra['rgz']['uses_ir']); otherwise --ir gives host positions and the network input stays radio-only
        self.uses_ir = representation in ("D3", "D4") if uses_ir is None else bool(uses_ir)
        self.source: tuple[str | None, dict] | None = None  # (checkpoint, load kwargs): lets workers reload it
        self.model_spec: RGZModelSpec | None = None  # the checkpoint's, for a Detector from Detector.load
        self._pool: Any = None  # rgz.parallel.WorkerPool of the last workers > 1 call
        self.last_errors: list[tuple[str, str]] = []

    # ------------------------------------------------------------------ construction
    @classmethod
    def load(cls, path: str | os.PathLike | None = None, *, precision: str = "fp32", backend: str = "torch",
             onnx: str | os.PathLike | None = None, **kwargs: Any) -> Detector:
        """Load a checkpoint written by ``claran train`` (default: the bundled model). ``precision="bf16"``:
        bfloat16 convolutions (``claran.Predictor``), the same catalogue up to bf16 rounding.
        ``backend="onnxruntime"``: the network in ONNX Runtime (``onnx``: a `claran export` file of this
        checkpoint, else exported in memory), the same catalogue up to float rounding."""
        path = default_model_path() if path is None else path  # before the heavy imports: fail fast
        from claran.engine.checkpoint import load_model
        from claran.predictor import Predictor

        model, ckpt = load_model(path)
        spec = read_model_spec(ckpt)  # raises for a model that is not an RGZ model
        channels = REPRESENTATIONS.get(spec.representation)
        if channels is not None and channels != int(model.cfg.BACKBONE.IN_CHANNELS):
            raise CheckpointError(f"{ckpt['path']}: representation {spec.representation} has {channels} channels "
                                  f"but the model takes {model.cfg.BACKBONE.IN_CHANNELS}")
        predictor = Predictor(model, precision=precision, backend=backend, onnx=onnx)
        kwargs.setdefault("uses_ir", spec.uses_ir)
        det = cls(predictor=predictor, class_names=spec.classes, representation=spec.representation, spec=spec.frame,
                  **kwargs)
        det.model_spec = spec
        det.source = (str(path), dict(kwargs, precision=precision, backend=backend, onnx=onnx))
        return det

    # ------------------------------------------------------------------ detection
    def detect(self, paths: str | os.PathLike | Iterable[str | os.PathLike], *,
               ir: str | os.PathLike | dict | None = None, min_score: float = DEFAULT_MIN_SCORE) -> Table:
        """Detect sources in one file, a folder or many files; returns the catalogue (an astropy Table).

        One bad file raises its error; in a batch, bad files are skipped with a warning and listed in
        ``self.last_errors``.
        """
        single = isinstance(paths, (str, os.PathLike)) and not Path(paths).is_dir()
        res = self.detect_many([paths] if isinstance(paths, (str, os.PathLike)) else list(paths), ir=ir,
                               min_score=min_score)
        if single and res.errors:
            raise UserError(res.errors[0][1])
        for _, reason in res.errors:
            warnings.warn(f"skipped {reason}", stacklevel=2)
        return res.table

    def detect_many(self, paths: Iterable[str | os.PathLike], *, ir: str | os.PathLike | dict | None = None,
                    min_score: float = DEFAULT_MIN_SCORE, progress: bool = False, workers: int = 1) -> DetectionResult:
        """The batch engine behind ``detect`` and ``claran detect``: never raises for a bad input file.

        ``workers`` > 1 spreads the files over that many processes with one torch thread each (rgz.parallel);
        it needs a Detector made by ``Detector.load``.
        """
        files = find_fits(paths)
        if workers > 1 and len(files) > 1:
            if self.source is None:
                raise UserError("workers > 1 needs a Detector from Detector.load (the workers reload its checkpoint)")
            from .parallel import WorkerPool

            if self._pool is None or self._pool.workers != workers:
                if self._pool is not None:
                    self._pool.close()
                self._pool = WorkerPool(type(self), self.source, workers)
            try:
                res = self._pool.detect(files, ir=ir, min_score=min_score, batch_size=self.batch_size,
                                        progress=progress)
            except UserError:
                self._pool = None  # a broken pool is not reused
                raise
            self.last_errors = list(res.errors)
            return res
        result = run_batches(self, files, ir=ir, min_score=min_score, progress=progress)
        self.last_errors = list(result.errors)
        return result

    def _predict(self, images: list[np.ndarray]) -> list[dict]:
        if not self.tta:
            return self._run(images)
        from .tta import VIEWS, boxes_to_original, fuse, view

        outs = self._run([view(x, k, f) for x in images for k, f in VIEWS])
        fused = []
        for i, x in enumerate(images):
            mine = outs[i * len(VIEWS):(i + 1) * len(VIEWS)]
            fused.append(fuse([{**o, "boxes": boxes_to_original(o["boxes"], k, f, x.shape[1])}
                               for o, (k, f) in zip(mine, VIEWS, strict=True)]))
        return fused

    def _run(self, images: list[np.ndarray]) -> list[dict]:
        if hasattr(self.predictor, "predict_batch"):
            return list(self.predictor.predict_batch(images))
        return [self.predictor(x) for x in images]

    def _prepare(self, path: str, ir_path: str | None, ir_cache: dict, *, lazy: bool = False) -> Pending:
        return prepare(self, path, ir_path, ir_cache, lazy=lazy)

    def _finish(self, p: Pending, min_score: float):
        return finish(self, p, min_score)

    def close(self) -> None:
        """End the worker processes of ``detect_many(..., workers=N)`` (they otherwise live until exit)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    # ------------------------------------------------------------------ plotting
    def plot(self, path: str | os.PathLike, table: Table | None = None, *, ir: str | os.PathLike | None = None):
        """An overlay Figure of one image and its rows of ``table`` (matched on the ``image`` column)."""
        return plot_file(path, table, ir=ir, rules=self.rules)
