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
    components: Table | None = None  # one row per island of a source, linked by source_id
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, one-line reason)
    wcs: dict[str, WCS] = field(default_factory=dict)
    n_images: int = 0

    @classmethod
    def combine(cls, parts: Sequence[DetectionResult], order: Sequence[str] | None = None) -> DetectionResult:
        """One result from the parts of a split run (worker processes, torchrun ranks). ``order``: the input
        files, whose order the rows take (within a file they keep theirs)."""
        from astropy.table import vstack

        from catalogs import renumber

        table = vstack([p.table for p in parts], metadata_conflicts="silent") if len(parts) > 1 else parts[0].table
        comps = [p.components for p in parts if p.components is not None]
        components = (vstack(comps, metadata_conflicts="silent") if len(comps) > 1 else comps[0]) if comps else None
        if order is not None and len(table):
            rank = {f: i for i, f in enumerate(order)}
            table = table[sorted(range(len(table)), key=lambda i: rank.get(str(table["image"][i]), 0))]
            if components is not None and len(components):
                components = components[sorted(range(len(components)),
                                               key=lambda i: rank.get(str(components["image"][i]), 0))]
        if len(parts) > 1:
            renumber(table, components if components is not None else table[:0])
        out = cls(table=table, components=components)
        for p in parts:
            out.errors += p.errors
            out.wcs.update(p.wcs)
            out.n_images += p.n_images
        return out
