"""rgz.builder and `claran data rgz`: ClaRAN's DR1 labels -> the RGZ layout, checked against truth.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from claran.errors import UserError
from rgz import RGZ_CLASSES
from rgz.builder import box_astropy_corners, build_rgz, png_boxes_to_frame, read_claran_boxes
from tests.shared_data import shared as _shared


def write_label_subset(tmp: Path) -> tuple[Path, Path, dict]:
    """The catalogue rows and box lines of the 18 rgz-real-dev cutouts, selected from the shared label files."""
    dev = _shared("rgz-real-dev")
    labels = _shared("claran-labels")
    truth = json.loads((dev / "truth.json").read_text())
    ids = {t["first_id"] for t in truth.values()}
    lines = (labels / "rgz_dr1_claran_catalogue.csv").read_text().splitlines()
    cat = tmp / "cat.csv"
    cat.write_text("\n".join([lines[0]] + [x for x in lines[1:] if x.split(",")[1] in ids]) + "\n")
    boxes = tmp / "boxes.txt"
    with open(labels / "claran_gt_boxes.txt") as f:
        sel = [x for x in f if Path(x.split()[0]).name.split("_logminmax")[0] in ids]
    boxes.write_text("".join(sel))
    assert len(sel) == 18
    return cat, boxes, truth


def test_png_box_convention():
    # 1-based inclusive PNG corners (row 0 = north) -> continuous FITS-order frame coordinates
    fb = png_boxes_to_frame(np.array([[1, 1, 132, 132], [51, 32, 109, 90]]))
    assert fb[0].tolist() == [0, 0, 132, 132]
    assert fb[1].tolist() == [50, 42, 109, 101]


def test_builder_reproduces_truth_boxes(tmp_path):
    cat, boxes, truth = write_label_subset(tmp_path)
    rep = build_rgz(catalogue=cat, boxes=boxes, images=_shared("rgz-real-dev") / "fits", out=tmp_path / "out")
    assert rep.images == 18 and not rep.missing and not rep.unreadable
    ann = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert [c["name"] for c in ann["categories"]] == list(RGZ_CLASSES)
    n = 0
    for img in ann["images"]:
        assert (tmp_path / "out" / img["file_name"]).is_file()
        assert img["split"] in ("train", "test")
        mine = [a for a in ann["annotations"] if a["image_id"] == img["id"]]
        objs = truth[img["first_id"] + ".fits"]["objects"]
        assert len(mine) == len(objs)
        for o in objs:
            err = [np.abs(box_astropy_corners(a["bbox"]) - np.asarray(o["box"])).max() for a in mine]
            best = int(np.argmin(err))
            assert err[best] < 1.5, (img["first_id"], err)
            assert RGZ_CLASSES[mine[best]["category_id"] - 1] == o["class"]
            assert mine[best]["n_components"] == int(o["class"][0]) and mine[best]["n_peaks"] == int(o["class"][3])
            n += 1
    assert n == sum(len(t["objects"]) for t in truth.values())


def test_cli_reports_missing_and_bad_input(tmp_path, capsys):
    from cli.main import main

    cat, boxes, _ = write_label_subset(tmp_path)
    few = tmp_path / "few"
    few.mkdir()
    src = sorted((_shared("rgz-real-dev") / "fits").glob("*.fits"))
    for f in src[:3]:
        (few / f.name).write_bytes(f.read_bytes())
    (few / src[3].name).write_text("not a FITS file")
    main(["data", "rgz", "--catalogue", str(cat), "--boxes", str(boxes), "--images", str(few),
          "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert "wrote 3 images" in out and "14 images missing" in out and "1 unreadable FITS" in out
    assert len(json.loads((tmp_path / "o" / "annotations.json").read_text())["images"]) == 3

    (tmp_path / "empty").mkdir()
    for argv, expect in [
        (["--images", str(tmp_path / "nowhere")], "no such folder"),
        (["--images", str(tmp_path / "empty")], "none of the 18 labelled images"),
    ]:
        with pytest.raises(SystemExit) as e:
            main(["data", "rgz", "--catalogue", str(cat), "--boxes", str(boxes), "--out", str(tmp_path / "x"), *argv])
        assert e.value.code != 0
        err = capsys.readouterr().err
        assert expect in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    bad_cat = tmp_path / "bad.csv"
    bad_cat.write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match="lacks column"):
        build_rgz(catalogue=bad_cat, boxes=boxes, images=few, out=tmp_path / "y")
    bad_boxes = tmp_path / "bad.txt"
    bad_boxes.write_text("garbage\n")
    with pytest.raises(UserError, match="no line in ClaRAN's box format"):
        read_claran_boxes(bad_boxes)
    assert not (tmp_path / "y" / "annotations.json").exists()
