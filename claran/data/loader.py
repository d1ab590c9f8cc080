"""Training and inference data loaders (torch ``DataLoader`` workers, deterministic augmentation).

Augmentation randomness comes from the sampler, not from worker state: each sample is drawn with a
seed derived from ``(TRAIN.SEED, rank, position in the stream)``, so a run is reproducible whatever
the number of workers, ranks differ, and resuming at step ``s`` continues the very same stream.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from ..config import Config
from ..errors import DatasetError
from .dataset import DatasetRegistry, DatasetSplit, sanitize_roidbs
from .transforms import TransformList, rasterize_polygons, sample_train_transform, shortest_edge_size

__all__ = ["build_train_loader", "load_train_roidbs", "InfiniteSampler", "TrainDataset", "image_to_tensor",
           "test_transform"]

logger = logging.getLogger("claran")


def load_train_roidbs(cfg: Config) -> list[tuple[DatasetSplit, dict]]:
    """All roidbs of ``DATA.TRAIN``, sanitised and (``FILTER_EMPTY_ANNOTATIONS``) without empty images."""
    out = []
    for name in cfg.DATA.TRAIN:
        split = DatasetRegistry.get(name)
        roidbs = sanitize_roidbs(split.training_roidbs(), num_category=cfg.DATA.NUM_CATEGORY, name=name, split=split)
        if cfg.DATA.FILTER_EMPTY_ANNOTATIONS:
            n = len(roidbs)
            roidbs = [r for r in roidbs if (r["is_crowd"] == 0).any()]
            if n > len(roidbs):
                logger.info("dataset %s: %d of %d images have no usable box and are not used", name, n - len(roidbs), n)
        out.extend((split, r) for r in roidbs)
    if not out:
        raise DatasetError(f"datasets {', '.join(cfg.DATA.TRAIN)}: no image with a usable box to train on")
    return out


def image_to_tensor(img: np.ndarray) -> torch.Tensor:
    """H x W x C numpy -> float32 C x H x W tensor (0..255 scale kept)."""
    if img.ndim == 2:
        img = img[:, :, None]
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float()


def test_transform(cfg: Config, h: int, w: int) -> TransformList:
    return TransformList(h, w).resize(*shortest_edge_size(h, w, cfg.PREPROC.TEST_SHORT_EDGE_SIZE, cfg.PREPROC.MAX_SIZE))


class TrainDataset(Dataset):
    """Map-style dataset indexed by ``(roidb index, augmentation seed)`` pairs from ``InfiniteSampler``."""

    def __init__(self, items: list[tuple[DatasetSplit, dict]], cfg: Config) -> None:
        self.items = items
        self.short_edge = tuple(cfg.PREPROC.TRAIN_SHORT_EDGE_SIZE)
        self.max_size = cfg.PREPROC.MAX_SIZE
        self.flip, self.rotate90 = bool(cfg.PREPROC.FLIP), bool(cfg.PREPROC.ROTATE90)
        self.mask = bool(cfg.MODE_MASK)
        self.in_channels = int(cfg.BACKBONE.IN_CHANNELS)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int]) -> dict | None:
        index, seed = key
        split, r = self.items[index]
        try:
            img = split.load_image(r)
        except Exception as e:  # a file that vanished or is corrupt: skip the sample, keep training
            logger.warning("%s: skipped, cannot load the image (%s)", r.get("file_name"), e)
            return None
        if img.ndim == 2:
            img = img[:, :, None]
        if img.shape[2] != self.in_channels:
            raise DatasetError(f"{r.get('file_name')}: image has {img.shape[2]} channels but the model expects "
                               f"BACKBONE.IN_CHANNELS={self.in_channels}")
        h, w = img.shape[:2]
        rng = np.random.default_rng(seed)
        t = sample_train_transform(h, w, rng=rng, short_edge=self.short_edge, max_size=self.max_size,
                                   flip=self.flip, rotate90=self.rotate90)
        target = {
            "boxes": torch.from_numpy(t.apply_boxes(r["boxes"])),
            "labels": torch.from_numpy(np.asarray(r["class"], dtype=np.int64)),
            "is_crowd": torch.from_numpy(np.asarray(r["is_crowd"]).astype(bool)),
        }
        if self.mask:
            target["masks"] = torch.from_numpy(self._masks(r, t, h, w))
        return {"image": image_to_tensor(t.apply_image(img)), "target": target, "image_id": r.get("image_id"),
                "file_name": r.get("file_name")}

    @staticmethod
    def _masks(r: dict, t: TransformList, h: int, w: int) -> np.ndarray:
        from pycocotools import mask as mask_util

        segs = r.get("segmentation")
        out = np.zeros((len(r["boxes"]), t.h, t.w), np.uint8)
        for i in range(len(out)):
            seg = segs[i] if segs is not None else None
            if seg is None:  # no mask given: the box
                x1, y1, x2, y2 = r["boxes"][i]
                seg = [np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)]
            if isinstance(seg, dict):  # RLE: decode at the original size, move the bitmap
                m = mask_util.decode(seg)
                if m.shape != (h, w):
                    m = cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST)
                out[i] = t.apply_mask(m)
            else:
                out[i] = rasterize_polygons([t.apply_coords(p) for p in seg], t.h, t.w)
        return out


class InfiniteSampler(Sampler):
    """Endless ``(index, seed)`` stream for one rank: passes of ``DistributedSampler`` (shuffled, sharded,
    re-seeded each pass), started ``start`` samples in so that a resumed run continues the same stream."""

    def __init__(self, size: int, *, seed: int, rank: int = 0, world_size: int = 1, start: int = 0) -> None:
        self.size, self.seed, self.rank, self.world_size, self.start = size, seed, rank, world_size, start
        self._dist = DistributedSampler(range(size), num_replicas=world_size, rank=rank, shuffle=True, seed=seed)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        per_pass = len(self._dist)
        epoch, offset = divmod(self.start, per_pass)
        pos = self.start
        while True:
            self._dist.set_epoch(epoch)
            for index in list(self._dist)[offset:]:
                # a distinct seed per (run seed, rank, position): numpy's SeedSequence mixes them
                yield index, int(np.random.SeedSequence([self.seed, self.rank, pos]).generate_state(1)[0])
                pos += 1
            epoch, offset = epoch + 1, 0

    def __len__(self) -> int:  # DataLoader asks; the stream has no end
        return 2**62


def _collate(batch: list[dict | None]) -> list[dict]:
    return [b for b in batch if b is not None]  # lists: the model pads images itself


def _worker_init(worker_id: int) -> None:
    cv2.setNumThreads(1)  # workers x cv2 threads would oversubscribe the CPU
    torch.set_num_threads(1)
    info = torch.utils.data.get_worker_info()
    np.random.seed(info.seed % 2**32)  # anything that still uses the global RNGs is seeded per worker


def build_train_loader(
    cfg: Config, *, rank: int = 0, world_size: int = 1, start_step: int = 0
) -> tuple[DataLoader, int]:
    """The training loader of one rank and the number of images per pass over the data (all ranks)."""
    items = load_train_roidbs(cfg)
    bs = int(cfg.TRAIN.BATCH_PER_DEVICE)
    sampler = InfiniteSampler(len(items), seed=int(cfg.TRAIN.SEED), rank=rank, world_size=world_size,
                              start=start_step * bs)
    workers = int(cfg.DATA.NUM_WORKERS)
    loader = DataLoader(
        TrainDataset(items, cfg), batch_size=bs, sampler=sampler, num_workers=workers, collate_fn=_collate,
        worker_init_fn=_worker_init if workers else None, persistent_workers=workers > 0,
        prefetch_factor=2 if workers else None,
    )
    return loader, len(items)


def steps_per_pass(num_images: int, total_batch: int) -> int:
    return max(1, math.ceil(num_images / total_batch))
