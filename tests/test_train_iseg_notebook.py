"""The interactive segmentation notebook runs end to end on tiny settings (a few training steps)."""

from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "interactive.ipynb"


def test_interactive_segmentation_notebook_executes(tmp_path, monkeypatch, shared_data):
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("ISEG_NB_STEPS", "6")
    monkeypatch.setenv("ISEG_NB_DIR", str(tmp_path))
    monkeypatch.setenv("ISEG_NB_DATA", str(shared_data))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))
    assert "6 of 384 steps" in text           # 4 epochs of 96 images, stopped after 6
    assert all(f"click {k}:" in text for k in range(1, 6))
    assert "mIoU per click over 3 GrabCut images" in text and "random walker" in text and "@5 " in text
    images = [out for cell in nb.cells for out in cell.get("outputs", []) if out.get("output_type") == "display_data"]
    assert len(images) == 1                   # masks and probabilities after 1, 3 and 5 clicks
    assert (tmp_path / "iseg" / "last.pt").is_file()
