"""The refit notebook runs top to bottom (on a tiny object)."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "refit_foregrounds.ipynb"


def test_notebook_executes():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells[1].source = "SIZE = 48\nSEED = 3"
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = "".join(out.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs)
    assert "spill before" in outputs
