"""Overlay plots: radio image and contours on WCSAxes, an infrared underlay when given, labelled boxes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from astropy.table import Table
from astropy.visualization import AsinhStretch, ImageNormalize, PercentileInterval
from astropy.wcs import WCS
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .io import atomic_write
from .noise import mad_sigma

__all__ = ["plot_detections", "save_plot"]

_COLOURS = {"1C_1P": "lime", "1C_2P": "cyan", "1C_3P": "deepskyblue", "2C_2P": "yellow", "2C_3P": "orange",
            "3C_3P": "red"}


def plot_detections(data: np.ndarray, wcs: WCS, table: Table | None = None, *, ir: np.ndarray | None = None,
                    ir_wcs: WCS | None = None, title: str | None = None, fig: Figure | None = None) -> Figure:
    """One image with its catalogue rows (``table`` already filtered to this image, or None).

    The infrared image, when given, is reprojected onto the radio grid first (``imshow(transform=...)``
    is unreliable in WCSAxes) and shown in grey under the radio contours.
    """
    from reproject import reproject_interp

    fig = fig or Figure(figsize=(6, 6))
    ax = fig.add_subplot(projection=wcs)
    finite = data[np.isfinite(data)]
    rms = mad_sigma(finite) if finite.size else 0.0
    if ir is not None and ir_wcs is not None:
        under, _ = reproject_interp((ir, ir_wcs), wcs, shape_out=data.shape)
        ax.imshow(under, origin="lower", cmap="gray",
                  norm=ImageNormalize(under[np.isfinite(under)], interval=PercentileInterval(99.5),
                                      stretch=AsinhStretch()))
        contour_colour = "cyan"
    else:
        ax.imshow(data, origin="lower", cmap="inferno",
                  norm=ImageNormalize(finite, interval=PercentileInterval(99.8), stretch=AsinhStretch()))
        contour_colour = "white"
    if rms > 0 and finite.size and finite.max() > 3 * rms:
        # 3 rms and then doubling, as radio astronomers draw them
        levels = 3 * rms * 2.0 ** np.arange(0, int(np.log2(finite.max() / (3 * rms))) + 1)
        ax.contour(np.nan_to_num(data, nan=0.0), levels=levels, colors=contour_colour, linewidths=0.6)
    for row in table if table is not None else []:
        x0, y0, x1, y1 = (float(row[k]) for k in ("x_min", "y_min", "x_max", "y_max"))
        colour = _COLOURS.get(str(row["morphology"]), "magenta")
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=colour, linewidth=1.5))
        ax.text(x0, y1 + 0.5, f"{row['morphology']} {float(row['score']):.2f}", color=colour, fontsize=9,
                va="bottom", ha="left", clip_on=True)
    ax.set_xlim(-0.5, data.shape[1] - 0.5)
    ax.set_ylim(-0.5, data.shape[0] - 0.5)
    ax.set_xlabel("RA")
    ax.set_ylabel("Dec")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def save_plot(fig: Figure, path: str | os.PathLike, *, dpi: int = 100) -> Path:
    """Save a figure as PNG atomically."""
    p = Path(path)
    atomic_write(p, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight"))
    return p
