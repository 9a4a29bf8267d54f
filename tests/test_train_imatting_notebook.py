"""The interactive matting notebook runs end to end on tiny settings (a few steps of each run)."""

from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "interactive_matting.ipynb"


def test_interactive_matting_notebook_executes(tmp_path, monkeypatch, shared_data):
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("IM_NB_FBA_STEPS", "4")
    monkeypatch.setenv("IM_NB_STEPS", "6")
    monkeypatch.setenv("IM_NB_DIR", str(tmp_path))
    monkeypatch.setenv("IM_NB_DATA", str(shared_data))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))
    assert "6 of 32 steps" in text            # one epoch of (8 + 16 + 8) images
    assert all(f"click {k}:" in text for k in range(1, 6)) and "whole-image SAD" in text
    images = [out for cell in nb.cells for out in cell.get("outputs", []) if out.get("output_type") == "display_data"]
    assert len(images) == 1                   # alpha and composite after 1, 3 and 5 clicks
    assert (tmp_path / "imatting" / "last.pt").is_file()
