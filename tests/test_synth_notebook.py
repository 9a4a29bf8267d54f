"""The synth-seg notebook runs end to end on tiny settings."""

import os
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "synth_seg.ipynb"


def test_synth_seg_notebook_executes(tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("SYNTH_NB_N", "6")
    monkeypatch.setenv("SYNTH_NB_SIZE", "96")
    monkeypatch.setenv("SYNTH_NB_OBJECTS", "6")
    monkeypatch.setenv("SYNTH_NB_DIR", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))
    assert "samples have a distractor" in text
    assert "[1, 1, 1, 1, 1, 1]" in text  # 6 samples over 6 objects: each primary once
    assert any(out.get("output_type") == "display_data" for cell in nb.cells for out in cell.get("outputs", []))
