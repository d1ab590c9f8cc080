"""From a file's tile outputs to its sources: boxes back to the image through the sky, sky NMS merging
(across classes and tiles), per-class scores from each merged group, and the class by RGZ's contour rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import RGZ_CLASSES
from .companions import companion_weights
from .contours import assign_sources, find_islands, speck_diag
from .coords import detector_to_astropy
from .fits_io import RadioImage
from .frame import FrameSpec, frame_boxes_to_image, frame_wcs, transform_boxes

if TYPE_CHECKING:
    from .batching import Pending
    from .detector import Detector

__all__ = ["finish", "merge", "class_probs"]


def finish(det: Detector, p: Pending, min_score: float):
    """The ``catalogs.ImageDetections`` of one file whose tiles all went through the model."""
    from catalogs import ImageDetections

    h, w = p.image.shape
    boxes, scores, labels, probs, prio = [], [], [], [], []
    k = len(det.class_names)
    for fr, out in zip(p.frames, p.outputs):
        b = np.asarray(out["boxes"], dtype=np.float64).reshape(-1, 4)
        if not len(b):
            continue
        s = np.asarray(out["scores"], dtype=np.float64).reshape(-1)
        lab = np.asarray(out["labels"]).reshape(-1).astype(int)
        pr = class_probs(out, len(b), k)
        # boxes cut by a frame edge are partial views of a source another tile may see whole
        n = det.spec.size
        cut = (b[:, 0] <= 1) | (b[:, 1] <= 1) | (b[:, 2] >= n - 1) | (b[:, 3] >= n - 1)
        ib = frame_boxes_to_image(b, fr, p.image)
        ib[:, [0, 2]] = ib[:, [0, 2]].clip(0, w)
        ib[:, [1, 3]] = ib[:, [1, 3]].clip(0, h)
        ok = (ib[:, 2] - ib[:, 0] >= 1) & (ib[:, 3] - ib[:, 1] >= 1)  # inside the image
        boxes.append(ib[ok])
        scores.append(s[ok])
        labels.append(lab[ok])
        probs.append(pr[ok])
        prio.append(np.where(cut & (len(p.frames) > 1), det.edge_penalty, 1.0)[ok] * s[ok])
    if boxes:
        boxes_a, scores_a, labels_a = np.concatenate(boxes), np.concatenate(scores), np.concatenate(labels)
        probs_a, prio_a = np.concatenate(probs), np.concatenate(prio)
    else:
        boxes_a, scores_a, labels_a = np.zeros((0, 4)), np.zeros(0), np.zeros(0, int)
        probs_a, prio_a = np.zeros((0, k)), np.zeros(0)
    keep, class_scores = merge(det, boxes_a, scores_a, labels_a, probs_a, prio_a, p.image)
    sel = [i for i in keep if scores_a[i] >= min_score]
    class_scores = class_scores[[keep.index(i) for i in sel]] if sel else np.zeros((0, k))
    names = [det.class_names[int(c) - 1] for c in labels_a[sel]]
    out_boxes = boxes_a[sel]
    out_scores = scores_a[sel]
    extra: dict = {}
    if det.classes == "contours" and set(det.class_names) <= set(RGZ_CLASSES):
        # RGZ's rule: each source is the islands its best detection owns (one row per source, none without
        # emission above the lowest contour); its class, counts and box come from those islands
        isl = find_islands(p.image.data, det.rules, min_diag=speck_diag(det.rules, p.image.pixel_scale_arcsec))
        srcs = assign_sources(p.image.data, boxes_a[sel], scores_a[sel], det.rules, islands=isl,
                              pixel_scale_arcsec=p.image.pixel_scale_arcsec)
        # the score is the confidence in the source and its class: a class that moves with the contour levels
        # is right less often (rules.marginal_weight, measured on RGZ DR1); min_score cuts that final score
        weight = {True: det.rules.marginal_weight, False: 1.0}  # by Source.marginal
        srcs = [s for s in srcs if scores_a[sel[s.index]] * weight[s.marginal] >= min_score]
        names = [RGZ_CLASSES[s.class_id - 1] if s.class_id is not None
                 and RGZ_CLASSES[s.class_id - 1] in det.class_names else names[s.index] for s in srcs]
        class_scores = class_scores[[s.index for s in srcs]] if srcs else np.zeros((0, k))
        out_boxes = (np.array([s.box for s in srcs]) if det.boxes == "contours"
                     else out_boxes[[s.index for s in srcs]]).reshape(-1, 4)
        sel = [sel[s.index] for s in srcs]
        # a compact source beside another is often one of its components in RGZ's labels (rgz.companions); the
        # factor comes after min_score, so no emission leaves the catalogue for it
        centres = np.stack([out_boxes[:, 0] + out_boxes[:, 2], out_boxes[:, 1] + out_boxes[:, 3]], 1) / 2
        companion = companion_weights(centres * p.image.pixel_scale_arcsec, np.array(names) == "1C_1P", det.rules)
        extra = {"islands": isl.labels, "components": [list(s.islands) for s in srcs],
                 "n_components": [s.n_components for s in srcs], "n_peaks": [s.n_peaks for s in srcs],
                 "flags": {"blended": [s.blended for s in srcs], "class_marginal": [s.marginal for s in srcs],
                           "possible_component": (companion < 1).tolist()}}
        out_scores = scores_a[sel] * np.array([weight[s.marginal] for s in srcs], dtype=np.float64) * companion
    beam = (p.image.beam.bmaj / 3600.0, p.image.beam.bmin / 3600.0) if p.image.beam else None
    return ImageDetections(
        image=p.path, data=p.image.data, wcs=p.image.wcs, boxes=detector_to_astropy(out_boxes).reshape(-1, 4),
        labels=names, scores=out_scores, class_scores=class_scores, beam=beam, **extra,
        ir_data=p.ir.data if p.ir is not None else None, ir_wcs=p.ir.wcs if p.ir is not None else None)


def merge(det: Detector, boxes, scores, labels, probs, prio, image: RadioImage) -> tuple[list[int], np.ndarray]:
    """Class-agnostic NMS on sky boxes; each kept box's per-class scores come from its merged group."""
    import torch

    from claran.ops import box_iou, nms

    k = len(det.class_names)
    if not len(boxes):
        return [], np.zeros((0, k))
    # boxes on a tangent plane at the image centre (arcsec-sized pixels): the same sky box from any
    # tile (or any overlapping input) lands on the same plane box
    plane = frame_wcs(image.center, FrameSpec(size=1, pixel_scale_arcsec=1.0))
    sky = torch.as_tensor(transform_boxes(boxes, image.wcs, plane))
    keep = nms(sky, torch.as_tensor(prio), det.nms_thresh).tolist()
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
        group = box_iou(sky[[keep[r] for r in rows]], sky).numpy() >= det.nms_thresh
        for c in range(k):
            in_c = group & (lab == c + 1)[None, :]
            out[rows, c] = np.where(in_c, scores[None, :], 0.0).max(axis=1)
    return keep, out


def class_probs(out: dict, n: int, k: int) -> np.ndarray:
    """The per-class probability vector if the predictor returns one (with or without background)."""
    for key in ("class_scores", "class_probs", "probs"):
        if key in out and out[key] is not None:
            pr = np.asarray(out[key], dtype=np.float64).reshape(n, -1)
            return pr[:, 1:] if pr.shape[1] == k + 1 else pr[:, :k]
    return np.full((n, k), np.nan)
