"""The real-sky benchmark's statistics: bootstrap intervals and the source-by-source comparison of two models."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.compare_real_sky import compare, paired, paired_windows
from benchmarks.real_sky import interval


def test_interval_brackets_the_mean_and_narrows_with_n():
    few = interval([1] * 8 + [0] * 2)
    many = interval([1] * 800 + [0] * 200)
    assert few[0] <= 0.8 <= few[1] and many[0] <= 0.8 <= many[1]
    assert many[1] - many[0] < (few[1] - few[0]) / 3
    assert interval([1, 1, 1]) == [1.0, 1.0]
    assert all(np.isnan(interval([])))


def test_paired_counts_only_the_sources_that_differ():
    a = [{"id": i, "ok": i < 50} for i in range(100)]
    b = [{"id": i, "ok": 5 <= i < 60} for i in range(100)]  # loses 0-4, gains 50-59
    r = paired(a, b, "id", "ok")
    assert r["n"] == 100 and r["gained"] == list(range(50, 60)) and r["lost"] == list(range(5))
    assert r["p"] == pytest.approx(0.302, abs=0.01)  # 10 against 5: not a real difference
    r = paired(a, [{"id": i, "ok": i < 70} for i in range(100)], "id", "ok")
    assert r["lost"] == [] and r["p"] < 1e-4  # 20 against 0
    assert paired(a, a, "id", "ok")["p"] == 1.0


def test_compare_reads_real_sky_json_sections():
    src = [{"first_id": "F1", "class_ok": True}, {"first_id": "F2", "class_ok": False}]
    gal = [{"file": "g.fits", "grouped": True, "class_ok": False}]
    a = {"dr1_class": {"sources": src}, "mirabest_grouping": {"sources": gal}}
    b = {"dr1_class": {"sources": [dict(s, class_ok=True) for s in src]}, "mirabest_grouping": {"sources": gal}}
    res = compare(a, b)
    assert res["DR1 class"]["gained"] == ["F2"] and res["MiraBest grouping"]["n"] == 1
    assert compare({"dr1_class": {}}, b) == {}  # files from before per-source outcomes: nothing to pair


def _windows(n_good: int, n: int = 40) -> dict:
    """n windows with one 1C_1P source each; the first n_good have a row on it, the rest a lower row on nothing."""
    box = [10.0, 10.0, 20.0, 20.0]
    return {f"w{i}": {"truth": [{"class": "1C_1P", "box": box}],
                      "rows": [[0.9, "1C_1P", *box] if i < n_good else [0.5, "1C_1P", 50.0, 50.0, 60.0, 60.0]]} for i in range(n)}


def test_paired_windows_bootstrap_the_map_difference():
    """The same resamples for both runs: a clearly better B is higher in every resample, equal runs never differ."""
    a, b = _windows(20), _windows(36)
    r = paired_windows(a, b, n=200)
    assert r["n"] == 40 and r["a"] == pytest.approx(0.5) and r["b"] == pytest.approx(0.9)
    assert 0 < r["diff_90"][0] < 0.4 < r["diff_90"][1] and r["b_higher"] == 1.0
    same = paired_windows(a, a, n=50)
    assert same["diff_90"] == [0.0, 0.0] and same["b_higher"] == 0.0
