"""RGZ evaluation: ClaRAN's PASCAL VOC all-point AP at IoU 0.5 per class (``mAP50``) and COCOeval's bbox numbers."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import RGZ_CLASSES

__all__ = ["voc_ap", "evaluate_ap50", "coco_bbox_metrics"]


def coco_bbox_metrics(gt: dict[Any, tuple[np.ndarray, np.ndarray]], results: list[dict], size: int) -> dict[str, float]:
    """COCOeval's 12 bbox numbers under claran's usual names (``mAP(bbox)/IoU=0.5:0.95``, ...)."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from claran.data.coco import COCO_METRIC_NAMES

    images, anns = [], []
    for img_id, (boxes, classes) in gt.items():
        images.append({"id": img_id, "width": size, "height": size})
        for b, c in zip(np.asarray(boxes, float).tolist(), np.asarray(classes).tolist()):
            anns.append({"id": len(anns) + 1, "image_id": img_id, "category_id": int(c), "iscrowd": 0,
                         "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]], "area": (b[2] - b[0]) * (b[3] - b[1])})
    stats = [0.0] * 12
    if results and anns:
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO()
            coco.dataset = {"images": images, "annotations": anns,
                            "categories": [{"id": i + 1, "name": n} for i, n in enumerate(RGZ_CLASSES)]}
            coco.createIndex()
            ev = COCOeval(coco, coco.loadRes([dict(r) for r in results if r["image_id"] in gt]), "bbox")  # loadRes edits its input
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        stats = [float(v) for v in ev.stats]
    return {name.format("bbox"): v for name, v in zip(COCO_METRIC_NAMES, stats)}


# ------------------------------------------------------------------ VOC AP50
def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """All-point interpolated average precision (VOC 2010+, as ClaRAN reports)."""
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def _iou(box: np.ndarray, gts: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], gts[:, 2]) - np.maximum(box[0], gts[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], gts[:, 3]) - np.maximum(box[1], gts[:, 1]), 0, None)
    inter = ix * iy
    union = (box[2] - box[0]) * (box[3] - box[1]) + (gts[:, 2] - gts[:, 0]) * (gts[:, 3] - gts[:, 1]) - inter
    return inter / np.maximum(union, 1e-12)


def evaluate_ap50(gt: dict[Any, tuple[np.ndarray, np.ndarray]], results: list[dict],
                  class_names: tuple[str, ...] | list[str], iou_thresh: float = 0.5) -> dict[str, float]:
    """``gt``: image_id -> (boxes N x 4 x1y1x2y2, classes 1..K); ``results``: COCO-style dicts (bbox xywh)."""
    out: dict[str, float] = {}
    aps = []
    for k, cname in enumerate(class_names, start=1):
        gts = {i: b[c == k] for i, (b, c) in gt.items()}
        n_gt = sum(len(v) for v in gts.values())
        dets = sorted((r for r in results if int(r["category_id"]) == k and r["image_id"] in gts),
                      key=lambda r: -float(r["score"]))
        if n_gt == 0:
            continue  # a class absent from this split has no AP (VOC convention)
        used = {i: np.zeros(len(v), bool) for i, v in gts.items()}
        tp = np.zeros(len(dets))
        for j, d in enumerate(dets):
            x, y, w, h = d["bbox"]
            g = gts[d["image_id"]]
            if len(g):
                ious = _iou(np.array([x, y, x + w, y + h]), g)
                m = int(np.argmax(ious))
                if ious[m] >= iou_thresh and not used[d["image_id"]][m]:
                    tp[j], used[d["image_id"]][m] = 1, True
        ctp = np.cumsum(tp)
        rec = ctp / n_gt
        prec = ctp / np.arange(1, len(dets) + 1) if len(dets) else np.zeros(0)
        ap = voc_ap(rec, prec) if len(dets) else 0.0
        out[f"AP50/{cname}"] = ap
        aps.append(ap)
    out["mAP50"] = float(np.mean(aps)) if aps else 0.0
    return out
