"""Inference over a dataset split, sharded across ranks, scored with the split's evaluator on rank 0."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..data.dataset import DatasetRegistry, DatasetSplit
from .distributed import all_gather_object, get_rank, get_world_size

__all__ = ["detections_to_coco", "inference_on_split", "evaluate_splits"]

logger = logging.getLogger("claran")


def detections_to_coco(image_id: Any, det: dict[str, np.ndarray]) -> list[dict]:
    """Predictor output -> COCO-style dicts (``category_id`` = contiguous class 1..K; ``bbox`` xywh)."""
    from pycocotools import mask as mask_util

    boxes = np.asarray(det["boxes"], dtype=np.float64).reshape(-1, 4)
    rles = None
    if det.get("masks") is not None and len(boxes):
        rles = mask_util.encode(np.asfortranarray(np.asarray(det["masks"]).transpose(1, 2, 0).astype(np.uint8)))
    out = []
    for i, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        d = {"image_id": image_id, "category_id": int(det["labels"][i]), "score": round(float(det["scores"][i]), 5),
             "bbox": [round(x1, 3), round(y1, 3), round(x2 - x1, 3), round(y2 - y1, 3)]}
        if rles is not None:
            d["segmentation"] = {"size": list(rles[i]["size"]), "counts": rles[i]["counts"].decode("ascii")}
        out.append(d)
    return out


@torch.no_grad()
def inference_on_split(model: torch.nn.Module, split: DatasetSplit, *, progress: bool = True) -> list[dict]:
    """COCO-style results of every image of ``split`` (all ranks' shards, gathered on every rank)."""
    from ..predictor import Predictor

    module = getattr(model, "module", model)  # DDP: inference needs no gradient sync
    was_training = module.training
    predictor = Predictor(module)
    roidbs = split.inference_roidbs()
    rank, world = get_rank(), get_world_size()
    mine = roidbs[rank::world]
    results: list[dict] = []
    try:
        for r in tqdm(mine, desc="evaluate", disable=not progress or rank != 0, leave=False):
            results.extend(detections_to_coco(r["image_id"], predictor(split.load_image(r))))
    finally:
        module.train(was_training)
    return [d for part in all_gather_object(results) for d in part]


def evaluate_splits(
    model: torch.nn.Module, names: list[str] | tuple[str, ...], *, output: str | None = None, progress: bool = True
) -> dict[str, dict[str, float]]:
    """Evaluate ``model`` on each registered split; metrics on rank 0 (other ranks get ``{}``).

    ``output``: write the detections (COCO results json, original category ids) there; with several
    splits the split name is added before the suffix.
    """
    metrics: dict[str, dict[str, float]] = {}
    for name in names:
        split = DatasetRegistry.get(name)
        results = inference_on_split(model, split, progress=progress)
        if get_rank() != 0:
            continue
        out = output
        if output is not None and len(names) > 1:
            stem, dot, suffix = output.rpartition(".")
            out = f"{stem}-{name}.{suffix}" if dot else f"{output}-{name}"
        metrics[name] = split.eval_inference_results(results, output=out)
    return metrics
