"""Drawing detections (boxes, class names, scores, masks) onto images."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["draw_predictions", "to_display_rgb"]

# tab10: distinct colours for neighbouring class ids
_PALETTE = np.array([(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                     (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)], np.uint8)


def to_display_rgb(img: np.ndarray) -> np.ndarray:
    """Any H x W x C image as uint8 RGB: 1 channel is grey, more than 3 keep the first three."""
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.dtype != np.uint8:
        img = np.clip(np.nan_to_num(img.astype(np.float32)), 0, 255).astype(np.uint8)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def draw_predictions(
    img: np.ndarray, det: dict[str, np.ndarray], class_names: list[str], *, score_thresh: float = 0.5
) -> np.ndarray:
    """RGB uint8 copy of ``img`` with detections scoring at least ``score_thresh`` drawn on it.

    ``class_names`` includes ``"BG"`` at index 0, as in ``DATA.CLASS_NAMES``.
    """
    out = to_display_rgb(img).copy()
    keep = np.nonzero(np.asarray(det["scores"]) >= score_thresh)[0]
    keep = keep[np.argsort(-np.asarray(det["scores"])[keep])][::-1]  # best drawn last, on top
    masks = det.get("masks")
    scale = max(0.35, min(out.shape[:2]) / 600)
    for i in keep:
        label = int(det["labels"][i])
        color = _PALETTE[label % len(_PALETTE)]
        if masks is not None:
            m = np.asarray(masks[i]).astype(bool)
            out[m] = (0.5 * out[m] + 0.5 * color).astype(np.uint8)
        x1, y1, x2, y2 = (int(round(float(v))) for v in det["boxes"][i])
        c = tuple(int(v) for v in color)
        cv2.rectangle(out, (x1, y1), (max(x1, x2 - 1), max(y1, y2 - 1)), c, 1, cv2.LINE_AA)
        name = class_names[label] if 0 <= label < len(class_names) else str(label)
        text = f"{name} {float(det['scores'][i]):.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        ty = y1 - 2 if y1 - th - base >= 0 else min(out.shape[0] - 1, y2 + th + 2)
        cv2.rectangle(out, (x1, ty - th - base), (x1 + tw, ty + base // 2), c, -1)
        cv2.putText(out, text, (x1, ty - base // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out
