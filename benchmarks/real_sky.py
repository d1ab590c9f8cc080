"""Real-sky benchmark of an RGZ model: real FIRST pixels and RGZ labels only, none of it simulated.

    python benchmarks/real_sky.py [--model CKPT] [--json out.json] [--mirabest N]

Five measurements, each on real data that no setting of the bundled model was tuned on unless stated, several also
as judged-kind cutouts (100 px of a field centred on a source, detected alone, as the judged set is):
1. ``dev``: mAP50 on the 18 labelled dev cutouts (``rgz-real-dev``), scored by ``../shared/tools/rgz_score.py``.
2. ``dr1_boxes``: mAP50 on the RGZ DR1 sources that have a ClaRAN box (``claran_gt_boxes.txt``) and lie
   inside a ``mirabest-fields`` image (none near the judged set). Each source becomes a 3' x 3' labelled
   window of its field, centred on its FIRST position as a cutout server would centre it: the truth boxes
   are ClaRAN's (132 px frame at 1.3748"/px) mapped to the field's pixels through the sky; the detector runs
   on the whole field, and the rows whose box centre falls in the window are scored.
   ``dr1_rule_windows`` does the same around every RGZ subject with a classed DR1 source (130 windows; every DR1
   source in a window is its truth, duplicates of one source merged), truth boxes drawn by the contour rule on
   RGZ's grouping (the islands under the catalogued components) with RGZ's class; rows that overlap no DR1 source are not scored (DR1 does not list every
   source in a field). More than twice the sources, so a narrower interval; the rule's boxes agree with
   ClaRAN's (median IoU 0.90 on the 51). It scores grouping and class, not the unlabelled neighbours.
   ``dr1_cutouts``: the boxed windows that lie wholly inside their field, cut out as 100 px cutouts of the
   field's own pixels and detected one by one, as the judged set is (beside it, the field-detected rows of the
   same windows: whether detecting whole fields makes measure 2 unlike the judge).
   ``dr1_rule_cutouts``: the same for the rule windows (80 of the 130 lie wholly inside their field): the judged
   set's kind with four times 2c's windows; as in 2b, only rows touching a DR1 source are scored.
   ``dr1_rule_cutouts_all_rows`` (2e): the same cutouts with every row scored, as the judge scores its cutouts
   (a pessimistic bound: DR1 does not list every source, so a real unlisted neighbour counts as a false row).
   Both also on the judged set's classes (``judged_classes``): its labels hold no 2C_2P, and the judge averages
   over the classes its truth holds, so the windows with a 2C_2P source are left out and 2C_2P rows count for
   nothing. The closest proxies of the judged set here.
3. ``dr1_class``: class accuracy for every DR1 source inside a field (``num_cpnts``, ``num_peaks``): the
   highest-scoring row whose box contains the source position (the mean of its component positions).
   ``dr1_class_cutouts`` (3c): the same from a 100 px cutout centred on each source, detected alone.
4. ``sizes``: box size against RGZ's ``ang_extent`` (DR1 sources) and MiraBest's ``size_arcsec`` (the
   source at the centre of each field): the median of size / reference and the scatter (half the 16-84 %
   range of log10 of the ratio); and FRI / FRII against the component count of the centre row.
5. ``mirabest_grouping``: whether the galaxy at the centre of each field comes out as one row grouped as RGZ's
   rule groups it when the grouping is given (the islands reaching within half MiraBest's size plus a beam of
   the centre, ``rgz.simulate.real.centre_source``, as the injected real sources are labelled): the share with
   a row at IoU >= 0.5 with that group's RGZ box, and with the rule's class as well. Hundreds of real sources
   where 2 and 3 have tens: the sharpest real-sky measure of grouping here, though its truth is this
   size-based grouping, not RGZ's volunteers. ``mirabest_cutouts`` (5c): the same galaxies, where their box fits
   one, as 100 px cutouts centred on them and detected alone, as the judged set's subjects are.

Models trained with real sources injected (``claran simulate --real-sources``) must not have seen these fields:
2-4 use only the fields ``benchmarks/real_split.py`` holds out (``--all-fields`` for every field, as before
that split existed; the DR1 fields are held out either way).

Each measure rests on tens to hundreds of sources, so each comes with a 90 % bootstrap interval (windows
resampled for 2, sources for 3 and 5), and the JSON keeps every source's outcome: compare two models source by
source with ``benchmarks/compare_real_sky.py A.json B.json`` before calling a difference real. ``--keep-cutouts DIR``
keeps the judged-kind cutouts, so any version of claran (an old checkout) or another tool can detect them and
``benchmarks/score_cutouts.py`` score its catalogue on the same truth.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.real_split import first_id_position  # noqa: E402
from benchmarks.rgz_accuracy import load_scorer  # noqa: E402
from rgz import FRAME_SIZE, RGZ_CLASSES  # noqa: E402
from rgz.fits_io import pixel_scale_arcsec  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
# the classes the judged set's labels hold (issue 12: "2C_2P does not occur in the labels at all"; nor in the dev's)
JUDGED_CLASSES = tuple(c for c in RGZ_CLASSES if c != "2C_2P")
WINDOW_ARCSEC = 180.0  # a FIRST cutout server's 3' cutout, as in rgz-real-dev
# file names of the judged-kind cutouts (measures 2c and 2d): prefix + window key (``--keep-cutouts``)
BOXED_CUTOUT, RULE_CUTOUT = "cutout_", "rulecut_"


def dr1_sources(data: Path) -> list[dict]:
    """DR1 sources inside a mirabest-fields image, each placed in the field where it is most central (read once
    per folder: the dicts are shared, read them only). Every catalogue row is a source (``catalog_id``): an RGZ
    subject (``first_id``, the FIRST position its image was centred on, ``ra``/``dec`` here) can hold several."""
    return list(_dr1_sources(Path(data).resolve()))


@functools.lru_cache(maxsize=2)
def _dr1_sources(data: Path) -> tuple[dict, ...]:
    import pandas as pd
    from astropy.io import fits
    from astropy.wcs import WCS

    from rgz.builder import read_claran_boxes

    cat = pd.read_csv(data / "claran-labels" / "rgz_dr1_claran_catalogue.csv")
    boxes, _ = read_claran_boxes(data / "claran-labels" / "claran_gt_boxes.txt")
    pos = np.array([first_id_position(f) for f in cat.first_id])
    best: dict[str, dict] = {}
    for f in sorted((data / "mirabest-fields" / "fits").glob("*.fits")):
        h = fits.getheader(f)
        w = WCS(h).celestial
        nx, ny = h["NAXIS1"], h["NAXIS2"]
        x, y = w.world_to_pixel_values(pos[:, 0], pos[:, 1])
        margin = np.minimum.reduce([x, y, nx - 1 - x, ny - 1 - y])
        for i in np.flatnonzero(margin > 0):
            r = cat.iloc[i]
            if r.catalog_id in best and best[r.catalog_id]["margin"] >= margin[i]:
                continue
            ras = np.array(str(r.cpnts_ras).split(";"), float)
            decs = np.array(str(r.cpnts_decs).split(";"), float)
            best[r.catalog_id] = {
                "first_id": r.first_id, "catalog_id": int(r.catalog_id), "field": str(f), "margin": float(margin[i]),
                "ra": pos[i, 0], "dec": pos[i, 1], "cpnt_ra": ras, "cpnt_dec": decs, "num_cpnts": int(r.num_cpnts),
                "num_peaks": int(r.num_peaks), "ang_extent": float(r.ang_extent), "training": int(r.training),
                "png_boxes": boxes.get(r.first_id)}
    return tuple(sorted(best.values(), key=lambda s: (s["first_id"], s["catalog_id"])))


def truth_in_field(src: dict, wcs) -> list[dict]:
    """ClaRAN's boxes of one source (PNG frame) -> the judge's objects in the field's astropy pixels."""
    from astropy.coordinates import SkyCoord

    from rgz.builder import png_boxes_to_frame
    from rgz.coords import detector_to_astropy
    from rgz.frame import FrameSpec, frame_wcs, transform_boxes

    png = np.array(src["png_boxes"], dtype=np.float64)
    fb = png_boxes_to_frame(png[:, :4], FRAME_SIZE)
    centre = SkyCoord(src["ra"], src["dec"], unit="deg")
    ib = transform_boxes(fb, frame_wcs(centre, FrameSpec()), wcs)
    return [{"class": RGZ_CLASSES[int(c)], "box": detector_to_astropy(b).tolist()} for b, c in zip(ib, png[:, 4])]


def score_text(scorer, truth: dict, table, work: Path, tag: str) -> dict:
    from catalogs import write_catalog

    cat, tpath = work / f"{tag}.ecsv", work / f"{tag}_truth.json"
    write_catalog(table, cat, overwrite=True)
    tpath.write_text(json.dumps(truth))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        m, centre = scorer.main(str(tpath), str(cat))
    lines = out.getvalue().strip().splitlines()
    toks = lines[0].split()
    return {"mAP50": m, "centre_accuracy": centre, "per_class_AP50": dict(zip(toks[0::2], map(float, toks[1::2]))),
            "n_images": len(truth), "n_rows": len(table), "report": "\n".join(lines)}


def islands_under(labels: np.ndarray, positions: np.ndarray) -> list[int]:
    """RGZ's grouping on an island map: the island that covers most of the 7 x 7 px around each catalogued
    component position (``positions``: astropy x, y), once each, sorted."""
    ids = set()
    for x, y in np.rint(positions).astype(int):
        win = labels[max(0, y - 3):y + 4, max(0, x - 3):x + 4]
        if win.any():
            ids.add(int(np.bincount(win.ravel())[1:].argmax()) + 1)
    return sorted(ids)


def dr1_rule_windows(srcs: list[dict], wcs: dict, rules=None) -> dict:
    """Measurement 2b: a 3' window around every DR1 source with a class (not only the 51 ClaRAN boxed), its truth
    every DR1 source whose box centre lies in the window (as rows are chosen): RGZ's class (``num_cpnts``, ``num_peaks``) and
    grouping (the islands under its components), boxed by the rule (on the 51, median IoU 0.90 with ClaRAN's).
    DR1 lists some sources once per FIRST component it was centred on: one source (the same islands) is one
    object, and one window (around the first of them). ``rules``: the contour rule drawing the boxes (default
    ``LabelRules()``; pass the detector's, so a rule variant is scored against its own boxes)."""
    from astropy.io import fits

    from rgz.contours import LabelRules, find_islands, group_class, source_box
    from rgz.coords import detector_to_astropy

    rules = rules or LabelRules()
    fields: dict = {}
    for s in srcs:
        cls = f"{s['num_cpnts']}C_{min(s['num_peaks'], 3)}P"
        if cls not in RGZ_CLASSES or s["field"] not in wcs:
            continue
        if s["field"] not in fields:
            img = np.squeeze(fits.getdata(s["field"])).astype(np.float64)
            fields[s["field"]] = (img, find_islands(img, rules, min_diag=rules.min_diag_fraction * 100), [])
        img, isl, objs = fields[s["field"]]
        pos = np.stack(wcs[s["field"]].world_to_pixel_values(s["cpnt_ra"], s["cpnt_dec"]), 1)
        ids = islands_under(isl.labels, pos)
        if ids and all(o["ids"] != ids for o in objs):  # RGZ subjects centred on different parts of one source
            box = detector_to_astropy(source_box(isl, ids, img.shape, True, image=img, rules=rules)).tolist()
            rule = group_class(img, isl, ids)
            objs.append({"class": cls, "box": box, "ids": ids, "source": s,
                         "rule_class": RGZ_CLASSES[rule - 1] if rule else None})
    truth = {}
    for f, (_, _, objs) in fields.items():
        half = WINDOW_ARCSEC / 2 / pixel_scale_arcsec(wcs[f])
        for o in objs:
            x0, y0 = wcs[f].world_to_pixel_values(o["source"]["ra"], o["source"]["dec"])
            inside = [p for p in objs  # as rows are chosen: by box centre
                      if abs((p["box"][0] + p["box"][2]) / 2 - x0) <= half and abs((p["box"][1] + p["box"][3]) / 2 - y0) <= half]
            truth[f"{o['source']['first_id']}.fits"] = {
                "objects": [{"class": p["class"], "box": p["box"]} for p in inside], "field": f,
                "centre": (o["source"]["ra"], o["source"]["dec"]), "rule_classes": [p["rule_class"] for p in inside]}
    return truth


def window_rows(table, key: str, wcs, ra: float, dec: float, half_px: float):
    """Rows of one field whose box centre lies in the window around (ra, dec); image renamed to ``key``."""
    x0, y0 = wcs.world_to_pixel_values(ra, dec)
    cx = (np.asarray(table["x_min"]) + np.asarray(table["x_max"])) / 2
    cy = (np.asarray(table["y_min"]) + np.asarray(table["y_max"])) / 2
    t = table[(np.abs(cx - x0) <= half_px) & (np.abs(cy - y0) <= half_px)]
    t["image"] = key
    return t


def field_cutout(field: str, ra: float, dec: float, work: Path, name: str, partial: bool = False):
    """A 3' cutout of ``field``'s own pixels centred on (ra, dec) (``Cutout2D``: the pixel grid, values and WCS
    of the field, as a cutout server cuts FIRST) written to ``work/name``: only where it lies wholly inside the
    field (a server's cutout has no blank edge), or with ``partial`` only where it does not, its missing pixels
    NaN. Returns (file, Cutout2D) or None."""
    from astropy.io import fits
    from astropy.nddata import Cutout2D
    from astropy.nddata.utils import NoOverlapError, PartialOverlapError
    from astropy.wcs import WCS

    with fits.open(field) as h:
        data, header = np.squeeze(h[0].data), h[0].header
        w = WCS(header).celestial
    n = int(round(WINDOW_ARCSEC / pixel_scale_arcsec(w)))
    pos = w.world_to_pixel_values(ra, dec)
    try:
        c = Cutout2D(data, pos, (n, n), wcs=w, mode="strict")
        if partial:
            return None
    except PartialOverlapError:
        if not partial:
            return None
        c = Cutout2D(data.astype(np.float32), pos, (n, n), wcs=w, mode="partial", fill_value=np.nan)
    except NoOverlapError:
        return None
    hdr = c.wcs.to_header()
    hdr["BUNIT"] = header.get("BUNIT", "JY/BEAM")
    f = work / name
    fits.PrimaryHDU(np.asarray(c.data, dtype=np.float32), hdr).writeto(f, overwrite=True)
    return str(f), c


def window_cutouts(srcs: list[dict], work: Path, partial: bool = False) -> dict[str, tuple[str, list[dict]]]:
    """The boxed DR1 windows as the judged set has them (``field_cutout``: wholly inside their field, or with
    ``partial`` only the others). Returns window -> (cutout file, the judge's objects in its pixels)."""
    out = {}
    for s in srcs:
        if not s["png_boxes"] or f"{s['first_id']}.fits" in out:  # one window per RGZ subject
            continue
        got = field_cutout(s["field"], s["ra"], s["dec"], work, f"{BOXED_CUTOUT}{s['first_id']}.fits", partial)
        if got:
            out[f"{s['first_id']}.fits"] = (got[0], truth_in_field(s, got[1].wcs))
    return out


def rule_window_cutouts(rule_truth: dict, work: Path, offset_px: float = 0.0) -> dict[str, tuple[str, list[dict]]]:
    """Measurement 2d: the DR1 rule windows (``dr1_rule_windows``) that lie wholly inside their field as 100 px
    cutouts (``field_cutout``), their truth boxes moved to the cutout's pixels (the same grid). ``offset_px``: centre
    each cutout that many field pixels right of and above the source instead (how much centring matters). Returns
    window -> (cutout file, the judge's objects)."""
    from astropy.io import fits
    from astropy.wcs import WCS

    out = {}
    for key, v in rule_truth.items():
        centre = v["centre"]
        if offset_px:
            w = WCS(fits.getheader(v["field"])).celestial
            x, y = w.world_to_pixel_values(*centre)
            centre = tuple(float(c) for c in w.pixel_to_world_values(x + offset_px, y + offset_px))
        got = field_cutout(v["field"], *centre, work, f"{RULE_CUTOUT}{key}", False)
        if got:
            x0, y0 = got[1].origin_original
            out[key] = (got[0], [{"class": o["class"], "box": (np.asarray(o["box"]) - [x0, y0, x0, y0]).tolist()}
                                 for o in v["objects"]])
    return out


def touching(table, objects: list[dict]):
    """The rows of ``table`` whose box overlaps one of ``objects``' boxes: DR1 lists only the sources RGZ made
    subjects of, so rows touching none of them are not scored."""
    if not len(table):
        return table
    return table[[any(iou([float(r[c]) for c in ("x_min", "y_min", "x_max", "y_max")], o["box"]) > 0
                      for o in objects) for r in table]]


def dr1_class_accuracy(srcs: list[dict], rows_for) -> tuple[dict, list[float]]:
    """Measurement 3: each DR1 source's class (RGZ's ``num_cpnts``, ``num_peaks``) against the highest-scoring row
    whose box contains its position (the mean of its component positions); ``rows_for(source)`` gives the rows
    and their WCS, or None to leave the source out. Also the box size over ``ang_extent`` of each row found."""
    right, n, confusion, ext, each = 0, 0, {}, [], []
    for s in srcs:
        truth_cls = f"{s['num_cpnts']}C_{min(s['num_peaks'], 3)}P"
        got_rows = rows_for(s) if truth_cls in RGZ_CLASSES else None
        if got_rows is None:
            continue
        n += 1
        r = row_at(got_rows[0], got_rows[1], float(np.mean(s["cpnt_ra"])), float(np.mean(s["cpnt_dec"])))
        got = str(r["morphology"]) if r is not None else "none"
        right += got == truth_cls
        each.append({"first_id": s["first_id"], "catalog_id": s["catalog_id"], "class": truth_cls, "got": got,
                     "class_ok": got == truth_cls})
        confusion.setdefault(truth_cls, {}).setdefault(got, 0)
        confusion[truth_cls][got] += 1
        if r is not None:
            ext.append(float(r["size"]) / s["ang_extent"])
    return {"n": n, "accuracy": right / max(n, 1), "confusion": confusion,
            "accuracy_90": interval([e["class_ok"] for e in each]), "sources": each}, ext


def cutout_rows(det, cuts: dict, min_score: float) -> tuple[dict, object]:
    """Each cutout of ``cuts`` (key -> (cutout file, anything)) detected alone: key -> its rows, renamed to the key
    (keys without rows left out), and an empty table with the catalogue's columns."""
    ct = det.detect_many([f for f, _ in cuts.values()], min_score=min_score).table
    tables = {}
    for key, (f, _) in cuts.items():
        t = ct[ct["image"] == f]
        t["image"] = key
        if len(t):
            tables[key] = t
    return tables, ct[:0]


def row_at(table, wcs, ra: float, dec: float):
    """The highest-scoring row whose box contains (ra, dec), or None."""
    if not len(table):
        return None
    x, y = wcs.world_to_pixel_values(ra, dec)
    inside = ((table["x_min"] - 0.5 <= x) & (x <= table["x_max"] + 0.5)
              & (table["y_min"] - 0.5 <= y) & (y <= table["y_max"] + 0.5))
    if not inside.any():
        return None
    t = table[inside]
    return t[int(np.argmax(t["score"]))]


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy + 1e-9)


def print_details(truth: dict, table) -> None:
    """Each labelled source with the row that overlaps it most, and each row that matches no label."""
    matched = labelled = extra = 0
    for key, v in truth.items():
        rows = table[table["image"] == key]
        boxes = [[float(r[c]) for c in ("x_min", "y_min", "x_max", "y_max")] for r in rows]
        used = set()
        for o in v["objects"]:
            ious = [iou(b, o["box"]) for b in boxes]
            j = int(np.argmax(ious)) if ious else -1
            got = f"{rows[j]['morphology']} {rows[j]['score']:.2f} IoU {ious[j]:.2f}" if j >= 0 else "no row"
            side = o["box"][2] - o["box"][0]
            print(f"  {key} {o['class']} side {side:.1f}: {got}")
            labelled += 1
            matched += j >= 0 and ious[j] >= 0.5
            used.add(j)
        for j, r in enumerate(rows):
            if j not in used:
                extra += 1
                print(f"  {key}   extra row {r['morphology']} {r['score']:.2f} side {r['x_max'] - r['x_min']:.1f}")
    print(f"  {matched} of {labelled} labelled sources have a row at IoU >= 0.5; {extra} rows match no label")


def mirabest_truth(labels, data: Path, wcs: dict, rules=None) -> list[dict]:
    """The centre galaxy of each field grouped by the rule with its size given (``centre_source``): its field,
    position, MiraBest size, the rule's class and its RGZ box (astropy pixels of the field). ``rules``: the contour
    rule, default ``LabelRules()``; pass the detector's, so a rule variant is scored against its own grouping."""
    from astropy.io import fits

    from rgz.contours import LabelRules, source_box
    from rgz.coords import detector_to_astropy
    from rgz.simulate.real import GALAXY_MARGIN_ARCSEC, centre_source

    rules = rules or LabelRules()
    out = []
    for rec in labels.itertuples():
        f = str(data / "mirabest-fields" / "fits" / rec.file)
        if f not in wcs:
            continue
        w = wcs[f]
        img = np.squeeze(fits.getdata(f)).astype(np.float64)
        x, y = w.world_to_pixel_values(rec.ra, rec.dec)
        found = centre_source(img, (float(x), float(y)),
                              (rec.size_arcsec / 2 + GALAXY_MARGIN_ARCSEC) / pixel_scale_arcsec(w), rules)
        if found is None:
            continue
        isl, ids, cid = found
        out.append({"file": rec.file, "field": f, "ra": float(rec.ra), "dec": float(rec.dec),
                    "size_arcsec": float(rec.size_arcsec), "class": RGZ_CLASSES[cid - 1],
                    "box": detector_to_astropy(source_box(isl, ids, img.shape, True, image=img, rules=rules)).tolist()})
    return out


def mirabest_grouping(truths: list[dict], tables: dict, offsets: dict | None = None) -> dict:
    """Measurement 5: whether each centre galaxy (``mirabest_truth``) has a row at IoU >= 0.5 with its RGZ box,
    and with the rule's class. ``tables``: rows by field (or by file, for cutouts); ``offsets``: file -> the
    (x, y) of the cutout's origin in its field, whose rows are in the cutout's pixels (galaxies without one are
    not scored)."""
    n = grouped = right = 0
    per: dict = {}
    each = []
    for t in truths:
        box = t["box"]
        if offsets is not None:
            if t["file"] not in offsets:
                continue
            x0, y0 = offsets[t["file"]]
            box = [box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0]
        rows = tables.get(t["file"] if offsets is not None else t["field"], [])
        ious = [iou([float(r[c]) for c in ("x_min", "y_min", "x_max", "y_max")], box) for r in rows]
        j = int(np.argmax(ious)) if ious else -1
        ok = j >= 0 and ious[j] >= 0.5
        cls_ok = ok and str(rows[j]["morphology"]) == t["class"]
        n, grouped, right = n + 1, grouped + ok, right + cls_ok
        each.append({"file": t["file"], "size_arcsec": t["size_arcsec"], "class": t["class"],
                     "grouped": bool(ok), "class_ok": bool(cls_ok)})
        d = per.setdefault(t["class"], {"n": 0, "grouped": 0, "right": 0})
        d["n"], d["grouped"], d["right"] = d["n"] + 1, d["grouped"] + ok, d["right"] + cls_ok
    return {"n": n, "grouped": grouped / max(n, 1), "grouped_and_class": right / max(n, 1),
            "grouped_90": interval([e["grouped"] for e in each]),
            "grouped_and_class_90": interval([e["class_ok"] for e in each]),
            "per_class": {k: {"n": v["n"], "grouped": v["grouped"] / v["n"], "grouped_and_class": v["right"] / v["n"]}
                          for k, v in per.items()},
            "sources": each}


def mirabest_cutouts(truths: list[dict], work: Path) -> dict[str, tuple[str, tuple[float, float]]]:
    """Measurement 5c: each centre galaxy as the judged set has its sources, a 100 px cutout of its field centred
    on it (``field_cutout``), where the cutout holds its whole RGZ box (an RGZ cutout holds its subject).
    Returns file -> (cutout file, (x, y) of the cutout's origin in the field)."""
    out = {}
    for t in truths:
        got = field_cutout(t["field"], t["ra"], t["dec"], work, f"mb_{t['file']}", False)
        if not got:
            continue
        x0, y0 = got[1].origin_original
        n = got[1].data.shape[1]
        b = t["box"]
        if b[0] - x0 >= -0.5 and b[1] - y0 >= -0.5 and b[2] - x0 <= n - 0.5 and b[3] - y0 <= n - 0.5:
            out[t["file"]] = (got[0], (float(x0), float(y0)))
    return out


def interval(values, stat=np.mean, n: int = 1000, seed: int = 0) -> list[float]:
    """90 % bootstrap interval of ``stat`` over ``values`` resampled with replacement."""
    v = np.asarray(values, dtype=np.float64)
    if not len(v):
        return [float("nan")] * 2
    rng = np.random.default_rng(seed)
    got = [stat(v[rng.integers(0, len(v), len(v))]) for _ in range(n)]
    return [float(x) for x in np.percentile(got, [5, 95])]


def score_windows(scorer, truth: dict, tables: dict, work: Path, tag: str, n_boot: int, empty) -> dict:
    """The judge's mAP50 of windows (``truth``) against their rows (``tables``: window -> rows; ``empty``: a
    table with no rows), each window's truth and rows (``windows``: score, class, box; for the bootstrap here and
    compare_real_sky.py's paired one) and a bootstrap interval from ``n_boot`` resamples (0: none)."""
    from astropy.table import vstack

    res = score_text(scorer, truth, vstack(list(tables.values())) if tables else empty, work, tag)
    res.pop("centre_accuracy")  # the judge's centre pixel is that of a 100 px cutout
    res["windows"] = {k: {"truth": v["objects"], "rows": row_lists(tables[k]) if k in tables else []}
                      for k, v in truth.items()}
    if n_boot and tables:
        res["mAP50_90"] = windows_interval(res["windows"], n_boot)
    res["mAP50_ranked"] = windows_map(ranked_windows(res["windows"]), sorted(res["windows"]))
    return res


def row_lists(table) -> list[list]:
    """A catalogue's rows as the ``windows`` of ``score_windows`` keep them: [score, class, x_min, y_min, x_max,
    y_max]."""
    return [[float(r["score"]), str(r["morphology"]).strip(), *(float(r[c]) for c in ("x_min", "y_min", "x_max", "y_max"))]
            for r in table]


def interval_text(values: list[float] | None) -> str:
    """`` (90 %: lo-hi)`` for a bootstrap interval, or nothing when there is none."""
    return " (90 %: {:.3f}-{:.3f})".format(*values) if values else ""


def windows_eval(windows: dict, keys: list[str]) -> dict[str, float]:
    """``rgz.evaluation.evaluate_ap50`` (the judge's rule, in memory: the same numbers as the judge's file round
    trip, checked on the real-sky sets) of the windows ``keys`` of ``score_windows``' ``windows`` (repeats allowed:
    each draw is a window of its own): ``mAP50`` and ``AP50/<class>``."""
    from rgz.evaluation import evaluate_ap50

    gt, results = {}, []
    for j, k in enumerate(keys):
        objs = windows[k]["truth"]
        gt[j] = (np.array([o["box"] for o in objs], dtype=np.float64).reshape(-1, 4),
                 np.array([RGZ_CLASSES.index(o["class"]) + 1 for o in objs], dtype=int))
        results += [{"image_id": j, "category_id": RGZ_CLASSES.index(m) + 1, "score": s,
                     "bbox": [x0, y0, x1 - x0, y1 - y0]} for s, m, x0, y0, x1, y1 in windows[k]["rows"]
                    if m in RGZ_CLASSES]
    return evaluate_ap50(gt, results, RGZ_CLASSES)


def windows_map(windows: dict, keys: list[str]) -> float:
    """mAP50 of the windows ``keys`` (``windows_eval``)."""
    return windows_eval(windows, keys)["mAP50"]


def matched_rows(window: dict) -> list[bool]:
    """Whether each row of one window (``score_windows``' ``windows``) is a true positive by the judge's rule: best
    score first, a row takes the unmatched labelled source of its class with the largest IoU if that is >= 0.5."""
    used: set[int] = set()
    ok = [False] * len(window["rows"])
    for i in sorted(range(len(ok)), key=lambda i: -window["rows"][i][0]):
        _, m, *box = window["rows"][i]
        ious = [iou(box, o["box"]) if o["class"] == m else -1.0 for o in window["truth"]]
        j = int(np.argmax(ious)) if ious else -1
        if j >= 0 and ious[j] >= 0.5 and j not in used:
            used.add(j)
            ok[i] = True
    return ok


def judged_classes(windows: dict) -> dict:
    """The windows (``score_windows``' ``windows``) the judged set could hold: those whose labelled sources are all
    of ``JUDGED_CLASSES``. Their rows stay as they are: the judge's mean runs over the classes its truth holds
    (``evaluate_ap50`` skips a class with no labelled source), so a 2C_2P row counts for nothing, as it does there."""
    return {k: w for k, w in windows.items() if all(o["class"] in JUDGED_CLASSES for o in w["truth"])}


def judged_summary(windows: dict, n_boot: int) -> dict:
    """mAP50, per-class AP50, window count, bootstrap interval and ranked-perfectly mAP50 (``ranked_windows``) of
    the ``judged_classes`` of ``windows``."""
    w = judged_classes(windows)
    e = windows_eval(w, sorted(w))
    return {"mAP50": e["mAP50"], "per_class_AP50": {k.removeprefix("AP50/"): v for k, v in e.items() if k != "mAP50"},
            "n_images": len(w), "mAP50_90": windows_interval(w, n_boot) if n_boot and w else None,
            "mAP50_ranked": windows_map(ranked_windows(w), sorted(w))}


def ranked_windows(windows: dict) -> dict:
    """The same windows with every row that matches a labelled source (``matched_rows``) ranked above every row
    that does not: the mAP50 of these rows with perfect scores, an upper bound that no rescoring can pass."""
    return {k: {"truth": w["truth"], "rows": [[s + 2.0 * hit, m, *b] for (s, m, *b), hit
                                             in zip(w["rows"], matched_rows(w), strict=True)]}
            for k, w in windows.items()}


def rgz_grouping_map(windows: dict, rule_classes: dict, n: int = 50, seed: int = 0) -> float:
    """The mAP50 of ``windows`` (``score_windows``' ``windows`` of the rule windows) if every labelled source came
    out as one row grouped as RGZ grouped it, boxed as its truth and classed by the rule (``rule_classes``: window
    -> the rule's class of each truth object, None where it gives none), ranked at random (the mean over ``n``
    orders): what the network's grouping and ranking cost, against what the rule's classes cost."""
    rng = np.random.default_rng(seed)
    got = []
    for _ in range(n):
        w = {k: {"truth": v["truth"], "rows": [[float(rng.random()), c, *o["box"]] for c, o
                                               in zip(rule_classes[k], v["truth"], strict=True) if c]}
             for k, v in windows.items()}
        got.append(windows_map(w, sorted(w)))
    return float(np.mean(got))


def windows_interval(windows: dict, n: int, seed: int = 0) -> list[float]:
    """90 % bootstrap interval of the windows' mAP50, windows resampled with replacement."""
    keys = sorted(windows)
    rng = np.random.default_rng(seed)
    got = [windows_map(windows, [keys[i] for i in rng.integers(0, len(keys), len(keys))]) for _ in range(n)]
    return [float(x) for x in np.percentile(got, [5, 95])]


def ratio_stats(r: list[float]) -> dict:
    r = np.asarray([v for v in r if np.isfinite(v) and v > 0])
    if not len(r):
        return {"n": 0}
    lo, hi = np.percentile(np.log10(r), [16, 84])
    return {"n": int(len(r)), "median": float(np.median(r)), "scatter_dex": float((hi - lo) / 2)}


class CachedPredictor:
    """The network's outputs kept on disk by input, so post-processing variants rerun without the network."""

    def __init__(self, predictor, path: Path) -> None:
        import pickle

        self.predictor, self.path = predictor, path
        self.cache = pickle.loads(path.read_bytes()) if path.is_file() else {}
        self.dirty = False

    def predict_batch(self, images: list[np.ndarray]) -> list[dict]:
        import hashlib

        keys = [hashlib.sha1(np.ascontiguousarray(x).tobytes()).hexdigest() for x in images]
        todo = [i for i, k in enumerate(keys) if k not in self.cache]
        if todo:
            run = getattr(self.predictor, "predict_batch", None)
            outs = run([images[i] for i in todo]) if run else [self.predictor(images[i]) for i in todo]
            for i, o in zip(todo, outs, strict=True):
                self.cache[keys[i]] = {k: np.asarray(v) for k, v in o.items()}
            self.dirty = True
        return [self.cache[k] for k in keys]

    def save(self) -> None:
        import pickle

        if self.dirty:
            self.path.write_bytes(pickle.dumps(self.cache))


def json_object(text: str) -> dict:
    """An argparse type: a JSON object (one argparse line, not a traceback, for anything else)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not JSON ({e})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object, {...}")
    return value


def label_rules(text: str):
    """An argparse type: ``rgz.contours.LabelRules`` from a JSON object of its fields."""
    from rgz.contours import LabelRules

    try:
        return LabelRules(**json_object(text))
    except (TypeError, ValueError) as e:
        raise argparse.ArgumentTypeError(f"not LabelRules fields: {e}") from None


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="checkpoint (default: the bundled model)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--scorer", type=Path, default=ROOT.parent / "shared" / "tools" / "rgz_score.py")
    ap.add_argument("--min-score", type=float, default=None, help="catalogue threshold (default: claran detect's)")
    ap.add_argument("--mirabest", type=int, default=None, help="use N mirabest fields (evenly spread) for sizes")
    ap.add_argument("--all-fields", action="store_true",
                    help="sizes and FRI/FRII on every mirabest field, not only real_split.py's held-out ones")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--detector-kwargs", type=json_object, default={},
                    help="JSON of extra Detector.load keyword arguments")
    ap.add_argument("--rules", type=label_rules, default=None,
                    help="JSON of rgz.contours.LabelRules fields (default: the Detector's)")
    ap.add_argument("--details", action="store_true", help="print each DR1 source's best row and the extra rows")
    ap.add_argument("--partial-cutouts", action="store_true",
                    help="also detect the boxed windows that reach past their field as NaN-padded cutouts")
    ap.add_argument("--cache", type=Path, help="keep the network's outputs in this file (post-processing studies)")
    ap.add_argument("--cutout-offset", type=float, default=0.0, metavar="PX",
                    help="centre measure 2d's cutouts PX field pixels right of and above their source (default 0: "
                         "centred, as the judged set's subjects are)")
    ap.add_argument("--keep-cutouts", type=Path, metavar="DIR",
                    help="copy the judged-kind cutouts of measures 2c and 2d (cutout_*.fits, rulecut_*.fits) here, to "
                         "detect with any version of claran and score with benchmarks/score_cutouts.py")
    ap.add_argument("--bootstrap", type=int, default=200, help="resamples for the windows' mAP50 interval (0: none)")
    args = ap.parse_args(argv)
    if not (args.data / "mirabest-fields" / "labels.csv").is_file():
        sys.exit(f"{args.data}: no mirabest-fields/labels.csv (this benchmark needs ../shared/data)")
    warnings.simplefilter("ignore")  # SkyView headers without beams
    import inspect

    import pandas as pd
    from astropy.table import vstack

    from rgz.detector import Detector

    kwargs = dict(args.detector_kwargs)
    if args.rules:
        kwargs["rules"] = args.rules
    det = Detector.load(args.model, **kwargs)
    if args.cache:
        det.predictor = CachedPredictor(det.predictor, args.cache)
    min_score = args.min_score
    if min_score is None:
        min_score = inspect.signature(Detector.detect).parameters["min_score"].default
    scorer = load_scorer(args.scorer)
    res: dict = {"model": args.model or "bundled default", "min_score": min_score,
                 "fields": "all" if args.all_fields else "held out (benchmarks/real_split.py)"}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        dev = args.data / "rgz-real-dev"
        truth = json.loads((dev / "truth.json").read_text())
        out = det.detect_many([str(dev / "fits" / k) for k in truth], min_score=min_score)
        res["dev"] = score_text(scorer, truth, out.table, work, "dev")

        labels = pd.read_csv(args.data / "mirabest-fields" / "labels.csv")
        if not args.all_fields:
            from benchmarks.real_split import heldout_fields

            labels = labels[labels.file.isin(heldout_fields(args.data))]
        if args.mirabest is not None:  # spread over the file (sorted by MiraBest class): every class is sampled
            labels = labels.iloc[np.linspace(0, len(labels) - 1, args.mirabest).round().astype(int)]
        srcs = dr1_sources(args.data)
        fields = sorted(set(labels.file.map(lambda f: str(args.data / "mirabest-fields" / "fits" / f)))
                        | {s["field"] for s in srcs})
        out = det.detect_many(fields, min_score=min_score)
        by_field = {f: out.table[out.table["image"] == f] for f in fields}
        wcs = out.wcs

        # 2. mAP50 on 3' windows around the boxed DR1 sources
        dr1_truth, tables = {}, {}
        for s in srcs:
            if not s["png_boxes"] or s["field"] not in wcs:
                continue
            w = wcs[s["field"]]
            key = f"{s['first_id']}.fits"
            if key in dr1_truth:  # one window per RGZ subject: its boxes are all its sources'
                continue
            dr1_truth[key] = {"objects": truth_in_field(s, w)}
            t = window_rows(by_field[s["field"]], key, w, s["ra"], s["dec"], WINDOW_ARCSEC / 2 / pixel_scale_arcsec(w))
            if len(t):
                tables[key] = t
        res["dr1_boxes"] = score_windows(scorer, dr1_truth, tables, work, "dr1", args.bootstrap, out.table[:0])
        if args.details:
            print_details(dr1_truth, vstack(list(tables.values())) if tables else out.table[:0])
        # 2b. the same on windows around all DR1 sources, RGZ's grouping and class, boxes by the rule
        rule_truth, r_tables = {}, {}
        rule_all = dr1_rule_windows(srcs, wcs, det.rules)
        for key, v in rule_all.items():
            w = wcs[v["field"]]
            rule_truth[key] = {"objects": v["objects"]}
            t = touching(window_rows(by_field[v["field"]], key, w, *v["centre"],
                                     WINDOW_ARCSEC / 2 / pixel_scale_arcsec(w)), v["objects"])
            if len(t):
                r_tables[key] = t
        res["dr1_rule_windows"] = score_windows(scorer, rule_truth, r_tables, work, "dr1rule", args.bootstrap,
                                                out.table[:0])
        rule_classes = {k: v["rule_classes"] for k, v in rule_all.items()}
        res["dr1_rule_windows"]["mAP50_rgz_grouping"] = rgz_grouping_map(res["dr1_rule_windows"]["windows"],
                                                                         rule_classes)

        # 2c. the boxed windows that lie wholly in their field, as 100 px cutouts detected one by one (the judged
        # set's kind); beside it the field-detected rows of the same windows (measure 2 on this subset)
        for tag, partial in (("dr1_cutouts", False), ("dr1_cutouts_partial", True))[:1 + args.partial_cutouts]:
            cuts = window_cutouts(srcs, work, partial)
            if not partial:
                boxed_cuts = cuts
            c_tables, empty = cutout_rows(det, cuts, min_score)
            res[tag] = score_windows(scorer, {k: {"objects": o} for k, (_, o) in cuts.items()}, c_tables, work,
                                     tag, args.bootstrap, empty)
            res[tag]["fields_mAP50"] = windows_map(res["dr1_boxes"]["windows"], list(cuts))
        # 2d. the same for the rule windows: those wholly in their field as 100 px cutouts detected one by one,
        # rows touching a DR1 source scored (as 2b); beside it the field-detected rows of the same windows
        cuts = rule_window_cutouts(rule_all, work, args.cutout_offset)
        cut_truth = {k: {"objects": o} for k, (_, o) in cuts.items()}
        all_rows, empty = cutout_rows(det, cuts, min_score)
        c_tables = {k: t for k, t in ((k, touching(t, cuts[k][1])) for k, t in all_rows.items()) if len(t)}
        res["dr1_rule_cutouts"] = score_windows(scorer, cut_truth, c_tables, work, "dr1rulecut", args.bootstrap, empty)
        res["dr1_rule_cutouts"]["fields_mAP50"] = windows_map(res["dr1_rule_windows"]["windows"], list(cuts))
        res["dr1_rule_cutouts"]["mAP50_rgz_grouping"] = rgz_grouping_map(res["dr1_rule_cutouts"]["windows"],
                                                                         rule_classes)
        # 2e. the same cutouts with every row scored, as the judge scores its cutouts; DR1 does not list every
        # source, so a real unlisted neighbour counts as a false row here: a pessimistic bound
        res["dr1_rule_cutouts_all_rows"] = score_windows(scorer, cut_truth, all_rows, work, "dr1rulecutall",
                                                         args.bootstrap, empty)
        for key in ("dr1_rule_cutouts", "dr1_rule_cutouts_all_rows"):
            res[key]["judged_classes"] = judged_summary(res[key]["windows"], args.bootstrap)
        if args.keep_cutouts:  # the judged-kind cutouts, for another version of claran to detect (score_cutouts.py)
            args.keep_cutouts.mkdir(parents=True, exist_ok=True)
            for f, _ in [*boxed_cuts.values(), *cuts.values()]:
                shutil.copy2(f, args.keep_cutouts / Path(f).name)

        # 3. class accuracy and 4. sizes against ang_extent
        res["dr1_class"], ext = dr1_class_accuracy(
            srcs, lambda s: (by_field[s["field"]], wcs[s["field"]]) if s["field"] in wcs else None)
        # 3c. the same from a 100 px cutout centred on each source's FIRST position, detected alone (the judged
        # set's kind), for the sources whose cutout lies wholly inside their field
        dcuts = {}
        for s in srcs:
            if s["first_id"] in dcuts:  # the subject's cutout, cut for another of its sources
                continue
            got = field_cutout(s["field"], s["ra"], s["dec"], work, f"class_{s['first_id']}.fits")
            if got:
                dcuts[s["first_id"]] = got[0], got[1].wcs
        d_tables, empty = cutout_rows(det, dcuts, min_score)
        res["dr1_class_cutouts"], _ = dr1_class_accuracy(
            srcs, lambda s: (d_tables.get(s["first_id"], empty), dcuts[s["first_id"]][1])
            if s["first_id"] in dcuts else None)
        res["size_vs_ang_extent"] = ratio_stats(ext)

        # 4. sizes against MiraBest's and FRI/FRII against components (the centre source of each field)
        mb, fr = [], {}
        for rec in labels.itertuples():
            f = str(args.data / "mirabest-fields" / "fits" / rec.file)
            if f not in wcs:
                continue
            r = row_at(by_field[f], wcs[f], rec.ra, rec.dec)
            if r is None:
                fr.setdefault(rec.fr_class, {}).setdefault("none", 0)
                fr[rec.fr_class]["none"] += 1
                continue
            mb.append(float(r["size"]) / rec.size_arcsec)
            if rec.confident:
                k = str(r["morphology"])[:2]
                fr.setdefault(rec.fr_class, {}).setdefault(k, 0)
                fr[rec.fr_class][k] += 1
        res["size_vs_mirabest"] = ratio_stats(mb)
        res["fr_vs_components"] = fr
        truths = mirabest_truth(labels, args.data, wcs, det.rules)
        res["mirabest_grouping"] = mirabest_grouping(truths, by_field)
        # 5c. the same galaxies as 100 px cutouts centred on them, detected one by one (the judged set's kind)
        mcuts = mirabest_cutouts(truths, work)
        res["mirabest_cutouts"] = mirabest_grouping(truths, cutout_rows(det, mcuts, min_score)[0],
                                                    {k: o for k, (_, o) in mcuts.items()})
    res["seconds"] = time.perf_counter() - t0
    if args.cache:
        det.predictor.save()
    print(f"dev (18 cutouts; settings before this benchmark saw them): {res['dev']['report']}")
    print(f"DR1 boxed sources in MiraBest fields: {res['dr1_boxes']['report'].splitlines()[0]}")
    print(f"  {res['dr1_boxes']['n_images']} windows: mAP50 {res['dr1_boxes']['mAP50']:.3f}"
          + interval_text(res["dr1_boxes"].get("mAP50_90"))
          + f"; the same rows ranked perfectly {res['dr1_boxes']['mAP50_ranked']:.3f}")
    dc = res["dr1_cutouts"]
    print(f"  of those, {dc['n_images']} wholly inside their field, as 100 px cutouts detected alone (the judged "
          f"set's kind): mAP50 {dc['mAP50']:.3f}" + interval_text(dc.get("mAP50_90"))
          + f"; the same windows detected in their fields {dc['fields_mAP50']:.3f}")
    print(f"    {dc['report'].splitlines()[0]}")
    if "dr1_cutouts_partial" in res:
        dp = res["dr1_cutouts_partial"]
        print(f"  the other {dp['n_images']}, cut with their missing pixels blank (NaN): mAP50 {dp['mAP50']:.3f}"
              + interval_text(dp.get("mAP50_90")) + f"; detected in their fields {dp['fields_mAP50']:.3f}")
    rw = res["dr1_rule_windows"]
    print(f"DR1 sources, all with a class (RGZ's grouping and class, rule boxes): {rw['report'].splitlines()[0]}")
    print(f"  {rw['n_images']} windows: mAP50 {rw['mAP50']:.3f}" + interval_text(rw.get("mAP50_90"))
          + f"; the same rows ranked perfectly {rw['mAP50_ranked']:.3f}; RGZ's grouping with the rule's classes, "
          f"ranked at random {rw['mAP50_rgz_grouping']:.3f}")
    rc = res["dr1_rule_cutouts"]
    print(f"  of those, {rc['n_images']} wholly inside their field, as 100 px cutouts detected alone: mAP50 "
          f"{rc['mAP50']:.3f}" + interval_text(rc.get("mAP50_90")) + f"; the same rows ranked perfectly "
          f"{rc['mAP50_ranked']:.3f}; RGZ's grouping with the rule's classes, ranked at random "
          f"{rc['mAP50_rgz_grouping']:.3f}; the same windows detected in their fields {rc['fields_mAP50']:.3f}")
    print(f"    {rc['report'].splitlines()[0]}")
    ra = res["dr1_rule_cutouts_all_rows"]
    print(f"  the same cutouts with every row scored (rows touching no DR1 source count as false): mAP50 "
          f"{ra['mAP50']:.3f}" + interval_text(ra.get("mAP50_90")) + f"; {ra['n_rows']} rows against {rc['n_rows']}")
    jc, ja = rc["judged_classes"], ra["judged_classes"]
    print(f"  on the judged set's classes (the {jc['n_images']} cutouts without a 2C_2P source; 2C_2P rows count for "
          f"nothing): mAP50 {jc['mAP50']:.3f}" + interval_text(jc["mAP50_90"]) + f", every row scored {ja['mAP50']:.3f}"
          + interval_text(ja["mAP50_90"]) + f"; ranked perfectly {jc['mAP50_ranked']:.3f} / {ja['mAP50_ranked']:.3f}")
    print("    " + "  ".join(f"{c} {jc['per_class_AP50'][c]:.3f} / {ja['per_class_AP50'][c]:.3f}"
                             for c in jc["per_class_AP50"]))
    print(f"DR1 class accuracy (row containing the source): {res['dr1_class']['accuracy']:.3f} "
          f"of {res['dr1_class']['n']}" + interval_text(res["dr1_class"]["accuracy_90"]))
    for t, got in sorted(res["dr1_class"]["confusion"].items()):
        print(f"  {t}: " + ", ".join(f"{k} {v}" for k, v in sorted(got.items())))
    dcc = res["dr1_class_cutouts"]
    print(f"  the {dcc['n']} whose 100 px cutout lies inside their field, from those cutouts detected alone: "
          f"{dcc['accuracy']:.3f}" + interval_text(dcc["accuracy_90"]))
    print(f"box size / ang_extent: {res['size_vs_ang_extent']}")
    print(f"box size / MiraBest size_arcsec: {res['size_vs_mirabest']}")
    print("confident MiraBest class vs centre row's components: "
          + "; ".join(f"{k}: " + ", ".join(f"{c} {v}" for c, v in sorted(d.items())) for k, d in sorted(fr.items())))
    g = res["mirabest_grouping"]
    print(f"MiraBest centre galaxies ({g['n']}, rule grouping given): one row at IoU >= 0.5 {g['grouped']:.3f}"
          + interval_text(g["grouped_90"]) + f", and the rule's class {g['grouped_and_class']:.3f}"
          + interval_text(g["grouped_and_class_90"]) + "; per class " + ", ".join(
              f"{k} {v['grouped_and_class']:.2f} of {v['n']}" for k, v in sorted(g["per_class"].items())))
    g = res["mirabest_cutouts"]
    print(f"  the {g['n']} whose RGZ box fits a 100 px cutout centred on them, as such cutouts detected alone: one "
          f"row {g['grouped']:.3f}" + interval_text(g["grouped_90"]) + f", and the rule's class "
          f"{g['grouped_and_class']:.3f}" + interval_text(g["grouped_and_class_90"]))
    print(f"{res['seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, default=float))
    return res


if __name__ == "__main__":
    main()
