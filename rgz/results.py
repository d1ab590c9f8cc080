"""``DetectionResult``: what ``Detector.detect_many`` returns (catalogue, bad inputs, each good image's WCS)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from astropy.table import Table
from astropy.wcs import WCS

__all__ = ["DetectionResult"]


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
