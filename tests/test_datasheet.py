"""`datagen shards datasheet`: checked on hand-made datasets whose statistics are known exactly,
whose provenance names a source manifest (the licence must be the one in manifests/), and whose
build met a failure. (The datasheet of every demo kind and of a real set: test_preview.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from datagen.runner import Execution
from datagen.shards.build import write_dataset
from datagen.cli import app
from datagen.shards import open_dataset
from datagen.shardtools.datasheet import dataset_statistics, write_datasheet

REPO_MANIFESTS = Path(__file__).resolve().parents[1] / "manifests"
runner = CliRunner()


def _sample(item: int) -> dict:
    """Three benchmark samples with known coverage and unknown share; item 3 fails."""
    if item == 0:        # 40x50, left half opaque: coverage 0.5; 10 full rows unknown: 500 / 2000 = 0.25
        alpha = np.zeros((40, 50), np.uint8)
        alpha[:, :25] = 255
        trimap = np.zeros((40, 50), np.uint8)
        trimap[:10] = 128
    elif item == 1:      # 20x20, a 10x10 opaque square and 4 half-transparent pixels; 8 unknown pixels
        alpha = np.zeros((20, 20), np.uint8)
        alpha[:10, :10] = 255
        alpha[15, 15:19] = 51
        trimap = np.zeros((20, 20), np.uint8)
        trimap[15, 12:20] = 128
    elif item == 2:      # 30x30, empty
        alpha = np.zeros((30, 30), np.uint8)
        trimap = np.zeros((30, 30), np.uint8)
    else:
        raise ValueError(f"item {item}: unreadable on purpose")
    image = np.zeros((*alpha.shape, 3), np.uint8)
    image[..., 0] = item * 60
    return {"id": f"s{item}", "image": image, "alpha": alpha, "trimap": trimap, "recipe": {"item": item}}


EXPECTED_COVERAGE = [0.5, (100 * 255 + 4 * 51) / (400 * 255), 0.0]
EXPECTED_UNKNOWN = [0.25, 8 / 400, 0.0]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasheet")
    write_dataset(root / "bench", "benchmark", [0, 1, 2, 3], _sample, execution=Execution(progress=False), shard_size=2,
                  provenance={"command": "test", "seed": 7, "source_manifest": {"name": "grabcut", "version": 1},
                              "inputs": [{"path": "/nowhere", "sha256": "ab" * 32}]})
    write_dataset(root / "derived", "benchmark", [0, 1], _sample, execution=Execution(progress=False),
                  provenance={"command": "test derived", "inputs": [{"path": str(root / "bench")}]})
    return root


def test_statistics_are_the_hand_computed_ones(made):
    stats = dataset_statistics(open_dataset(made / "bench"))
    assert stats["sizes"] == [[40, 50], [20, 20], [30, 30]]
    assert stats["sampled"] == 3 and stats["matte_field"] == "alpha" and stats["unknown_rule"] == "trimap == 128"
    assert stats["coverage"] == pytest.approx(EXPECTED_COVERAGE, abs=1e-12)
    assert stats["unknown"] == pytest.approx(EXPECTED_UNKNOWN, abs=1e-12)
    subset = dataset_statistics(open_dataset(made / "bench"), max_samples=2)
    assert subset["sampled"] == 2 and len(subset["coverage"]) == 2 and len(subset["sizes"]) == 3


def test_the_page_says_what_the_manifest_and_manifests_dir_say(made, tmp_path):
    page = write_datasheet(made / "bench", tmp_path / "bench.md").read_text()
    licence = json.loads((REPO_MANIFESTS / "grabcut.json").read_text())["license"]
    assert licence in page
    assert "A `benchmark` dataset of 3 samples in 2 shard(s)" in page
    assert "| `trimap` | uint8 | HxW |" in page
    assert "- seed: 7" in page and "- command: `test`" in page and f"sha256 `{'ab' * 32}`" in page
    assert "1 item(s) could not become samples" in page and "item 3: unreadable on purpose" in page
    assert "smallest 20x20" in page and "largest 40x50" in page and "3 distinct" in page
    # histogram rows: 0.0 -> first bin, 0.2551 -> third, 0.5 -> sixth
    assert "| 0.0-0.1 | 1 |" in page and "| 0.2-0.3 | 1 |" in page and "| 0.5-0.6 | 1 |" in page
    assert "| 0.1-0.2 | 0 |" in page
    assert f"mean {np.mean(EXPECTED_UNKNOWN):.4f}, max 0.2500" in page
    assert "![statistics](bench-stats.png)" in page and (tmp_path / "bench-stats.png").stat().st_size > 1000


def test_licences_follow_the_input_datasets(made, tmp_path):
    page = write_datasheet(made / "derived", tmp_path / "derived.md").read_text()
    assert "**grabcut**" in page and "None: every item became a sample." in page


def test_the_same_dataset_gives_the_same_bytes(made, tmp_path):
    first = write_datasheet(made / "bench", tmp_path / "a" / "sheet.md")
    second = write_datasheet(made / "bench", tmp_path / "b" / "sheet.md")
    assert first.read_bytes() == second.read_bytes()
    assert (first.parent / "sheet-stats.png").read_bytes() == (second.parent / "sheet-stats.png").read_bytes()


def test_cli_writes_beside_the_manifest_and_names_bad_input(made, tmp_path):
    result = runner.invoke(app, ["shards", "datasheet", str(made / "derived")])
    assert result.exit_code == 0, result.output
    assert (made / "derived" / "datasheet.md").is_file() and (made / "derived" / "datasheet-stats.png").is_file()
    missing = runner.invoke(app, ["shards", "datasheet", str(tmp_path)])
    assert missing.exit_code == 2 and "manifest.json is missing" in missing.output and "Traceback" not in missing.output


def test_every_field_of_every_kind_says_what_it_means():
    """The datasheet's "meaning" column and `shards info` come from the schema: no empty cell
    (the `image` field had none in any kind)."""
    from datagen.shards.schema import KINDS

    missing = [f"{kind}.{spec.name}" for kind, specs in KINDS.items() for spec in specs if not spec.doc.strip()]
    assert missing == []


def test_the_datasheet_fills_every_meaning_even_for_a_manifest_written_without_one(made, tmp_path):
    """Every row of the Fields table has a meaning; a manifest written before the schema had one
    for a field (an empty `doc`) gets the schema's."""
    import shutil

    from datagen.shards.schema import kind_fields

    copy = tmp_path / "old"
    shutil.copytree(made / "bench", copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    for spec in manifest["fields"]:
        spec["doc"] = ""
    (copy / "manifest.json").write_text(json.dumps(manifest))
    for folder in (made / "bench", copy):
        text = write_datasheet(folder, tmp_path / f"{folder.name}.md").read_text()
        rows = text.split("## Fields", 1)[1].split("##", 1)[0].strip().splitlines()[2:]
        cells = {row.split("|")[1].strip(): row.split("|")[4].strip() for row in rows}
        assert cells["`image`"] == "RGB input image as the benchmark ships or composes it"
        assert cells == {f"`{name}`": spec.doc for name, spec in kind_fields("benchmark").items()
                         if f"`{name}`" in cells} and all(cells.values())
