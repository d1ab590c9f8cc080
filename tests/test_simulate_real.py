"""Real FIRST galaxies injected into simulated scenes (``claran simulate --real-sources``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits

from cli.main import main
from rgz.contours import LabelRules, class_id, count_peaks, find_islands
from rgz.simulate import SimConfig, simulate_field
from rgz.simulate.beam import Beam
from rgz.simulate.morphology import Source, render
from rgz.simulate.noise import correlated_noise
from rgz.simulate.real import RealSources, cut_source
from rgz.simulate.writer import _celestial
from tests.shared_data import shared

RMS = 0.15e-3


def _field(seed: int, *, double_sep: float = 30.0, neighbour: bool = True) -> np.ndarray:
    """120 px FIRST-like field: a two-lobe source at the centre (+-double_sep/2 arcsec in x) and, optionally,
    a compact neighbour 60" away."""
    rng = np.random.default_rng(seed)
    shape = (120, 120)
    lobes = Source(np.array([-double_sep / 2, double_sep / 2]), np.zeros(2), np.array([20e-3, 15e-3]),
                   np.full(2, 3.0), np.full(2, 2.0), np.zeros(2))
    srcs, origins = [lobes], [(59.5, 59.5)]
    if neighbour:
        srcs.append(Source(np.zeros(1), np.zeros(1), np.array([10e-3]), np.ones(1), np.ones(1), np.zeros(1)))
        origins.append((59.5, 59.5 + 60 / 1.8))
    model = render(srcs, origins, shape=shape, beam=Beam(), pixel_scale=1.8)
    return model + correlated_noise(rng, shape, rms=RMS, beam=Beam(), pixel_scale=1.8)


def _folder(tmp_path, n: int = 3):
    (tmp_path / "fits").mkdir(parents=True)
    rows = ["file,ra,dec,size_arcsec"]
    for i in range(n):
        name = f"2{i:02d}_field.fits"
        header = _celestial(150.0 + i, 30.0, 120, 1.8).to_header()
        fits.PrimaryHDU(_field(i).astype(np.float32), header).writeto(tmp_path / "fits" / name)
        rows.append(f"{name},{150.0 + i},30.0,36.0")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


def test_cut_source_takes_the_centre_galaxy_not_its_neighbour():
    img = _field(0)
    st = cut_source(img, (59.5, 59.5), 36.0 / 2 / 1.8 + 3)
    assert st is not None and st.class_id == 4  # two islands, two peaks: 2C_2P
    # the stamp holds both lobes (their peaks) and not the neighbour 60" north (33 px)
    assert st.image.shape[0] < 30 and st.image.shape[1] > 30 / 1.8
    assert st.image.max() == pytest.approx(img.max() - np.median(img), rel=1e-5)
    assert 0.5 * RMS < st.sigma < 2 * RMS
    assert cut_source(img, (10.0, 10.0), 3.0) is None  # nothing there


def test_real_sources_folder_exclusions_and_sampling(tmp_path):
    folder = _folder(tmp_path)
    rs = RealSources(folder, exclude=frozenset({"200_field.fits"}))
    assert len(rs) == 2 and {s.name for s in rs.stamps} == {"201_field.fits", "202_field.fits"}
    rng = np.random.default_rng(0)
    img, sigma = rs.sample(rng, 4)
    assert img.ndim == 2 and sigma > 0 and rs.sample(rng, 6) is None
    from claran.errors import UserError

    with pytest.raises(UserError, match="no labels.csv"):
        RealSources(tmp_path / "fits")


def test_injected_target_is_labelled_by_the_rule(tmp_path):
    """A real target keeps its pixels (peak for peak, flux-scaled) and its label is measured on the final image."""
    rs = RealSources(_folder(tmp_path))
    cfg = SimConfig(real_source_fraction=1.0, class_weights=(0, 0, 0, 1, 0, 0), neighbour_density=0.0,
                    p_stripes=0.0, p_nan_edge=0.0)
    rng = np.random.default_rng(3)
    for _ in range(3):
        f = simulate_field(rng, cfg, None, rs)
        assert f.kind == "real"
        t = f.labels[0]
        assert t["target"] and t["category_id"] == 4
        isl = find_islands(f.image.astype(np.float64), LabelRules())
        ids = sorted({int(isl.labels[int(py), int(px)]) for px, py in t["peaks"]})
        assert class_id(len(ids), count_peaks(f.image, np.isin(isl.labels, ids), isl.levels)) == 4
        # one lobe's brightest pixel sits at the cutout centre (a FIRST catalogue position)
        c = (cfg.size - 1) / 2
        assert min(np.hypot(px - 0.5 - c, py - 0.5 - c) for px, py in t["peaks"]) < 3


def test_cli_real_sources(tmp_path, capsys):
    folder = _folder(tmp_path / "mb")
    (tmp_path / "held.txt").write_text("200_field.fits\n")
    out = tmp_path / "o"
    main(["simulate", "--count", "4", "--seed", "1", "--real-sources", str(folder), "--real-fraction", "1",
          "--exclude-real", str(tmp_path / "held.txt"), str(out)])
    coco = json.loads((out / "annotations.json").read_text())
    assert coco["info"]["config"]["real_source_fraction"] == 1.0 and len(coco["images"]) == 4
    with pytest.raises(SystemExit) as e:
        main(["simulate", "--count", "1", "--real-sources", str(tmp_path), str(tmp_path / "z")])
    assert e.value.code != 0
    err = capsys.readouterr().err
    assert "--real-sources" in err and "labels.csv" in err and "Traceback" not in err
    assert not (tmp_path / "z" / "annotations.json").exists()


def test_real_mirabest_stamps():
    """On the real fields: most MiraBest galaxies give a stamp, and every RGZ class is represented."""
    folder = shared("mirabest-fields")
    names = sorted(p.name for p in (folder / "fits").glob("*.fits"))
    keep = set(names[::25])
    rs = RealSources(folder, exclude=frozenset(set(names) - keep))
    assert len(rs) >= 0.7 * len(keep)
    assert sum(1 for c in range(1, 7) if rs.by_class[c]) >= 5


def test_real_windows_pair_check():
    """benchmarks/real_fields.py --pair-arcsec: two islands within the distance (nearest pixels) are a possible
    double, so such a window's island-by-island labels are not trusted."""
    from benchmarks.real_fields import _near_pair

    labels = np.zeros((40, 40), int)
    labels[5:8, 5:8], labels[5:8, 14:17], labels[30:33, 30:33] = 1, 2, 3
    assert _near_pair(labels, [1, 2, 3], 7.0)  # 1 and 2: 7 px between nearest pixels
    assert not _near_pair(labels, [1, 2, 3], 6.0)
    assert not _near_pair(labels, [1, 3], 20.0) and not _near_pair(labels, [3], 50.0)
