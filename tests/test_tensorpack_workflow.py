"""Issue 14: a tensorpack user's workflow, verbatim: its commands, its results table, its model zoo .npz files."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from claran.engine.checkpoint import load_checkpoint
from cli.main import main
from tests.test_cli_train import _run

# tensorpack's results table (examples/FasterRCNN/README.md), each row's keys as tensorpack spells them;
# defaults: R50-C4 Mask R-CNN.
R101 = "BACKBONE.RESNET_NUM_BLOCKS=[3,4,23,3]"
GN = ("FPN.NORM=GN BACKBONE.NORM=GN FPN.FRCNN_HEAD_FUNC=fastrcnn_4conv1fc_gn_head "
      "FPN.MRCNN_HEAD_FUNC=maskrcnn_up4conv_gn_head")
TABLE = {
    "R50-C4 quick": "MODE_MASK=False FRCNN.BATCH_PER_IM=64 PREPROC.TRAIN_SHORT_EDGE_SIZE=600 PREPROC.MAX_SIZE=1024 "
                    "TRAIN.LR_SCHEDULE=[150000,230000,280000]",
    "R50-C4 boxes": "MODE_MASK=False",
    "R50-FPN boxes": "MODE_MASK=False MODE_FPN=True",
    "R50-C4": "",
    "R50-FPN": "MODE_FPN=True",
    "+Cascade": "MODE_FPN=True FPN.CASCADE=True",
    "+ConvGNHead": "MODE_FPN=True FPN.FRCNN_HEAD_FUNC=fastrcnn_4conv1fc_gn_head",
    "+GN": f"MODE_FPN=True {GN}",
    "R101-C4": R101,
    "R101-FPN": f"MODE_FPN=True {R101}",
    "R101-FPN 3x+Cascade+TrainAug": f"MODE_FPN=True FPN.CASCADE=True {R101} TEST.RESULT_SCORE_THRESH=1e-4 "
                                    "PREPROC.TRAIN_SHORT_EDGE_SIZE=[640,800] TRAIN.LR_SCHEDULE=[420000,500000,540000]",
    "R101-FPN from scratch 9x+GN+Cascade+TrainAug": f"MODE_FPN=True FPN.CASCADE=True {R101} {GN} "
                                                    "PREPROC.TRAIN_SHORT_EDGE_SIZE=[640,800] "
                                                    "TRAIN.LR_SCHEDULE=[1500000,1580000,1620000] BACKBONE.FREEZE_AT=0",
}
# On top, so that a row runs in seconds on a CPU: small images (still a range where the row samples one),
# narrow layers (depths unchanged), one step, no loader workers. None of these keys appears in a row.
SMALL = ["PREPROC.TRAIN_SHORT_EDGE_SIZE=[56,72]", "PREPROC.TEST_SHORT_EDGE_SIZE=64", "PREPROC.MAX_SIZE=128",
         "BACKBONE.WIDTH_MULTIPLIER=0.25", "FPN.NUM_CHANNEL=32", "FPN.FRCNN_FC_HEAD_DIM=64",
         "FPN.FRCNN_CONV_HEAD_DIM=32", "MRCNN.HEAD_DIM=32", "RPN.HEAD_DIM=64", "RPN.ANCHOR_SIZES=(16,32,64,128,256)",
         "RPN.TRAIN_PRE_NMS_TOPK=400", "RPN.TRAIN_POST_NMS_TOPK=64", "RPN.TEST_PRE_NMS_TOPK=200",
         "RPN.TEST_POST_NMS_TOPK=50", "RPN.TRAIN_PER_LEVEL_NMS_TOPK=200", "RPN.TEST_PER_LEVEL_NMS_TOPK=100",
         "TEST.RESULTS_PER_IM=20"]
FAST = [*SMALL, "TRAIN.MAX_STEPS=1", "DATA.NUM_WORKERS=0", "TRAIN.EVAL_PERIOD=0"]
FROZEN = [*SMALL, "TRAIN.MAX_STEPS=1", "DATA.NUM_WORKERS=0", "TRAIN.EVAL_PERIOD=0", "TRAIN.BASE_LR=0.0",
          "TRAIN.WARMUP_INIT_LR=0.0"]  # one step that moves no weight: what was loaded is what is saved




def _error_lines(err: str) -> list[str]:
    return [x for x in err.splitlines() if x.startswith("Error")]


@pytest.mark.parametrize("row", list(TABLE))
def test_results_table_row_builds_trains_and_evaluates(row, tiny_coco, tmp_path, capsys):
    keys = TABLE[row].split()
    log = tmp_path / "log"
    code, _, err = _run(["train", "--dataset", "coco", "--logdir", str(log), "--no-progress",
                         "--config", f"DATA.BASEDIR={tiny_coco}", *keys, *FAST], capsys)
    assert code == 0, err
    ckpt = load_checkpoint(log / "model-1.pt")
    cfg, sd = ckpt["config"], ckpt["model"]
    flat = " ".join(keys)
    fpn, mask, cascade = "MODE_FPN=True" in flat, "MODE_MASK=False" not in flat, "FPN.CASCADE=True" in flat
    assert (cfg["MODE_FPN"], cfg["MODE_MASK"], cfg["FPN"]["CASCADE"]) == (fpn, mask, cascade)
    body = "backbone.body." if fpn else "backbone."
    assert any(k.startswith(body + "layer1.") for k in sd) and (f"{body}layer4.0.conv1.weight" in sd) == fpn
    depth = 23 if row.startswith("R101") else 6
    assert cfg["BACKBONE"]["RESNET_NUM_BLOCKS"] == [3, 4, depth, 3]
    assert f"{body}layer3.{depth - 1}.conv1.weight" in sd and f"{body}layer3.{depth}.conv1.weight" not in sd
    if not fpn:  # C4: res5 is the box head, 3 blocks
        assert "roi_heads.box_head.res5.2.conv1.weight" in sd and "roi_heads.box_head.res5.3.conv1.weight" not in sd
    assert any(k.startswith("roi_heads.mask_head.") for k in sd) == mask
    assert any(k.startswith("roi_heads.box_heads.2.") for k in sd) == cascade
    gn_head = "fastrcnn_4conv1fc_gn_head" in flat
    head = "roi_heads.box_heads.0." if cascade else "roi_heads.box_head."
    assert (f"{head}convs.3.1.weight" in sd) == gn_head  # conv + GroupNorm
    assert ("backbone.inner_blocks.0.1.weight" in sd) == ("FPN.NORM=GN" in flat)
    assert cfg["BACKBONE"]["NORM"] == ("GN" if "BACKBONE.NORM=GN" in flat else "FreezeBN")
    assert cfg["BACKBONE"]["FREEZE_AT"] == (0 if "FREEZE_AT=0" in flat else 2)
    if "TEST.RESULT_SCORE_THRESH=1e-4" in flat:
        assert cfg["TEST"]["RESULT_SCORE_THRESH"] == 1e-4
    if row == "R50-C4 quick":
        assert cfg["FRCNN"]["BATCH_PER_IM"] == 64 and cfg["TRAIN"]["LR_SCHEDULE"] == [150000, 230000, 280000]
    res = tmp_path / "res.json"
    code, out, err = _run(["evaluate", "--load", str(log / "model-1.pt"), "--output", str(res), "--no-progress"], capsys)
    assert code == 0, err
    metrics = json.loads((tmp_path / "res.metrics.json").read_text())["coco_val2017"]
    assert "mAP(bbox)/IoU=0.5:0.95" in metrics and ("mAP(segm)/IoU=0.5:0.95" in metrics) == (mask and bool(
        json.loads(res.read_text())))


def test_tensorpacks_commands_as_written(tiny_coco, tmp_path, monkeypatch, capsys):
    """The issue's three commands, spelled as written (small sizes added), in a fresh working folder."""
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(["train", "--dataset", "coco", "--config", f"DATA.BASEDIR={tiny_coco}", "MODE_MASK=True",
                           "MODE_FPN=True", "TRAIN.MAX_STEPS=6", *SMALL, "--no-progress"], capsys)
    assert code == 0, err
    ckpt = tmp_path / "train_log" / "coco" / "model-6.pt"
    assert ckpt.is_file()
    code, out, err = _run(["evaluate", "--load", "train_log/coco/model-6.pt", "--output", "res.json", "--no-progress"],
                          capsys)
    assert code == 0, err
    first = json.loads((tmp_path / "res.json").read_text())
    assert "coco_val2017:" in out and "mAP(bbox)/IoU=0.5:0.95" in out
    (tmp_path / "res.json").rename(tmp_path / "first.json")
    (tmp_path / "res.metrics.json").unlink()
    code, out, err = _run(["evaluate", "--load", "train_log/coco/model-6.pt", "--dataset", "coco_val2017",
                           "--output", "res.json", "--no-progress"], capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "res.json").read_text()) == first
    # an existing --output is not replaced silently
    code, _, err = _run(["evaluate", "--load", "train_log/coco/model-6.pt", "--output", "res.json"], capsys)
    assert code != 0 and len(_error_lines(err)) == 1 and "--overwrite" in err
    # a split tensorpack registers but this folder lacks: one line naming its json
    code, _, err = _run(["evaluate", "--load", "train_log/coco/model-6.pt", "--dataset", "coco_minival2014"], capsys)
    assert code != 0 and len(_error_lines(err)) == 1 and "instances_minival2014.json" in err


def test_basedir_from_config_is_checked_after_overrides(tmp_path, capsys):
    code, _, err = _run(["train", "--dataset", "coco", "--logdir", str(tmp_path / "log"),
                         "--config", f"DATA.BASEDIR={tmp_path / 'nowhere'}", "MODE_MASK=False"], capsys)
    lines = _error_lines(err)
    assert code != 0 and len(lines) == 1 and str(tmp_path / "nowhere") in lines[0] and "DATA.BASEDIR" in lines[0]
    assert "/path/to/your/DATA/DIR" not in err and not (tmp_path / "log").exists()


def test_horovod_trainer_points_at_torchrun(tiny_coco, tmp_path, capsys):
    code, _, err = _run(["train", "--dataset", "coco", "--logdir", str(tmp_path / "log"), "--config",
                         f"DATA.BASEDIR={tiny_coco}", "TRAINER=horovod", "MODE_FPN=True"], capsys)
    lines = _error_lines(err)
    assert code != 0 and len(lines) == 1 and "Traceback" not in err
    assert "torchrun --nproc_per_node=" in lines[0] and "train --dataset coco" in lines[0]
    assert "MODE_FPN=True" in lines[0] and f"DATA.BASEDIR={tiny_coco}" in lines[0]
    assert "TRAINER=horovod train" not in lines[0] and " TRAINER=" not in lines[0].split("train --dataset")[1]
    assert not (tmp_path / "log").exists()


@pytest.fixture(scope="module")
def tiny_ckpt(tiny_coco, tmp_path_factory):
    """One tiny trained checkpoint for the predict tests."""
    log = tmp_path_factory.mktemp("tp_ckpt")
    main(["train", "--dataset", "coco", "--data", str(tiny_coco), "--logdir", str(log), "--preset", "tiny",
          "--no-progress", "--config", "TRAIN.MAX_STEPS=1", "DATA.NUM_WORKERS=0", "TRAIN.EVAL_PERIOD=0"])
    return log / "model-1.pt"


def test_predict_does_not_overwrite_silently(tiny_ckpt, tiny_coco, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    img = tmp_path / "input.png"
    shutil.copy(sorted((tiny_coco / "val2017").iterdir())[0], img)
    code, out, err = _run(["predict", "input.png", "--load", str(tiny_ckpt), "--output", "out"], capsys)
    assert code == 0, err
    drawn, preds = tmp_path / "out" / "input.png", tmp_path / "out" / "predictions.json"
    before = {p: p.read_bytes() for p in (drawn, preds)}
    code, _, err = _run(["predict", "input.png", "--load", str(tiny_ckpt), "--output", "out"], capsys)
    assert code != 0 and len(_error_lines(err)) == 1 and "--overwrite" in err
    assert {p: p.read_bytes() for p in (drawn, preds)} == before
    code, _, err = _run(["predict", "input.png", "--load", str(tiny_ckpt), "--output", "out", "--overwrite"], capsys)
    assert code == 0, err
    code, _, err = _run(["predict", "input.png", "--load", str(tiny_ckpt), "--output", ".", "--overwrite"], capsys)
    assert code != 0 and "replace the image itself" in err and img.read_bytes() == sorted(
        (tiny_coco / "val2017").iterdir())[0].read_bytes()


# ------------------------------------------------------------------ tensorpack's .npz files
def tensorpack_variables(*, blocks=(3, 4, 6, 3), width=16, fpn=True, mask=True, num_category=3, channels=32,
                         fc=64, mask_dim=32, rpn_dim=64, imagenet=False) -> dict[str, tuple[int, ...]]:
    """Variable names and shapes as tensorpack's modeling/ code creates them (written from tensorpack's
    backbone.py, model_fpn.py, model_rpn.py, model_frcnn.py, model_mrcnn.py), independently of claran's map."""
    v: dict[str, tuple[int, ...]] = {}

    def conv(name, k, cin, cout, bias=False, bn=False):
        v[f"{name}/W"] = (k, k, cin, cout)
        if bias:
            v[f"{name}/b"] = (cout,)
        if bn:
            for s in ("gamma", "beta", "mean/EMA", "variance/EMA"):
                v[f"{name}/bn/{s}"] = (cout,)

    conv("conv0", 7, 3, width, bn=True)
    cin, feats = width, []
    for g, n in enumerate(blocks):
        ch = width * 2**g
        for j in range(n):
            pre = f"group{g}/block{j}/"
            conv(pre + "conv1", 1, cin, ch, bn=True)
            conv(pre + "conv2", 3, ch, ch, bn=True)
            conv(pre + "conv3", 1, ch, ch * 4, bn=True)
            if j == 0:
                conv(pre + "convshortcut", 1, cin, ch * 4, bn=True)
            cin = ch * 4
        feats.append(cin)
    if imagenet:
        v.update({"linear/W": (cin, 1000), "linear/b": (1000,), "global_step": ()})
        return v
    k = num_category + 1
    if fpn:
        for i, c in enumerate(feats):
            conv(f"fpn/lateral_1x1_c{i + 2}", 1, c, channels, bias=True)
            conv(f"fpn/posthoc_3x3_p{i + 2}", 3, channels, channels, bias=True)
        conv("rpn/conv0", 3, channels, channels, bias=True)
        conv("rpn/class", 1, channels, 3, bias=True)
        conv("rpn/box", 1, channels, 12, bias=True)
        v.update({"fastrcnn/fc6/W": (channels * 49, fc), "fastrcnn/fc6/b": (fc,), "fastrcnn/fc7/W": (fc, fc),
                  "fastrcnn/fc7/b": (fc,), "fastrcnn/outputs/class/W": (fc, k), "fastrcnn/outputs/class/b": (k,),
                  "fastrcnn/outputs/box/W": (fc, 4 * k), "fastrcnn/outputs/box/b": (4 * k,)})
        mask_in = channels
        for i in range(4 if mask else 0):
            conv(f"maskrcnn/fcn{i}", 3, mask_in, mask_dim, bias=True)
            mask_in = mask_dim
    else:
        conv("rpn/conv0", 3, feats[2], rpn_dim, bias=True)
        conv("rpn/class", 1, rpn_dim, 15, bias=True)
        conv("rpn/box", 1, rpn_dim, 60, bias=True)
        v.update({"fastrcnn/class/W": (feats[3], k), "fastrcnn/class/b": (k,), "fastrcnn/box/W": (feats[3], 4 * k),
                  "fastrcnn/box/b": (4 * k,)})
        mask_in = feats[3]
    if mask:
        v.update({"maskrcnn/deconv/W": (2, 2, mask_dim, mask_in), "maskrcnn/deconv/b": (mask_dim,),
                  "maskrcnn/conv/W": (1, 1, mask_dim, num_category), "maskrcnn/conv/b": (num_category,)})
    return v


def write_npz(path, shapes, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {n: (np.abs(rng.normal(1, 0.1, s)) if n.endswith("variance/EMA") else rng.normal(0, 0.05, s))
              .astype(np.float32) for n, s in shapes.items()}
    np.savez(path, **arrays)
    return arrays


def test_claran_maps_exactly_tensorpacks_names_and_shapes():
    from claran.config import Config
    from claran.modeling import build_model
    from claran.tensorpack_weights import tensorpack_names, to_claran

    for fpn, mask in ((True, True), (False, True), (True, False)):
        cfg = Config().update_args([f"MODE_FPN={fpn}", f"MODE_MASK={mask}", "DATA.CLASS_NAMES=['a','b','c']", *SMALL])
        model = build_model(cfg.finalize(is_training=False))
        names = tensorpack_names(model)
        want = tensorpack_variables(fpn=fpn, mask=mask)
        assert set(names) == set(want)
        own = model.state_dict()
        for n, key in names.items():
            assert to_claran(n, np.zeros(want[n], np.float32), tuple(own[key].shape)).shape == own[key].shape, n


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    d = tmp_path_factory.mktemp("zoo")
    return {"imagenet": (d / "ImageNet-R50-AlignPadding.npz",
                         write_npz(d / "ImageNet-R50-AlignPadding.npz", tensorpack_variables(imagenet=True))),
            "det": (d / "COCO-R50FPN-MaskRCNN-Standard.npz",
                    write_npz(d / "COCO-R50FPN-MaskRCNN-Standard.npz", tensorpack_variables(), seed=1))}


def test_npz_loads_with_backbone_weights_and_load(zoo, tiny_coco, tmp_path, capsys):
    (inet, a), (det, b) = zoo["imagenet"], zoo["det"]
    log = tmp_path / "log"
    code, _, err = _run(["train", "--dataset", "coco", "--data", str(tiny_coco), "--logdir", str(log), "--no-progress",
                         "--config", "MODE_FPN=True", f"BACKBONE.WEIGHTS={inet}", *FROZEN], capsys)
    assert code == 0, err
    sd = load_checkpoint(log / "model-1.pt")["model"]
    w = torch.from_numpy(a["conv0/W"].transpose(3, 2, 0, 1)[:, ::-1].copy())  # HWIO -> OIHW, BGR -> RGB
    assert torch.equal(sd["backbone.body.conv1.weight"], w)
    assert torch.equal(sd["backbone.body.layer3.5.conv2.weight"],
                       torch.from_numpy(a["group2/block5/conv2/W"].transpose(3, 2, 0, 1).copy()))
    assert torch.equal(sd["backbone.body.layer2.0.downsample.1.running_var"],
                       torch.from_numpy(a["group1/block0/convshortcut/bn/variance/EMA"]))
    log2 = tmp_path / "log2"
    code, _, err = _run(["train", "--dataset", "coco", "--data", str(tiny_coco), "--logdir", str(log2), "--load",
                         str(det), "--no-progress", "--config", "MODE_FPN=True", *FROZEN], capsys)
    assert code == 0, err
    sd = load_checkpoint(log2 / "model-1.pt")["model"]
    for key, name in [("roi_heads.box_head.fc6.weight", "fastrcnn/fc6/W"),
                      ("roi_heads.box_predictor.bbox_pred.weight", "fastrcnn/outputs/box/W"),
                      ("roi_heads.box_predictor.cls_score.bias", "fastrcnn/outputs/class/b")]:
        assert torch.equal(sd[key], torch.from_numpy(b[name].T.copy())), name  # fc [in, out] -> [out, in]
    for key, name in [("rpn.head.cls_logits.weight", "rpn/class/W"), ("backbone.inner_blocks.0.0.weight",
                      "fpn/lateral_1x1_c2/W"), ("roi_heads.mask_head.deconv.weight", "maskrcnn/deconv/W")]:
        assert torch.equal(sd[key], torch.from_numpy(b[name].transpose(3, 2, 0, 1).copy())), name


def test_load_npz_of_another_class_count_keeps_the_rest(tiny_coco, tmp_path, capsys):
    other = tmp_path / "COCO-80.npz"
    b = write_npz(other, tensorpack_variables(num_category=80))
    code, _, err = _run(["train", "--dataset", "coco", "--data", str(tiny_coco), "--logdir", str(tmp_path / "l"),
                         "--load", str(other), "--no-progress", "--config", "MODE_FPN=True", *FROZEN], capsys)
    assert code == 0, err
    sd = load_checkpoint(tmp_path / "l" / "model-1.pt")["model"]
    assert sd["roi_heads.box_predictor.cls_score.weight"].shape == (4, 64)  # 3 classes + background: at init
    assert torch.equal(sd["roi_heads.box_head.fc7.weight"], torch.from_numpy(b["fastrcnn/fc7/W"].T.copy()))


def test_npz_with_other_names_is_one_line_naming_the_variable(zoo, tiny_coco, tmp_path, capsys):
    bad = tmp_path / "other.npz"
    shapes = tensorpack_variables(imagenet=True)
    shapes["resnet_v1_50/conv1/weights"] = (7, 7, 3, 64)
    write_npz(bad, shapes)
    for opt in (["--config", "MODE_FPN=True", f"BACKBONE.WEIGHTS={bad}"], ["--load", str(bad)]):
        code, _, err = _run(["train", "--dataset", "coco", "--data", str(tiny_coco), "--logdir", str(tmp_path / "l"),
                             "--no-progress", *opt, *FAST], capsys)
        lines = _error_lines(err)
        assert code != 0 and len(lines) == 1 and "'resnet_v1_50/conv1/weights'" in lines[0], err
        assert "Traceback" not in err


def test_model_zoo_npz_evaluates_with_no_other_option(zoo, tiny_coco, tmp_path, capsys):
    from claran.engine.tensorpack_zoo import _main as convert_main

    det, _ = zoo["det"]
    res = tmp_path / "npz.json"
    code, out, err = _run(["evaluate", "--load", str(det), "--data", str(tiny_coco), "--output", str(res),
                           "--no-progress"], capsys)
    assert code == 0, err
    converted = tmp_path / "COCO-R50FPN-MaskRCNN-Standard.pt"
    convert_main([str(det), str(converted), f"DATA.BASEDIR={tiny_coco}"])  # python -m claran.engine.tensorpack_zoo
    code, out, err = _run(["evaluate", "--load", str(converted), "--output", str(tmp_path / "pt.json"),
                           "--no-progress"], capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "pt.json").read_text()) == json.loads(res.read_text())
    cfg = load_checkpoint(converted)["config"]
    assert cfg["MODE_FPN"] and cfg["MODE_MASK"] and cfg["FPN"]["FRCNN_HEAD_FUNC"] == "fastrcnn_2fc_head"


def test_export_and_load_round_trip_gives_the_same_detections(tmp_path):
    from claran.config import Config
    from claran.modeling import build_model
    from claran.predictor import Predictor
    from claran.tensorpack_weights import export_tensorpack_npz, load_tensorpack_npz

    args = ["MODE_FPN=True", "FPN.CASCADE=True", "DATA.CLASS_NAMES=['a','b','c']", "TEST.RESULT_SCORE_THRESH=0.0",
            *SMALL]
    torch.manual_seed(0)
    a = build_model(Config().update_args(args).finalize(is_training=False)).eval()
    export_tensorpack_npz(a, tmp_path / "a.npz")
    torch.manual_seed(1)
    b = build_model(Config().update_args(args).finalize(is_training=False)).eval()
    load_tensorpack_npz(b, str(tmp_path / "a.npz"), strict=True)
    img = np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    da, db = Predictor(a)(img), Predictor(b)(img)
    assert len(da["scores"]) > 0
    for k in ("boxes", "scores", "labels", "masks"):
        np.testing.assert_array_equal(np.asarray(da[k]), np.asarray(db[k]))
