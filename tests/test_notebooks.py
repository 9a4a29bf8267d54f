"""Every notebook runs top to bottom on tiny settings (environment variables or a parameter cell),
and says what it is meant to show."""

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def run_notebook(name: str, tmp_path: Path, monkeypatch, env: dict[str, str] | None = None,
                 first_cell: str | None = None) -> tuple[str, int]:
    """Execute ``notebooks/<name>`` in ``tmp_path``; returns (all printed text, number of figures)."""
    nbclient = pytest.importorskip("nbclient")
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, str(value))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    if first_cell is not None:
        nb.cells[1].source = first_cell
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]
    return "".join(out.get("text", "") for out in outputs), sum(out.get("output_type") == "display_data" for out in outputs)


def test_refit_foregrounds(tmp_path, monkeypatch):
    text, _ = run_notebook("refit_foregrounds.ipynb", tmp_path, monkeypatch, first_cell="SIZE = 48\nSEED = 3")
    assert "spill before" in text


def test_synth_seg(tmp_path, monkeypatch):
    text, figures = run_notebook("synth_seg.ipynb", tmp_path, monkeypatch, {
        "SYNTH_NB_N": 6, "SYNTH_NB_SIZE": 96, "SYNTH_NB_OBJECTS": 6, "SYNTH_NB_DIR": tmp_path})
    assert "samples have a distractor" in text
    assert "[1, 1, 1, 1, 1, 1]" in text  # 6 samples over 6 objects: each primary once
    assert figures


def test_train_fba(tmp_path, monkeypatch, shared_data):
    text, figures = run_notebook("train_fba.ipynb", tmp_path, monkeypatch, {
        "TRAIN_NB_STEPS": 10, "TRAIN_NB_OBJECTS": 6, "TRAIN_NB_DIR": tmp_path, "TRAIN_NB_DATA": shared_data})
    assert "10 of 384 steps" in text      # 6 objects x 8 composites x 2 scales x 4 epochs, batch 1
    assert "loss: first logged" in text and "predicted 800x497" in text
    assert figures == 2                   # the loss curve and the prediction
    assert (tmp_path / "run" / "last.pt").is_file()


def test_interactive_segmentation(tmp_path, monkeypatch, shared_data):
    text, figures = run_notebook("interactive.ipynb", tmp_path, monkeypatch, {
        "ISEG_NB_STEPS": 6, "ISEG_NB_DIR": tmp_path, "ISEG_NB_DATA": shared_data})
    assert "6 of 384 steps" in text           # 4 epochs of 96 images, stopped after 6
    assert all(f"click {k}:" in text for k in range(1, 6))
    assert "mIoU per click over 3 GrabCut images" in text and "random walker" in text and "@5 " in text
    assert figures == 1                       # masks and probabilities after 1, 3 and 5 clicks
    assert (tmp_path / "iseg" / "last.pt").is_file()


def test_interactive_matting(tmp_path, monkeypatch, shared_data):
    text, figures = run_notebook("interactive_matting.ipynb", tmp_path, monkeypatch, {
        "IM_NB_FBA_STEPS": 4, "IM_NB_STEPS": 6, "IM_NB_DIR": tmp_path, "IM_NB_DATA": shared_data})
    assert "6 of 32 steps" in text            # one epoch of (8 + 16 + 8) images
    assert all(f"click {k}:" in text for k in range(1, 6)) and "whole-image SAD" in text
    assert figures == 1                       # alpha and composite after 1, 3 and 5 clicks
    assert (tmp_path / "imatting" / "last.pt").is_file()
