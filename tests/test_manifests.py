"""Source-dataset manifests: the JSON definitions and `datagen manifests check`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image
from typer.testing import CliRunner

from datagen.cli import app
from datagen.datasets import layouts

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EXPECTED = {"dim-test", "dim-train", "voc2012", "coco", "sbd", "grabcut", "berkeley", "davis", "coco-mval",
            "alphamatting", "ethz-synthesizability", "aim-500", "am-2k", "p3m-10k", "ppm-100", "distinctions-646"}


def test_every_manifest_is_valid_and_ships_no_name_lists():
    assert set(layouts.available()) == EXPECTED
    for name in layouts.available():
        doc = layouts.load_layout(name)
        assert doc["license"] and doc["citation"] and doc["parts"]
        for part in doc["parts"].values():
            for entry in part.get("folders", []) + part.get("namelists", []):
                assert set(entry) <= {"path", "extensions", "count", "decode", "pair_with", "optional", "recursive",
                                      "in", "suffixes", "aliases"}, (name, entry)
        # third-party name lists are never committed: no long string arrays anywhere
        text = json.dumps(doc)
        assert "2007_000027" not in text and "COCO_train2014_0000" not in text
    assert {p.suffix for p in layouts.LAYOUT_DIR.iterdir()} == {".json"}


def test_shared_samples_are_partial_copies_with_nothing_unnamed():
    report = layouts.check("grabcut", DATA / "grabcut")
    assert report.counts == {"data_GT": 37, "boundary_GT": 37}
    assert [p.kind for p in report.problems] == ["missing", "missing"]
    assert not report.blocking and not report.ok
    berkeley = layouts.check("berkeley", DATA / "berkeley")
    assert berkeley.counts == {"images": 76, "masks": 76} and not berkeley.blocking
    am = layouts.check("alphamatting", DATA / "alphamatting_training_lowres")
    assert am.parts == ["training-lowres"] and am.counts["trimap_training_lowres/Trimap2"] == 20


def _image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((3, 4), np.uint8)).save(path)


def test_missing_extra_and_malformed_are_each_named(tmp_path):
    root = tmp_path / "davis"
    for stem in ("001", "002", "003"):
        _image(root / "img" / f"{stem}.jpg")
    _image(root / "gt" / "001.png")
    _image(root / "gt" / "002.png")
    _image(root / "gt" / "009.png")                      # no image
    (root / "gt" / "notes.txt").write_text("x")           # wrong extension
    (root / "img" / "003.jpg").write_bytes(b"not a jpeg")  # malformed
    report = layouts.check("davis", root)
    by_kind = {kind: sorted(p.path for p in report.of(kind)) for kind in ("missing", "extra", "malformed")}
    assert "gt/003.*" in by_kind["missing"]
    assert by_kind["extra"] == ["gt/009.png", "gt/notes.txt"]
    assert by_kind["malformed"] == ["img/003.jpg"]
    assert [p.path for p in report.blocking] == ["gt/003.*"]


def test_name_list_problems_and_mat_variables(tmp_path):
    root = tmp_path / "sbd"
    (root / "img").mkdir(parents=True)
    (root / "inst").mkdir()
    for name in ("a", "b"):
        _image(root / "img" / f"{name}.jpg")
    scipy.io.savemat(root / "inst" / "a.mat", {"GTinst": {"Segmentation": np.zeros((3, 4), np.uint8)}})
    scipy.io.savemat(root / "inst" / "b.mat", {"other": np.zeros(2)})
    (root / "val.txt").write_text("a\n\nb\na\nc")
    report = layouts.check("sbd", root, ["val"])
    messages = [str(p) for p in report.problems]
    assert "malformed: val.txt: line 2 is blank" in messages
    assert "malformed: val.txt: line 4 repeats 'a'" in messages
    assert "missing: img/c.jpg: listed in val.txt" in messages and "missing: inst/c.mat: listed in val.txt" in messages
    assert any(m.startswith("malformed: inst/b.mat: has no variable 'GTinst'") for m in messages)
    assert not any("a.mat" in m for m in messages)
    lines, issues = layouts.read_namelist(DATA / "dim-namelists" / "test_fg_names.txt")
    assert len(lines) == 50 and issues == []  # no trailing newline: still 50 names


def test_cli_check_exit_codes(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["manifests", "check", "grabcut", "--root", str(DATA / "grabcut"), "--no-decode"])
    assert ok.exit_code == 1 and "37 files, the dataset has 50" in ok.output  # a partial copy is reported
    _image(tmp_path / "data_GT" / "x.jpg")
    _image(tmp_path / "boundary_GT" / "x.bmp")
    full = runner.invoke(app, ["manifests", "check", "grabcut", "--root", str(tmp_path)])
    assert "1 files, the dataset has 50" in full.output
    unknown = runner.invoke(app, ["manifests", "check", "nope", "--root", str(tmp_path)])
    assert unknown.exit_code == 2 and "unknown dataset manifest" in unknown.output
    listing = runner.invoke(app, ["manifests", "list"])
    assert listing.exit_code == 0 and "dim-test" in listing.output


def test_layouts_is_the_same_command_as_manifests():
    """`datagen layouts` (the name the code uses) is an alias: same output, same exit code."""
    runner = CliRunner()
    args = ["check", "grabcut", "--root", str(DATA / "grabcut"), "--no-decode"]
    old, new = (runner.invoke(app, [group, *args]) for group in ("manifests", "layouts"))
    assert (new.exit_code, new.output) == (old.exit_code, old.output) == (1, old.output)
    assert "grabcut at" in new.output and "37 files, the dataset has 50" in new.output
    assert runner.invoke(app, ["layouts", "list"]).output == runner.invoke(app, ["manifests", "list"]).output


def test_dim_check_needs_and_uses_backgrounds(tmp_path):
    test = tmp_path / "Test_set"
    (test / "Adobe-licensed images" / "fg").mkdir(parents=True)
    (test / "Adobe-licensed images" / "alpha").mkdir(parents=True)
    (test / "test_fg_names.txt").write_text("o.png")
    (test / "test_bg_names.txt").write_text("b1.jpg\nb2.jpg")
    for sub in ("fg", "alpha"):
        _image(test / "Adobe-licensed images" / sub / "o.png")
    without = layouts.check("dim-test", tmp_path)
    assert any("pass the folder" in str(p) for p in without.blocking)
    bgs = tmp_path / "voc"
    _image(bgs / "b1.jpg")
    report = layouts.check("dim-test", tmp_path, extra_roots={"backgrounds": bgs})
    assert [str(p) for p in report.blocking] == ["missing: @backgrounds/b2.jpg: listed in Test_set/test_bg_names.txt"]
    with pytest.raises(layouts.LayoutError):
        layouts.check("dim-test", tmp_path, parts=["nope"])
