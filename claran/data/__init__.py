"""Datasets (tensorpack's plug-in API), the COCO family, augmentation and loaders."""

from .coco import COCODetection, register_coco_json, setup_coco
from .dataset import (
    DatasetRegistry,
    DatasetSplit,
    family_after_overrides,
    get_dataset_family,
    list_dataset_families,
    register_dataset_family,
    sanitize_roidbs,
)

__all__ = [
    "DatasetSplit",
    "DatasetRegistry",
    "register_dataset_family",
    "get_dataset_family",
    "family_after_overrides",
    "list_dataset_families",
    "sanitize_roidbs",
    "COCODetection",
    "register_coco_json",
    "setup_coco",
]
