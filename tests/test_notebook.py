"""docs/notebooks/quickstart.ipynb runs top to bottom (nbclient, python3 kernel) on real FIRST cutouts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CUTOUTS = REPO.parent / "shared" / "data" / "first-cutouts"
NOTEBOOK = REPO / "docs" / "notebooks" / "quickstart.ipynb"


@pytest.mark.skipif(not CUTOUTS.is_dir(), reason="../shared/data is absent")
def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("claran.predictor", reason="claran.Predictor not written yet")
    from tests.test_detect import _tiny_checkpoint

    ckpt = _tiny_checkpoint(tmp_path / "tiny.pt")
    model = os.environ.get("CLARAN_TEST_MODEL") or str(ckpt)
    monkeypatch.setenv("CLARAN_MODEL", model)
    monkeypatch.setenv("CLARAN_CUTOUTS", str(CUTOUTS))
    monkeypatch.setenv("CLARAN_MIN_SCORE", "0.0")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    # the last cell shows the overlay figure as a PNG
    assert any("image/png" in o.get("data", {}) for o in nb.cells[-1].outputs)
