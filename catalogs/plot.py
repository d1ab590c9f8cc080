"""Overlay plots: radio image (colour bar) and contours (with their key) on WCSAxes labelled from the WCS's own
frame, an infrared underlay when given, labelled boxes placed so the labels do not overlap, the beam, and the
infrared host of each row."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from astropy.table import Table
from astropy.visualization import AsinhStretch, ImageNormalize, PercentileInterval
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse, Rectangle

from .io import atomic_write
from .noise import mad_sigma
from .sky import frame_label, icrs_to_pixel

__all__ = ["plot_detections", "save_plot"]


def plot_detections(data: np.ndarray, wcs: WCS, table: Table | None = None, *, ir: np.ndarray | None = None,
                    ir_wcs: WCS | None = None, title: str | None = None, fig: Figure | None = None,
                    beam: tuple[float, ...] | None = None, colours: Mapping[str, str] | None = None,
                    unit: str = "Jy/beam", contour_levels: Sequence[float] | None = None,
                    contour_key: str | None = None) -> Figure:
    """One image with its catalogue rows (``table`` already filtered to this image, or None).

    The infrared image, when given, is reprojected onto the radio grid first (``imshow(transform=...)``
    is unreliable in WCSAxes) and shown in grey under the radio contours. ``beam``: BMAJ, BMIN[, BPA] in
    degrees (FWHM), drawn in the lower left corner. ``colours``: a colour per morphology class.
    ``contour_levels`` (image units) and ``contour_key`` (the text in the corner) replace the default radio
    contours, 3, 6, 12, ... x the clipped MAD rms: a classifier passes the levels its classes were counted on.
    Rows with ``flag_class_marginal`` (a class that changes if those levels move a few per cent) get a dashed box
    and a "?" after the class; rows with ``flag_possible_component`` "(pair?)" after the score.
    """
    from reproject import reproject_interp

    fig = fig or Figure(figsize=(7, 6))
    ax = fig.add_subplot(projection=wcs)
    finite = data[np.isfinite(data)]
    rms = mad_sigma(finite, clip_sigma=3.0) if finite.size else 0.0
    scale = 1e3 if unit == "Jy/beam" else 1.0  # the colour bar in mJy/beam: FIRST's numbers are readable there
    if ir is not None and ir_wcs is not None:
        under, _ = reproject_interp((ir, ir_wcs), wcs, shape_out=data.shape)
        im = ax.imshow(under, origin="lower", cmap="gray",
                       norm=ImageNormalize(under[np.isfinite(under)], interval=PercentileInterval(99.5),
                                           stretch=AsinhStretch()))
        contour_colour, bar_label = "cyan", "infrared (image units)"
    else:
        im = ax.imshow(data * scale, origin="lower", cmap="inferno",
                       norm=ImageNormalize(finite * scale, interval=PercentileInterval(99.8), stretch=AsinhStretch()))
        contour_colour, bar_label = "white", "mJy/beam" if scale != 1.0 else unit
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02, label=bar_label)
    radio_unit = "mJy/beam" if scale != 1.0 else unit
    if contour_levels is None and rms > 0 and finite.size and finite.max() > 3 * rms:
        # 3 rms and then doubling, as radio astronomers draw them
        contour_levels = 3 * rms * 2.0 ** np.arange(0, int(np.log2(finite.max() / (3 * rms))) + 1)
        contour_key = f"contours: 3, 6, 12, ... x rms\nrms = {rms * scale:.3g} {radio_unit}"
    levels = np.sort(np.asarray(contour_levels if contour_levels is not None else [], dtype=float))
    levels = levels[levels <= (finite.max() if finite.size else -np.inf)]
    if levels.size:
        ax.contour(np.nan_to_num(data, nan=0.0), levels=levels, colors=contour_colour, linewidths=0.6)
    marginal, pair = _flag(table, "flag_class_marginal"), _flag(table, "flag_possible_component")
    notes = [n for n, on in (("?, dashed: class changes if the levels move a few %", marginal.any()),
                             ("(pair?): may be one source with a neighbour; score lowered", pair.any())) if on]
    if notes:  # explained beside the contours the class was counted on
        contour_key = "\n".join(x for x in (contour_key if levels.size else None, *notes) if x)
    if contour_key and (levels.size or notes):
        ax.text(0.99, 0.01, contour_key,
                transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="black",
                bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 2})
    h, w = data.shape
    if beam is not None and all(b and b > 0 for b in beam[:2]):
        px = float(np.mean(proj_plane_pixel_scales(wcs)[:2]))
        bw, bh = beam[1] / px, beam[0] / px  # ellipse width = minor axis, height = major (PA from north)
        pa = float(beam[2]) if len(beam) > 2 and beam[2] is not None else 0.0
        off = max(bw, bh) / 2 + 0.03 * min(h, w)
        ax.add_patch(Ellipse((off, off), bw, bh, angle=pa, facecolor="none", edgecolor="white", hatch="////",
                             linewidth=1.0))
    placed: list[tuple[float, float, float, float]] = []
    omitted = 0
    for row, unsure, paired in zip(table if table is not None else [], marginal, pair, strict=True):
        x0, y0, x1, y1 = (float(row[k]) for k in ("x_min", "y_min", "x_max", "y_max"))
        colour = (colours or {}).get(str(row["morphology"]), "magenta")
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=colour, linewidth=1.5,
                               linestyle="--" if unsure else "-"))
        text = f"{row['morphology']}{'?' if unsure else ''} {float(row['score']):.2f}{' (pair?)' if paired else ''}"
        spot = _label_spot(text, (x0, y0, x1, y1), placed, w, h)
        if spot is None:  # no free place: the box alone (its class colour still says the class)
            omitted += 1
        else:
            ax.text(spot[0], spot[1], text, color=colour, fontsize=8, va=spot[2], ha="left", clip_on=True,
                    bbox={"facecolor": "black", "alpha": 0.45, "edgecolor": "none", "pad": 1})
        if "ir_ra" in row.colnames and np.isfinite(row["ir_ra"]):
            hx, hy = icrs_to_pixel(wcs, np.array([row["ir_ra"]]), np.array([row["ir_dec"]]))
            ax.plot(hx, hy, marker="+", markersize=12, mew=2, color=colour, linestyle="none")
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(-0.5, h - 0.5)
    xl, yl = frame_label(wcs)
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
    if title or omitted:
        note = f"{omitted} of {len(table)} labels left out (no room)" if omitted else ""
        ax.set_title("\n".join(x for x in (title, note) if x), fontsize=10)
    return fig


def _flag(table: Table | None, name: str) -> np.ndarray:
    """A flag column as booleans, all False where the table lacks it (or there is no table)."""
    if table is None or name not in table.colnames:
        return np.zeros(len(table) if table is not None else 0, bool)
    return np.asarray(table[name], bool)


def _label_spot(text: str, box: tuple[float, float, float, float], placed: list, w: int, h: int
                ) -> tuple[float, float, str] | None:
    """Where a box's label goes: above, below, or inside its top or bottom edge, the first spot whose
    estimated extent (8 pt text on a ~5" axis) stays in the image and overlaps no label placed before;
    None when there is none."""
    x0, y0, x1, y1 = box
    lw, lh = len(text) * 0.013 * w, 0.04 * h
    spots = [(x0, y1 + 0.5, "bottom"), (x0, y0 - 0.5, "top"), (x0, y1 - 0.5, "top"), (x0, y0 + 0.5, "bottom")]
    for tx, ty, va in spots:
        tx = min(max(tx, -0.5), w - 0.5 - lw)
        ext = (tx, ty, tx + lw, ty + lh) if va == "bottom" else (tx, ty - lh, tx + lw, ty)
        inside = ext[1] >= -0.5 and ext[3] <= h - 0.5
        free = not any(ext[0] < p[2] and p[0] < ext[2] and ext[1] < p[3] and p[1] < ext[3] for p in placed)
        if inside and free:
            placed.append(ext)
            return tx, ty, va
    return None


def save_plot(fig: Figure, path: str | os.PathLike, *, dpi: int = 100) -> Path:
    """Save a figure as PNG atomically."""
    p = Path(path)
    atomic_write(p, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight"))
    return p
