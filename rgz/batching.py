"""The batch engine behind ``Detector.detect_many``: input files, read-ahead, tiling and batching.

One thread reads and frames the next files while the model runs; all tiles of all files go through the
model in batches of ``Detector.batch_size``; each finished file becomes an ``ImageDetections`` (rgz.merge).
A file that cannot be used is named with a one-line reason (``reason``) and skipped.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import warnings
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from claran.errors import UserError

from .fits_io import RadioImage, read_infrared, read_radio
from .frame import Framed, tiles, to_frame
from .merge import finish
from .render import estimate_noise, render
from .results import DetectionResult
from .sources import RGZ_SCHEME, annotate, domain_problem, overlaps
from .surveys import FIRST, Survey, get_survey

if TYPE_CHECKING:
    from .detector import Detector

__all__ = ["FITS_SUFFIXES", "Pending", "find_fits", "prepare", "progress_bar", "reason", "run_batches"]

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fits.fz")


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
class Pending:
    path: str
    image: RadioImage
    frames: list[Framed]
    inputs: list[np.ndarray | None]
    ir: RadioImage | None
    outputs: list[dict] = field(default_factory=list)
    centres: Any = None  # tile centres still to render (large images render in batches: bounded memory)
    noise: float = 0.0
    failed: Exception | None = None


def run_batches(det: Detector, files: list[str], *, ir: str | os.PathLike | dict | None, min_score: float,
                progress: bool) -> DetectionResult:
    """Detect in ``files`` in this process; bad files go to ``errors``, never raised."""
    from catalogs import build_tables  # the catalogue layer builds the tables (schema, units, UCDs)

    result = DetectionResult(table=None)  # type: ignore[arg-type]
    found: list = []
    ir_cache: dict[str, RadioImage | Exception] = {}
    pending: list[Pending] = []
    bar = progress_bar(len(files), progress)

    def flush() -> None:
        work = [(p, j) for p in pending for j in range(_n_tiles(p))]
        for i in range(0, len(work), det.batch_size):
            chunk = []
            for p, j in work[i:i + det.batch_size]:
                try:
                    if p.failed is None:
                        chunk.append((p, j, _input(det, p, j)))
                except Exception as e:  # a tile that cannot be framed: name the file, keep the batch going
                    p.failed = e
            chunk = [(p, j, x) for p, j, x in chunk if p.failed is None]
            outs = det._predict([x for _, _, x in chunk]) if chunk else []
            for (p, j, _), o in zip(chunk, outs):
                p.outputs.append(o)
                p.inputs[j] = None  # rendered frames are not kept: memory stays bounded on a mosaic
        for p in pending:
            try:
                if p.failed is not None:
                    raise p.failed
                found.append(annotate(finish(det, p, min_score), p.image, rules=det.rules,
                                      out_of_domain=bool(domain_problem(p.image, _survey(det), warn_units=True))))
                result.wcs[p.path] = p.image.wcs
                result.n_images += 1
            except Exception as e:  # keep the batch going; name the file
                result.errors.append((p.path, reason(p.path, e)))
            bar.update(1)
        pending.clear()

    def prepare_one(path: str) -> Pending | Exception:
        try:
            return prepare(det, path, _ir_for(ir, path), ir_cache, lazy=True)
        except Exception as e:
            return e

    # one thread reads and frames the next files while the model runs (astropy, reproject and torch
    # release the GIL in their heavy parts); at most 2 batches ahead so memory stays bounded
    ahead: deque = deque()
    todo = iter(files)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rgz-read") as pool:
        for path in itertools.islice(todo, 2 * det.batch_size):
            ahead.append((path, pool.submit(prepare_one, path)))
        while ahead:
            path, fut = ahead.popleft()
            nxt = next(todo, None)
            if nxt is not None:
                ahead.append((nxt, pool.submit(prepare_one, nxt)))
            got = fut.result()
            if isinstance(got, Exception):
                result.errors.append((path, reason(path, got)))
                bar.update(1)
                continue
            pending.append(got)
            if sum(_n_tiles(p) for p in pending) >= det.batch_size:
                flush()
    flush()
    bar.close()
    scheme = RGZ_SCHEME if tuple(det.class_names) == RGZ_SCHEME.names else dataclasses.replace(
        RGZ_SCHEME, names=tuple(det.class_names))
    result.table, result.components = build_tables(found, scheme=scheme)
    return result


def prepare(det: Detector, path: str, ir_path: str | None, ir_cache: dict, *, lazy: bool = False) -> Pending:
    """Read one file (and its IR image), estimate its noise and plan its tiles; small images are framed here."""
    image = read_radio(path, default_beam=det.beam)
    domain = domain_problem(image, _survey(det))
    if domain:
        warnings.warn(f"{path}: {domain}", stacklevel=2)
    ir = None
    if ir_path is not None:
        if ir_path not in ir_cache:
            try:
                ir_cache[ir_path] = read_infrared(ir_path)
            except Exception as e:  # remembered so every file names the same IR problem
                ir_cache[ir_path] = e
        if isinstance(ir_cache[ir_path], Exception):
            raise UserError(f"infrared image {reason(ir_path, ir_cache[ir_path])}")
        ir = ir_cache[ir_path]
        if not overlaps(image, ir):
            raise UserError(f"{path}: the infrared image {ir_path} does not overlap it; give the infrared image of "
                            "the same field")
    noise = estimate_noise(image.data)  # one noise for all tiles of an image
    centres = tiles(image, det.spec, overlap=det.overlap)
    p = Pending(path=path, image=image, frames=[], inputs=[None] * centres.size, ir=ir, centres=centres,
                noise=noise)
    if not lazy or centres.size <= det.batch_size:  # small images are framed here, in the reading thread
        for j in range(centres.size):
            _render(det, p, j)
    return p


def _survey(det: Detector) -> Survey:
    """The survey the detector's model was trained on (FIRST when it does not say)."""
    return get_survey(det.model_spec.survey) if getattr(det, "model_spec", None) is not None else FIRST


def _render(det: Detector, p: Pending, j: int) -> np.ndarray:
    """Frame and render tile ``j`` of ``p`` (tiles are rendered in order)."""
    c = p.centres[j]
    fr = to_frame(p.image, center=c, spec=det.spec)
    # the infrared image goes into the network only if it was trained with one (else: host positions only)
    fir = to_frame(p.ir, center=c, spec=det.spec).data if p.ir is not None and det.uses_ir else None
    x = render(det.representation, fr.data, ir=fir, noise=p.noise)
    fr.data = None  # only the frame's WCS is needed later (boxes back to the image); saves memory
    p.frames.append(fr)
    p.inputs[j] = x
    return x


def _input(det: Detector, p: Pending, j: int) -> np.ndarray:
    x = p.inputs[j]
    return _render(det, p, j) if x is None and len(p.frames) <= j else x


def _n_tiles(p: Pending) -> int:
    return int(p.centres.size) if p.centres is not None else len(p.inputs)


def _ir_for(ir: str | os.PathLike | dict | None, path: str) -> str | None:
    if ir is None:
        return None
    if isinstance(ir, dict):
        v = ir.get(path) or ir.get(Path(path).name)
        return str(v) if v is not None else None
    return str(ir)


def reason(path: str, e: BaseException) -> str:
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


def progress_bar(total: int, enabled: bool):
    """A tqdm bar over files, or one that draws nothing."""
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc="detect", dynamic_ncols=True)
