"""Detector: FITS radio images (and optionally an infrared image) -> a catalogue of radio sources.

    from rgz import Detector
    det = Detector.load()                      # the bundled default model, or Detector.load("model.pt")
    table = det.detect("cutout.fits")          # astropy Table: one row per source (see catalogs.schema)
    det.plot("cutout.fits", table)             # matplotlib Figure for Jupyter

Every image is resampled onto the model's frame (ClaRAN: 132 px at 1.3748"/px). Images larger than a frame
are tiled with overlap (``rgz.frame.tiles``); all tiles of all files are batched through
``Predictor.predict_batch``. Boxes go back to each input image through the sky (``frame_boxes_to_image``);
duplicates (across classes, and across tiles) are merged by NMS on boxes in a sky tangent plane centred on
the image, and the merged group gives each source its per-class scores. A file that cannot be used is named
with a one-line reason and skipped; the others are processed.
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table
from astropy.wcs import WCS

from claran.errors import CheckpointError, UserError

from . import DEFAULT_MIN_SCORE, RGZ_CLASSES
from .contours import classify_boxes
from .coords import detector_to_astropy
from .fits_io import RadioImage, read_infrared, read_radio
from .frame import Framed, FrameSpec, frame_boxes_to_image, frame_wcs, tiles, to_frame, transform_boxes
from .render import REPRESENTATIONS, estimate_noise, render

__all__ = ["Detector", "DetectionResult", "DEFAULT_MIN_SCORE", "CLASS_MODES", "default_model_path", "find_fits"]

CLASS_MODES = ("contours", "network")

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fits.fz")


def default_model_path() -> Path:
    """The bundled default model ``rgz/models/default.pt``; a clear error when it is not installed."""
    p = Path(str(resources.files("rgz") / "models" / "default.pt"))
    if not p.is_file():
        raise UserError(f"no bundled default model ({p} is missing); pass --model CKPT "
                        "(Detector.load('CKPT')) with a checkpoint written by `claran train`")
    return p


def find_fits(paths: Iterable[str | os.PathLike]) -> list[str]:
    """Expand folders into the FITS files inside them (sorted, not recursive); files and missing paths pass through
    (a missing path is reported when it is read)."""
    out: list[str] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out += sorted(str(f) for f in p.iterdir() if f.is_file() and f.name.lower().endswith(FITS_SUFFIXES))
        else:
            out.append(str(p))
    return out


@dataclass
class DetectionResult:
    """What ``Detector.detect_many`` returns: the catalogue, the bad inputs and each good image's WCS."""

    table: Table
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, one-line reason)
    wcs: dict[str, WCS] = field(default_factory=dict)
    n_images: int = 0

    @classmethod
    def combine(cls, parts: Sequence[DetectionResult], order: Sequence[str] | None = None) -> DetectionResult:
        """One result from the parts of a split run (worker processes, torchrun ranks). ``order``: the input
        files, whose order the rows take (within a file they keep theirs)."""
        from astropy.table import vstack

        table = vstack([p.table for p in parts], metadata_conflicts="silent") if len(parts) > 1 else parts[0].table
        if order is not None and len(table):
            rank = {f: i for i, f in enumerate(order)}
            table = table[sorted(range(len(table)), key=lambda i: rank.get(str(table["image"][i]), 0))]
        out = cls(table=table)
        for p in parts:
            out.errors += p.errors
            out.wcs.update(p.wcs)
            out.n_images += p.n_images
        return out


@dataclass
class _Pending:
    path: str
    image: RadioImage
    frames: list[Framed]
    inputs: list[np.ndarray | None]
    ir: RadioImage | None
    outputs: list[dict] = field(default_factory=list)
    centres: Any = None  # tile centres still to render (large images render in batches: bounded memory)
    noise: float = 0.0
    failed: Exception | None = None


class Detector:
    """A trained model plus what it needs to read sky images: representation, frame and class names."""

    def __init__(self, *, predictor: Callable, class_names: Sequence[str] = RGZ_CLASSES,
                 representation: str = "D1", spec: FrameSpec = FrameSpec(), overlap: float = 0.25,
                 batch_size: int = 8, nms_thresh: float = 0.5, edge_penalty: float = 0.5,
                 classes: str = "contours", tta: bool = False) -> None:
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
        self.tta = tta  # test-time augmentation: 8 rotations/flips per frame, fused (rgz.tta); 8x the model time
        self.source: tuple[str | None, dict] | None = None  # (checkpoint, load kwargs): lets workers reload it
        self._pool: Any = None  # rgz.parallel.WorkerPool of the last workers > 1 call
        self.last_errors: list[tuple[str, str]] = []

    # ------------------------------------------------------------------ construction
    @classmethod
    def load(cls, path: str | os.PathLike | None = None, *, precision: str = "fp32", **kwargs: Any) -> Detector:
        """Load a checkpoint written by ``claran train`` (default: the bundled model). ``precision="bf16"``:
        bfloat16 convolutions (``claran.Predictor``), the same catalogue up to bf16 rounding."""
        path = default_model_path() if path is None else path  # before the heavy imports: fail fast
        from claran.engine.checkpoint import load_model
        from claran.predictor import Predictor

        model, ckpt = load_model(path)
        if not (ckpt.get("extra") or {}).get("rgz") and not (ckpt.get("config") or {}).get("RGZ"):
            # e.g. a COCO model: it would "find" squares and discs in the sky
            names = [str(n) for n in ckpt.get("class_names") or [] if n != "BG"]
            raise CheckpointError(f"{ckpt['path']}: not a radio-galaxy model (no RGZ settings; its classes: "
                                  f"{', '.join(names[:4]) + (', ...' if len(names) > 4 else '') or 'unknown'}); "
                                  "give a checkpoint from `claran train --dataset rgz`")
        rgz = _rgz_settings(ckpt)
        names = [n for n in ckpt.get("class_names") or model.cfg.DATA.CLASS_NAMES if n != "BG"]
        channels = REPRESENTATIONS.get(rgz["representation"])
        if channels is not None and channels != int(model.cfg.BACKBONE.IN_CHANNELS):
            raise CheckpointError(f"{ckpt['path']}: representation {rgz['representation']} has {channels} channels "
                                  f"but the model takes {model.cfg.BACKBONE.IN_CHANNELS}")
        spec = FrameSpec(size=int(rgz["frame_size"]), pixel_scale_arcsec=float(rgz["pixel_scale_arcsec"]))
        det = cls(predictor=Predictor(model, precision=precision), class_names=names, representation=rgz["representation"], spec=spec,
                  **kwargs)
        det.source = (str(path), dict(kwargs, precision=precision))
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
        from catalogs import build_catalog  # the catalogue layer builds the table (schema, units, UCDs)

        files = find_fits(paths)
        if workers > 1 and len(files) > 1:
            if self.source is None:
                raise UserError("workers > 1 needs a Detector from Detector.load (the workers reload its checkpoint)")
            from .parallel import WorkerPool

            if self._pool is None or self._pool.workers != workers:
                if self._pool is not None:
                    self._pool.close()
                self._pool = WorkerPool(self.source, workers)
            try:
                res = self._pool.detect(files, ir=ir, min_score=min_score, batch_size=self.batch_size,
                                        progress=progress)
            except UserError:
                self._pool = None  # a broken pool is not reused
                raise
            self.last_errors = list(res.errors)
            return res
        result = DetectionResult(table=None)  # type: ignore[arg-type]
        found: list = []
        ir_cache: dict[str, RadioImage | Exception] = {}
        pending: list[_Pending] = []
        bar = _progress(len(files), progress)

        def flush() -> None:
            work = [(p, j) for p in pending for j in range(_n_tiles(p))]
            for i in range(0, len(work), self.batch_size):
                chunk = []
                for p, j in work[i:i + self.batch_size]:
                    try:
                        if p.failed is None:
                            chunk.append((p, j, self._input(p, j)))
                    except Exception as e:  # a tile that cannot be framed: name the file, keep the batch going
                        p.failed = e
                chunk = [(p, j, x) for p, j, x in chunk if p.failed is None]
                outs = self._predict([x for _, _, x in chunk]) if chunk else []
                for (p, j, _), o in zip(chunk, outs):
                    p.outputs.append(o)
                    p.inputs[j] = None  # rendered frames are not kept: memory stays bounded on a mosaic
            for p in pending:
                try:
                    if p.failed is not None:
                        raise p.failed
                    found.append(self._finish(p, min_score))
                    result.wcs[p.path] = p.image.wcs
                    result.n_images += 1
                except Exception as e:  # keep the batch going; name the file
                    result.errors.append((p.path, _reason(p.path, e)))
                bar.update(1)
            pending.clear()

        def prepare(path: str) -> _Pending | Exception:
            try:
                return self._prepare(path, _ir_for(ir, path), ir_cache, lazy=True)
            except Exception as e:
                return e

        # one thread reads and frames the next files while the model runs (astropy, reproject and torch
        # release the GIL in their heavy parts); at most 2 batches ahead so memory stays bounded
        ahead: deque = deque()
        todo = iter(files)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rgz-read") as pool:
            for path in itertools.islice(todo, 2 * self.batch_size):
                ahead.append((path, pool.submit(prepare, path)))
            while ahead:
                path, fut = ahead.popleft()
                nxt = next(todo, None)
                if nxt is not None:
                    ahead.append((nxt, pool.submit(prepare, nxt)))
                got = fut.result()
                if isinstance(got, Exception):
                    result.errors.append((path, _reason(path, got)))
                    bar.update(1)
                    continue
                pending.append(got)
                if sum(_n_tiles(p) for p in pending) >= self.batch_size:
                    flush()
        flush()
        bar.close()
        result.table = build_catalog(found, class_names=self.class_names)
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

    def _prepare(self, path: str, ir_path: str | None, ir_cache: dict, *, lazy: bool = False) -> _Pending:
        image = read_radio(path)
        ir = None
        if ir_path is not None:
            if ir_path not in ir_cache:
                try:
                    ir_cache[ir_path] = read_infrared(ir_path)
                except Exception as e:  # remembered so every file names the same IR problem
                    ir_cache[ir_path] = e
            if isinstance(ir_cache[ir_path], Exception):
                raise UserError(f"infrared image {_reason(ir_path, ir_cache[ir_path])}")
            ir = ir_cache[ir_path]
        noise = estimate_noise(image.data)  # one noise for all tiles of an image
        centres = tiles(image, self.spec, overlap=self.overlap)
        p = _Pending(path=path, image=image, frames=[], inputs=[None] * centres.size, ir=ir, centres=centres,
                     noise=noise)
        if not lazy or centres.size <= self.batch_size:  # small images are framed here, in the reading thread
            for j in range(centres.size):
                self._render(p, j)
        return p

    def _render(self, p: _Pending, j: int) -> np.ndarray:
        """Frame and render tile ``j`` of ``p`` (tiles are rendered in order)."""
        c = p.centres[j]
        fr = to_frame(p.image, center=c, spec=self.spec)
        fir = to_frame(p.ir, center=c, spec=self.spec).data if p.ir is not None else None
        x = render(self.representation, fr.data, ir=fir, noise=p.noise)
        fr.data = None  # only the frame's WCS is needed later (boxes back to the image); saves memory
        p.frames.append(fr)
        p.inputs[j] = x
        return x

    def _input(self, p: _Pending, j: int) -> np.ndarray:
        x = p.inputs[j]
        return self._render(p, j) if x is None and len(p.frames) <= j else x

    def _finish(self, p: _Pending, min_score: float):
        from catalogs import ImageDetections

        h, w = p.image.shape
        boxes, scores, labels, probs, prio = [], [], [], [], []
        k = len(self.class_names)
        for fr, out in zip(p.frames, p.outputs):
            b = np.asarray(out["boxes"], dtype=np.float64).reshape(-1, 4)
            if not len(b):
                continue
            s = np.asarray(out["scores"], dtype=np.float64).reshape(-1)
            lab = np.asarray(out["labels"]).reshape(-1).astype(int)
            pr = _class_probs(out, len(b), k)
            # boxes cut by a frame edge are partial views of a source another tile may see whole
            n = self.spec.size
            cut = (b[:, 0] <= 1) | (b[:, 1] <= 1) | (b[:, 2] >= n - 1) | (b[:, 3] >= n - 1)
            ib = frame_boxes_to_image(b, fr, p.image)
            ib[:, [0, 2]] = ib[:, [0, 2]].clip(0, w)
            ib[:, [1, 3]] = ib[:, [1, 3]].clip(0, h)
            ok = (ib[:, 2] - ib[:, 0] >= 1) & (ib[:, 3] - ib[:, 1] >= 1)  # inside the image
            boxes.append(ib[ok])
            scores.append(s[ok])
            labels.append(lab[ok])
            probs.append(pr[ok])
            prio.append(np.where(cut & (len(p.frames) > 1), self.edge_penalty, 1.0)[ok] * s[ok])
        if boxes:
            boxes_a, scores_a, labels_a = np.concatenate(boxes), np.concatenate(scores), np.concatenate(labels)
            probs_a, prio_a = np.concatenate(probs), np.concatenate(prio)
        else:
            boxes_a, scores_a, labels_a = np.zeros((0, 4)), np.zeros(0), np.zeros(0, int)
            probs_a, prio_a = np.zeros((0, k)), np.zeros(0)
        keep, class_scores = self._merge(boxes_a, scores_a, labels_a, probs_a, prio_a, p.image)
        sel = [i for i in keep if scores_a[i] >= min_score]
        class_scores = class_scores[[keep.index(i) for i in sel]] if sel else np.zeros((0, k))
        names = [self.class_names[int(c) - 1] for c in labels_a[sel]]
        if self.classes == "contours" and set(self.class_names) <= set(RGZ_CLASSES):
            for i, cid in enumerate(classify_boxes(p.image.data, boxes_a[sel],
                                                   pixel_scale_arcsec=p.image.pixel_scale_arcsec)):
                if cid is not None and RGZ_CLASSES[cid - 1] in self.class_names:
                    names[i] = RGZ_CLASSES[cid - 1]
        beam = (p.image.beam.bmaj / 3600.0, p.image.beam.bmin / 3600.0) if p.image.beam else None
        return ImageDetections(
            image=p.path, data=p.image.data, wcs=p.image.wcs, boxes=detector_to_astropy(boxes_a[sel]).reshape(-1, 4),
            labels=names, scores=scores_a[sel],
            class_scores=class_scores, beam=beam,
            ir_data=p.ir.data if p.ir is not None else None, ir_wcs=p.ir.wcs if p.ir is not None else None)

    def _merge(self, boxes, scores, labels, probs, prio, image: RadioImage) -> tuple[list[int], np.ndarray]:
        """Class-agnostic NMS on sky boxes; each kept box's per-class scores come from its merged group."""
        import torch
        from torchvision.ops import box_iou, nms

        k = len(self.class_names)
        if not len(boxes):
            return [], np.zeros((0, k))
        # boxes on a tangent plane at the image centre (arcsec-sized pixels): the same sky box from any
        # tile (or any overlapping input) lands on the same plane box
        plane = frame_wcs(image.center, FrameSpec(size=1, pixel_scale_arcsec=1.0))
        sky = torch.as_tensor(transform_boxes(boxes, image.wcs, plane))
        keep = nms(sky, torch.as_tensor(prio), self.nms_thresh).tolist()
        out = np.zeros((len(keep), k))
        own = ~np.isnan(probs[keep]).any(axis=1)
        out[own] = probs[keep][own]  # the model's own class-probability vector, where it gave one
        lab = np.asarray(labels, dtype=int)
        # else: each class's best score in the kept box's group; in chunks of kept boxes, so a mosaic's
        # tens of thousands of tile detections never need a kept x all IoU matrix at once
        for a in range(0, len(keep), 256):
            rows = np.arange(a, min(a + 256, len(keep)))
            rows = rows[~own[rows]]
            if not len(rows):
                continue
            group = box_iou(sky[[keep[r] for r in rows]], sky).numpy() >= self.nms_thresh
            for c in range(k):
                in_c = group & (lab == c + 1)[None, :]
                out[rows, c] = np.where(in_c, scores[None, :], 0.0).max(axis=1)
        return keep, out

    def close(self) -> None:
        """End the worker processes of ``detect_many(..., workers=N)`` (they otherwise live until exit)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    # ------------------------------------------------------------------ plotting
    def plot(self, path: str | os.PathLike, table: Table | None = None, *, ir: str | os.PathLike | None = None):
        """An overlay Figure of one image and its rows of ``table`` (matched on the ``image`` column)."""
        return plot_file(path, table, ir=ir)


def plot_file(path: str | os.PathLike, table: Table | None = None, *, ir: str | os.PathLike | None = None):
    """Read one image (and its IR) and draw it with its catalogue rows."""
    from catalogs import plot_detections

    image = read_radio(path)
    rows = None
    if table is not None and len(table):
        rows = table[table["image"] == str(path)]
    irimg = read_infrared(ir) if ir is not None else None
    return plot_detections(image.data, image.wcs, rows, ir=irimg.data if irimg else None,
                           ir_wcs=irimg.wcs if irimg else None, title=Path(path).name)


def _rgz_settings(ckpt: dict) -> dict[str, Any]:
    """Representation and frame from ``ckpt['extra']['rgz']``, falling back to the config's RGZ keys."""
    extra = dict((ckpt.get("extra") or {}).get("rgz") or {})
    cfg_rgz = (ckpt.get("config") or {}).get("RGZ") or {}

    def pick(*names: str, default: Any) -> Any:
        for src in (extra, cfg_rgz):
            for n in names:
                if n in src and src[n] not in (None, ""):
                    return src[n]
        return default

    frame = extra.get("frame") if isinstance(extra.get("frame"), dict) else {}
    return {
        "representation": pick("representation", "REPRESENTATION", default="D1"),
        "frame_size": frame.get("size") or pick("frame_size", "FRAME_SIZE", default=FrameSpec().size),
        "pixel_scale_arcsec": frame.get("pixel_scale_arcsec")
        or pick("pixel_scale_arcsec", "PIXEL_SCALE", "FRAME_PIXEL_SCALE", default=FrameSpec().pixel_scale_arcsec),
    }


def _class_probs(out: dict, n: int, k: int) -> np.ndarray:
    """The per-class probability vector if the predictor returns one (with or without background)."""
    for key in ("class_scores", "class_probs", "probs"):
        if key in out and out[key] is not None:
            pr = np.asarray(out[key], dtype=np.float64).reshape(n, -1)
            return pr[:, 1:] if pr.shape[1] == k + 1 else pr[:, :k]
    return np.full((n, k), np.nan)


def _n_tiles(p: _Pending) -> int:
    return int(p.centres.size) if p.centres is not None else len(p.inputs)


def _ir_for(ir: str | os.PathLike | dict | None, path: str) -> str | None:
    if ir is None:
        return None
    if isinstance(ir, dict):
        v = ir.get(path) or ir.get(Path(path).name)
        return str(v) if v is not None else None
    return str(ir)


def _reason(path: str, e: BaseException) -> str:
    """One line: the file and why it cannot be used (UserErrors already name the file)."""
    if isinstance(e, UserError):
        msg = str(e)
        return msg if msg.startswith(str(path)) else f"{path}: {msg}"
    first = str(e).splitlines()[0] if str(e) else ""
    return f"{path}: cannot be processed ({type(e).__name__}{': ' + first if first else ''})"


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc="detect", dynamic_ncols=True)
