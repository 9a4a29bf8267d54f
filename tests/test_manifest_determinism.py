"""What the README's byte-identical claim names, for `datagen import` run as a user runs it.

Two imports of one copy of real alphamatting.com objects, with `--workers 1` and `--workers 2`
(so the command lines differ) and a second apart (so `created` differs), whose inputs hold
every kind of problem an import records: a duplicated stem, an alpha without a foreground, a
foreground that fails, a file of another type. The shards must be byte-identical and the
manifests equal except for the keys in VOLATILE_KEYS, failures and skipped files included.
"""

from __future__ import annotations

import json
import shutil
import sys
import time

from typer.testing import CliRunner

from datagen.cli import app
from datagen.shards.manifest import VOLATILE_KEYS


def leaves(value, path=()) -> set[tuple[tuple, str]]:
    """Every leaf of a JSON document as (key path, its JSON text); lists are leaves."""
    if isinstance(value, dict):
        return {leaf for key, item in value.items() for leaf in leaves(item, path + (key,))}
    return {(path, json.dumps(value))}


def test_two_imports_differ_only_in_the_volatile_keys(shared_data, tmp_path, tree_digest, monkeypatch):
    root = shared_data / "alphamatting_training_lowres"
    fg, alpha = tmp_path / "fg", tmp_path / "alpha"
    fg.mkdir(), alpha.mkdir()
    for stem in ("GT01", "GT02", "GT03"):
        shutil.copyfile(root / "input_training_lowres" / f"{stem}.png", fg / f"{stem}.png")
        shutil.copyfile(root / "gt_training_lowres" / f"{stem}.png", alpha / f"{stem}.png")
    shutil.copyfile(fg / "GT03.png", fg / "GT03.bmp")
    shutil.copyfile(root / "gt_training_lowres" / "GT06.png", alpha / "GT06.png")
    (alpha / "GT02.png").unlink()
    (fg / "notes.txt").write_text("from alphamatting.com")
    runner = CliRunner()
    outputs = []
    for name, workers in (("run1", "1"), ("run2", "2")):
        args = ["import", "objects", "--fg", str(fg), "--alpha", str(alpha), "--out", str(tmp_path / name), "--workers", workers,
                "--no-progress"]
        monkeypatch.setattr(sys, "argv", ["datagen", *args])  # what provenance records as the command line
        result = runner.invoke(app, args)
        assert result.exit_code == 1 and result.output.count("failed: ") == 3, result.output
        outputs.append(result.output.replace(str(tmp_path / name), "OUT"))
        time.sleep(1.1)
    assert outputs[0] == outputs[1]
    assert tree_digest(tmp_path / "run1") == tree_digest(tmp_path / "run2")
    first, second = (json.loads((tmp_path / name / "manifest.json").read_text()) for name in ("run1", "run2"))
    assert len(first["failures"]) == 3 and first["provenance"]["skipped"]
    assert {path for path, _ in leaves(first) ^ leaves(second)} == set(VOLATILE_KEYS)
