"""The FBA training notebook runs end to end on tiny settings (a few steps, few objects)."""

from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "train_fba.ipynb"


def test_train_fba_notebook_executes(tmp_path, monkeypatch, shared_data):
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("TRAIN_NB_STEPS", "10")
    monkeypatch.setenv("TRAIN_NB_OBJECTS", "6")
    monkeypatch.setenv("TRAIN_NB_DIR", str(tmp_path))
    monkeypatch.setenv("TRAIN_NB_DATA", str(shared_data))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))
    assert "10 of 384 steps" in text      # 6 objects x 8 composites x 2 scales x 4 epochs, batch 1
    assert "loss: first logged" in text and "predicted 800x497" in text
    images = [out for cell in nb.cells for out in cell.get("outputs", []) if out.get("output_type") == "display_data"]
    assert len(images) == 2                   # the loss curve and the prediction
    assert (tmp_path / "run" / "last.pt").is_file()
