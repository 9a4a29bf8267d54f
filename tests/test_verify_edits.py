"""`shards verify` catches every edit of a manifest; the reader refuses those that would make it
return wrong samples; stray files are reported.

Each case edits manifest.json of a copy of a real dataset (GrabCut photographs, three shards of
two samples: see test_shards_damage) the way a person or a script might, then checks what
`verify` (full and `--quick`) and the reader say. EDITS is also the README's reliability table.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from datagen.cli import app
from datagen.shards import DatasetError, open_dataset
from datagen.shards.manifest import DamagedShardError
from datagen.shards.verify import stray_files, verify_dataset
from test_shards_damage import STEMS, dataset_copy, grabcut_shards  # noqa: F401  (fixtures)

runner = CliRunner()


def swap_entries(manifest):
    manifest["shards"][0], manifest["shards"][1] = manifest["shards"][1], manifest["shards"][0]


def count_and_total(manifest):
    manifest["shards"][0]["num_samples"] = 1
    manifest["num_samples"] -= 1


def entry_outside(manifest):
    manifest["shards"][0]["file"] = "../other/shard-00000.h5"


def drop_entry(manifest):
    removed = manifest["shards"].pop(1)
    manifest["num_samples"] -= removed["num_samples"]


# (what was edited, the edit, what verify says, what the reader does: "refused" when opening,
# "damaged" on reading the affected samples, "reads" when what it returns is unchanged,
# "changed" when it returns something else without error: only verify can tell)
EDITS = [
    ("two shard entries swapped", swap_entries, "shard entries out of order", "refused"),
    ("a shard's count and the total lowered", count_and_total, "shard-00000.h5: holds 2 samples, manifest says 1", "damaged"),
    ("a shard's count alone changed", lambda m: m["shards"][1].update(num_samples=3), "shards hold 7 samples but num_samples says 6", "refused"),
    ("a shard entry pointing outside the folder", entry_outside, "names '../other/shard-00000.h5', not a shard file of this folder", "refused"),
    ("a shard entry removed (and the total lowered)", drop_entry, "shard-00001.h5: shard file not listed", "reads"),
    ("a shard's ids_sha256 changed", lambda m: m["shards"][2].update(ids_sha256="0" * 64), "shard-00002.h5: id list does not match", "damaged"),
    ("a shard's sha256 changed", lambda m: m["shards"][2].update(sha256="0" * 64), "shard-00002.h5: sha256 mismatch", "reads"),
    ("provenance seed changed", lambda m: m["provenance"].update(seed=99), "fingerprint does not match", "reads"),
    ("provenance parameter changed", lambda m: m["provenance"]["params"].update(size=1024), "fingerprint does not match", "reads"),
    ("build settings changed", lambda m: m["build"].update(shard_size=64), "fingerprint does not match", "reads"),
    ("the recorded fingerprint changed", lambda m: m.update(fingerprint="0" * 64), "fingerprint does not match", "reads"),
    ("a field dropped from fields", lambda m: m.update(fields=m["fields"][1:]), "contents do not match", "changed"),
    ("the codec changed", lambda m: m["storage"].update(codec="gzip"), "fingerprint does not match", "damaged"),
    ("a failure record added", lambda m: m["failures"].append({"item": "x", "error": "y"}), "contents do not match", "reads"),
]


def edit_manifest(folder: Path, edit) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    edit(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))


@pytest.mark.parametrize("what, edit, message, reader", EDITS, ids=[row[0] for row in EDITS])
def test_every_manifest_edit_is_caught(dataset_copy, what, edit, message, reader):
    intact = open_dataset(dataset_copy)
    expected = [intact[index] for index in range(len(intact))]
    assert verify_dataset(dataset_copy) == []
    edit_manifest(dataset_copy, edit)
    problems = verify_dataset(dataset_copy)
    assert any(message in problem for problem in problems), problems
    if reader == "refused":
        with pytest.raises(DatasetError, match="manifest.json: "):
            open_dataset(dataset_copy)
    elif reader == "damaged":
        dataset = open_dataset(dataset_copy)
        with pytest.raises(DamagedShardError, match=r"shard-0000\d\.h5"):
            [dataset[index] for index in range(len(dataset))]
    elif reader == "changed":
        dataset = open_dataset(dataset_copy)
        assert [sample["id"] for sample in dataset] == list(STEMS) and "image" not in dataset[0]
    else:  # the reader returns exactly what was written, for the samples it lists
        dataset = open_dataset(dataset_copy)
        for sample in dataset:
            original = expected[STEMS.index(sample["id"])]
            assert all(np.array_equal(sample[name], original[name]) for name in ("image", "mask"))


@pytest.mark.parametrize("row", [row for row in EDITS if row[0] != "a field dropped from fields"], ids=lambda row: row[0])
def test_quick_verify_catches_every_edit_but_decoding(dataset_copy, row):
    """`--quick` skips decoding samples, nothing else: counts, id lists and digests are still checked."""
    _, edit, message, _ = row
    edit_manifest(dataset_copy, edit)
    assert any(message in problem for problem in verify_dataset(dataset_copy, decode=False))


def test_verify_cli_names_each_problem_and_fails(dataset_copy):
    edit_manifest(dataset_copy, lambda m: m["provenance"].update(seed=99))
    result = runner.invoke(app, ["shards", "verify", "--quick", str(dataset_copy)])
    assert result.exit_code == 1
    assert "corrupt: manifest.json: fingerprint does not match" in result.output
    assert "1 problem found" in result.output


@pytest.mark.parametrize(
    "document, message",
    [("[1, 2]", "expected a JSON object, found a list"), ("{}", "not a matting-datagen-shards manifest"),
     (None, "lacks 'shards'")],
)
def test_a_malformed_manifest_is_one_line(dataset_copy, tmp_path, document, message):
    manifest = json.loads((dataset_copy / "manifest.json").read_text())
    manifest.pop("shards")
    (dataset_copy / "manifest.json").write_text(document if document is not None else json.dumps(manifest))
    for command in (["shards", "info", str(dataset_copy)], ["shards", "export", str(dataset_copy), "--out", str(tmp_path / "x")],
                    ["shards", "verify", str(dataset_copy)]):
        result = runner.invoke(app, command)
        assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output, result.output
    with pytest.raises(DatasetError, match=message):
        open_dataset(dataset_copy)


def test_stray_files_are_reported_and_change_nothing(dataset_copy):
    (dataset_copy / "stray.txt").write_text("notes")
    (dataset_copy / ".shard-00001.h5.4242.tmp").write_bytes(b"half a shard")
    (dataset_copy / ".parts").mkdir()
    (dataset_copy / "datasheet.md").write_text("# a datasheet belongs here")
    assert stray_files(dataset_copy) == [
        ".parts/: leftover build records of an interrupted write",
        ".shard-00001.h5.4242.tmp: leftover temporary file of an interrupted write",
        "stray.txt: not part of the dataset",
    ]
    assert verify_dataset(dataset_copy) == []
    result = runner.invoke(app, ["shards", "verify", str(dataset_copy)])
    assert result.exit_code == 0, result.output
    assert "stray: stray.txt: not part of the dataset" in result.output
    assert result.output.strip().endswith("OK (3 stray files beside it)")
