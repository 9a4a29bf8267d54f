"""`datagen build alphamatting` options: what `--trimaps` accepts, said in the error line."""

from __future__ import annotations

from typer.testing import CliRunner

from datagen.cli import app


def test_trimaps_outside_the_sites_sets_are_one_line_naming_what_is_accepted(shared_data, tmp_path):
    result = CliRunner().invoke(app, ["build", "alphamatting", "--root", str(shared_data / "alphamatting_training_lowres"),
                                      "--out", str(tmp_path / "x"), "--trimaps", "1,4", "--trimaps", "two"])
    assert result.exit_code == 2 and result.stderr == (
        "error: --trimaps takes the trimap sets 1, 2, 3 (comma-separated or repeated), got '4', 'two'\n")
    assert not (tmp_path / "x").exists()
