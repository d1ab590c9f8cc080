"""The GPU paths in one short run (< 5 minutes on one current CUDA card):

    python benchmarks/gpu_check.py [--iters 300] [--json out.json]     # on a CUDA machine
    python benchmarks/gpu_check.py --smoke                              # tiny sizes, any device (CI runs this)

1. train: R50-FPN Mask R-CNN from scratch with AMP (float16, GradScaler) and channels_last through
   ``claran.engine.Trainer`` (its data loader included) on synthetic COCO-format data at 800 px, batch 2:
   images/s over the iterations after the first 20. Reference: detectron2 trains this model at 62 img/s on
   8 V100s (~7.8 per V100).
2. infer: the same model in eval mode, ms/image at batch 1 and 8 in float32, float16 and bfloat16 autocast.
3. ddp: one process group of 1 process on NCCL, the model with BACKBONE.NORM=SyncBN converted to
   SyncBatchNorm inside DistributedDataParallel, two AMP training steps (a 1-process group normalises alone:
   this checks the wiring, not cross-GPU statistics).
4. rgz: the bundled RGZ model on the GPU through ``rgz.Detector``: cutouts/s on 200 simulated cutouts
   (``--smoke``: the 4 example cutouts).

Without CUDA every section is skipped with one line (exit 0). ``--smoke`` runs 1, 2 and 4 at tiny sizes on
whatever device there is (so CI checks the code on CPU); sections that need CUDA (3, and float16 in 2) are
skipped there. A failing section is reported and the others still run; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import simulated_cutouts  # noqa: E402

CATEGORIES = [{"id": 1, "name": "square"}, {"id": 2, "name": "disc"}, {"id": 3, "name": "triangle"}]


def write_coco(root: Path, n: int, size: int, seed: int = 0) -> Path:
    """``n`` noisy ``size`` px images with 2-5 filled polygons each, COCO json with polygon masks."""
    import cv2

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    for i in range(n):
        img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
        for _ in range(int(rng.integers(2, 6))):
            cat = int(rng.integers(1, 4))
            r = float(rng.uniform(size * 0.04, size * 0.15))
            cx, cy = rng.uniform(r + 1, size - r - 1, 2)
            k = {1: 4, 2: 16, 3: 3}[cat]
            a = np.linspace(0, 2 * np.pi, k, endpoint=False) + np.pi / 4
            poly = np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], 1)
            cv2.fillPoly(img, [np.round(poly).astype(np.int32)], tuple(int(v) for v in rng.integers(120, 255, 3)))
            (x1, y1), (x2, y2) = poly.min(0), poly.max(0)
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": cat, "iscrowd": 0,
                         "bbox": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
                         "area": float((x2 - x1) * (y2 - y1)), "segmentation": [poly.reshape(-1).tolist()]})
        cv2.imwrite(str(root / "images" / f"{i:05d}.png"), img)
        images.append({"id": i + 1, "file_name": f"{i:05d}.png", "height": size, "width": size})
    path = root / "train.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": CATEGORIES}))
    return path


def model_config(size: int, *, smoke: bool, extra: list[str] = ()):
    from claran import Config
    from claran.config import get_preset

    cfg = Config()
    if smoke:
        get_preset("tiny")(cfg)
    cfg.update_args(["MODE_FPN=True", "DATA.CLASS_NAMES=[\"square\", \"disc\", \"triangle\"]", "BACKBONE.WEIGHTS=''",
                     f"PREPROC.TRAIN_SHORT_EDGE_SIZE=[{size},{size}]", f"PREPROC.TEST_SHORT_EDGE_SIZE={size}",
                     f"PREPROC.MAX_SIZE={max(size, 1333 if not smoke else size)}", *extra])
    return cfg


def section_train(args, device: torch.device) -> dict:
    from claran.data import register_coco_json
    from claran.engine.trainer import Trainer

    size, iters = (128, 4) if args.smoke else (800, args.iters)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        register_coco_json("gpu_check_train", json_file=str(write_coco(root / "data", 8 if args.smoke else 64, size)),
                           image_root=str(root / "data" / "images"))
        cfg = model_config(size, smoke=args.smoke, extra=[
            "DATA.TRAIN=[\"gpu_check_train\"]", "DATA.VAL=[]", f"TRAIN.MAX_STEPS={iters}", "TRAIN.BATCH_PER_DEVICE=2",
            "TRAIN.AMP=True", f"TRAIN.LOG_PERIOD={1 if args.smoke else 10}", "TRAIN.EVAL_PERIOD=0", "TRAIN.CHECKPOINT_PERIOD=1000",
            f"DATA.NUM_WORKERS={0 if args.smoke else min(8, os.cpu_count() or 1)}"])
        t = time.perf_counter()
        Trainer(cfg=cfg, logdir=root / "log", progress=False).train()
        wall = time.perf_counter() - t
        rows = [json.loads(line) for line in (root / "log" / "metrics.jsonl").read_text().splitlines()]
    skip = min(20, iters // 2)  # the first steps include cuDNN autotuning and the loader's start
    first = next(r for r in rows if r["step"] >= skip)
    last = rows[-1]
    steps = last["step"] - first["step"]
    ips = 2 * steps / (last["time"] - first["time"]) if steps else float("nan")
    return {"size": size, "iters": iters, "batch": 2, "amp": device.type == "cuda", "images_per_s": round(ips, 2),
            "steps_timed": steps, "wall_s": round(wall, 1), "final_loss": round(float(last["total_loss"]), 3)}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def section_infer(args, device: torch.device) -> dict:
    from claran import build_model

    size = 128 if args.smoke else 800
    cfg = model_config(size, smoke=args.smoke)
    cfg.finalize(is_training=False)
    torch.manual_seed(0)
    model = build_model(cfg).to(device).eval().fuse_frozen_bn()
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    dtypes = {"float32": None, "bfloat16": torch.bfloat16}
    if device.type == "cuda":
        dtypes["float16"] = torch.float16
    out = {"size": size}
    reps = 2 if args.smoke else 10
    for batch in (1, 8):
        images = [torch.rand(3, size, size, device=device) * 255 for _ in range(batch)]
        for name, dt in dtypes.items():
            with torch.inference_mode(), torch.autocast(device.type, dtype=dt or torch.float32, enabled=dt is not None):
                model(images)  # warm-up (cuDNN autotuning, allocator)
                _sync(device)
                t = time.perf_counter()
                for _ in range(reps):
                    model(images)
                _sync(device)
            out[f"batch{batch}_{name}_ms_per_image"] = round((time.perf_counter() - t) / reps / batch * 1000, 2)
    return out


def section_ddp(args, device: torch.device) -> dict:
    import torch.distributed as dist

    from claran import build_model

    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29571")
    dist.init_process_group("nccl", rank=0, world_size=1)
    try:
        cfg = model_config(800, smoke=False, extra=["BACKBONE.NORM=SyncBN", "MODE_MASK=False"])
        cfg.finalize(is_training=True, num_devices=1)
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(build_model(cfg)).to(device).train()
        n_sync = sum(isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())
        ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index or 0])
        opt = torch.optim.SGD([p for p in ddp.parameters() if p.requires_grad], lr=1e-3, momentum=0.9)
        scaler = torch.amp.GradScaler("cuda")
        images = [torch.rand(3, 800, 800, device=device) * 255 for _ in range(2)]
        targets = [{"boxes": torch.tensor([[100.0, 120.0, 300.0, 330.0]], device=device),
                    "labels": torch.tensor([1], device=device)} for _ in range(2)]
        times = []
        for _ in range(2):
            _sync(device)
            t = time.perf_counter()
            with torch.autocast("cuda", dtype=torch.float16):
                loss = sum(ddp(images, targets).values())
            opt.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            _sync(device)
            times.append(time.perf_counter() - t)
        t = torch.ones(1, device=device)
        dist.all_reduce(t)
        return {"backend": dist.get_backend(), "syncbn_layers": n_sync, "loss": round(float(loss), 3),
                "step_s": round(times[-1], 3), "all_reduce_ok": bool(t.item() == 1.0)}
    finally:
        dist.destroy_process_group()


def section_rgz(args, device: torch.device) -> dict:
    from claran.predictor import Predictor
    from rgz.detector import Detector

    with tempfile.TemporaryDirectory() as tmp:
        if args.smoke:  # the 4 bundled example cutouts
            files = sorted(str(p) for p in (Path(__file__).resolve().parents[1] / "rgz" / "examples").glob("*.fits"))
        else:
            files = sorted(str(p) for p in simulated_cutouts(Path(tmp) / "sim", 200).glob("*.fits"))
        n = len(files)
        det = Detector.load(batch_size=8 if args.smoke else 32)
        det.predictor = Predictor(det.predictor.model, device=device)
        det.detect_many(files[:8])  # warm-up
        _sync(device)
        t = time.perf_counter()
        res = det.detect_many(files)
        sec = time.perf_counter() - t
    return {"cutouts": n, "cutouts_per_s": round(n / sec, 2), "sources": len(res.table)}


SECTIONS = {"train": section_train, "infer": section_infer, "ddp": section_ddp, "rgz": section_rgz}
CUDA_ONLY = {"ddp"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iters", type=int, default=300, help="training iterations (section 1)")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes on any device (tests the script itself)")
    ap.add_argument("--only", nargs="*", choices=list(SECTIONS), default=None, help="run only these sections")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    cuda = torch.cuda.is_available()
    device = torch.device("cuda", 0) if cuda else torch.device("cpu")
    card = torch.cuda.get_device_name(0) if cuda else "no CUDA device"
    print(f"gpu_check on {card}; torch {torch.__version__}{' (smoke sizes)' if args.smoke else ''}", flush=True)
    results: dict = {"device": card, "smoke": args.smoke}
    failed = False
    for name, fn in SECTIONS.items():
        if args.only is not None and name not in args.only:
            continue
        if not cuda and (not args.smoke or name in CUDA_ONLY):
            print(f"  {name}: skipped (needs CUDA{'' if name in CUDA_ONLY else '; --smoke runs it small on CPU'})")
            results[name] = "skipped: no CUDA"
            continue
        t = time.perf_counter()
        try:
            results[name] = fn(args, device)
            print(f"  {name} ({time.perf_counter() - t:.0f} s): {json.dumps(results[name])}", flush=True)
        except Exception as e:  # report, go on: one broken path must not hide the others' numbers
            failed = True
            results[name] = f"failed: {type(e).__name__}: {e}"
            print(f"  {name}: FAILED {type(e).__name__}: {e}", flush=True)
            traceback.print_exc(limit=4)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
