"""`datagen shards preview` (contact sheets) on every kind the demo builds and on a real imported
set, plus the tile drawing checked against a scene whose annotations are known pixel for pixel.

The datasheet of the same datasets is written here too (the acceptance runs both on every kind);
its statistics are checked against hand-made datasets in test_datasheet.py.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from typer.testing import CliRunner

from datagen.runner import Execution
from datagen.cli import app
from datagen.demo.stages import DemoContext, run_stages
from datagen.shards import open_dataset
from datagen.shardtools.datasheet import write_datasheet
from datagen.shardtools.preview import (
    GAP,
    OUTLINE,
    TEXT_BAND,
    choose_indices,
    contact_sheet,
    read_fields,
    recipe_summary,
    render_tile,
)

runner = CliRunner()


@pytest.fixture(scope="module")
def datasets(tmp_path_factory, shared_data) -> dict:
    """Every dataset the demo builds (small), and GrabCut-free real data: alphamatting.com with trimap 1."""
    root = tmp_path_factory.mktemp("preview")
    ctx = DemoContext(out=root / "demo", n_objects=5, n_backgrounds=5, object_size=(64, 64),
                      background_size=(96, 128), execution=Execution(progress=False))
    run_stages(ctx, report=lambda line: None)
    sets = dict(ctx.outputs)
    result = runner.invoke(app, ["build", "alphamatting", "--root", str(shared_data / "alphamatting_training_lowres"),
                                 "--out", str(root / "alphamatting"), "--trimaps", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    sets["alphamatting"] = root / "alphamatting"
    return sets


def _tiles(sheet: np.ndarray, n: int, cols: int, tile: int = 256) -> list[np.ndarray]:
    """The picture area of each tile, cut at the positions the layout promises."""
    out = []
    for slot in range(n):
        row, col = divmod(slot, cols)
        y, x = GAP + row * (tile + TEXT_BAND + GAP), GAP + col * (tile + GAP)
        out.append(sheet[y : y + tile, x : x + tile])
    return out


@pytest.mark.parametrize("name", ["objects", "backgrounds", "refit", "synth-seg", "synth-matting", "alphamatting"])
def test_sheet_and_datasheet_of_every_kind(datasets, name, tmp_path):
    dataset = open_dataset(datasets[name])
    sheet, shown = contact_sheet(dataset, n=4, seed=1)
    # 4 tiles: 2 x 2 of 256 px pictures, a 34 px text band each, 4 px gutters: worked out by hand.
    assert sheet.shape == (2 * (256 + 34 + 4) + 4, 2 * (256 + 4) + 4, 3)
    assert len(shown) == len(set(shown)) == 4
    tiles = _tiles(sheet, 4, 2)
    for tile in tiles:
        assert tile.std() > 5, "a tile is blank"
    assert all(not np.array_equal(a, b) for i, a in enumerate(tiles) for b in tiles[i + 1 :]), "two tiles are the same"

    page = write_datasheet(datasets[name], tmp_path / "sheet.md").read_text()
    assert f"A `{dataset.kind}` dataset of {len(dataset)} samples" in page
    for shard in dataset.manifest["shards"]:
        digest = hashlib.sha256((datasets[name] / shard["file"]).read_bytes()).hexdigest()
        assert f"| {shard['file']} | {shard['num_samples']} | {shard['bytes']} | `{digest}` |" in page
    if name == "alphamatting":
        assert (datasets[name] / "datasheet.md").is_file(), "`datagen build` writes the datasheet by default"
        assert "**alphamatting**" in page and "Rhemann" in page
        assert "unknown-band share (trimap == 128)" in page


def test_the_sample_choice_is_seeded_distinct_and_in_order():
    first = choose_indices(1000, 24, seed=3)
    assert first == choose_indices(1000, 24, seed=3) != choose_indices(1000, 24, seed=4)
    assert first == sorted(set(first)) and len(first) == 24 and 0 <= first[0] and first[-1] < 1000
    assert choose_indices(5, 24, seed=0) == [0, 1, 2, 3, 4]


def test_tiles_read_only_the_fields_they_draw(datasets, monkeypatch):
    """A refit bank holds fg_full/bg_full (uint16, the bulk of its bytes) and a matting set fg/bg:
    neither is read, and only the n chosen samples are."""
    expected = {"refit": ["fg", "alpha", "recipe"], "synth-matting": ["image", "alpha", "trimap", "recipe"],
                "synth-seg": ["image", "mask", "recipe"]}
    for name, fields in expected.items():
        dataset = open_dataset(datasets[name])
        calls = []
        original = dataset.read
        monkeypatch.setattr(dataset, "read", lambda index, fields=None, crop=None: calls.append((index, fields)) or original(index, fields, crop))
        contact_sheet(dataset, n=3, seed=0)
        wanted = [field for field in fields if field in dataset.fields]
        assert [index for index, _ in calls] == choose_indices(len(dataset), 3, 0)
        assert all(read == wanted for _, read in calls), (name, calls)


def test_a_tile_draws_the_outline_bands_and_clicks_where_they_are():
    """Benchmark-like sample whose tile is drawn at scale 1 (a 100 px image in a 100 px tile)."""
    image = np.full((100, 100, 3), 90, np.uint8)
    mask = np.zeros((100, 100), np.uint8)
    mask[20:60, 30:80] = 1
    trimap = np.zeros((100, 100), np.uint8)
    trimap[70:90, 10:20] = 128
    ignore = np.zeros((100, 100), np.uint8)
    ignore[5:10, 85:95] = 1
    sample = {"id": "square", "image": image, "mask": mask, "trimap": trimap, "ignore": ignore,
              "recipe": {"clicks": [[40, 55, True], [90, 90, False]]}}
    picture = render_tile(sample, "benchmark", tile=100)[:100]
    green = np.all(picture == OUTLINE, axis=2)
    # the outline is the 2 px band straddling the square's edge: rows 19/20 and 59/60, cols 29/30, 79/80
    ring = np.zeros((100, 100), bool)
    ring[19:61, 29:81] = True
    ring[21:59, 31:79] = False
    assert np.array_equal(green & ~_near_clicks(), ring & ~_near_clicks())
    # trimap unknown band and ignore band tinted (towards yellow / magenta), the rest untouched
    assert picture[80, 15, 0] > 90 + 50 and picture[80, 15, 2] < 90
    assert picture[7, 90, 0] > 90 + 50 and picture[7, 90, 1] < 90 and picture[7, 90, 2] > 90 + 50
    assert np.array_equal(picture[40, 5], [90, 90, 90])
    # clicks: a filled dot, green for positive, red for negative, centred on the click
    assert picture[40, 55, 1] > 150 and picture[40, 55, 0] < 50
    assert picture[90, 90, 0] > 150 and picture[90, 90, 1] < 50


def _near_clicks() -> np.ndarray:
    y, x = np.indices((100, 100))
    return ((y - 40) ** 2 + (x - 55) ** 2 <= 36) | ((y - 90) ** 2 + (x - 90) ** 2 <= 36)


def test_recipe_lines_say_objects_scale_and_background():
    synth = {"layers": [{"id": "a", "role": "distractor", "area": 0.3}, {"id": "b", "role": "primary", "area": 0.25}],
             "background": {"id": "bg_7"}, "realism": {"jpeg": 80, "blur": None, "noise": None, "noise_seed": 3}}
    assert recipe_summary(synth) == "2 obj, area 0.25, bg bg_7, +jpeg"
    assert recipe_summary({"source": "grabcut", "image": "x.jpg", "rule": "r"}) == "grabcut: x.jpg"
    assert recipe_summary(None) == "no recipe"


def test_fields_limit_the_overlays_and_unknown_ones_are_named():
    assert read_fields("seg", ["image", "mask", "alpha", "recipe"]) == ["image", "mask", "recipe"]
    assert read_fields("matting", ["image", "alpha", "fg", "bg", "trimap"], ["trimap"]) == ["image", "trimap"]
    with pytest.raises(ValueError, match=r"\['trimap'\] are not in this seg dataset"):
        read_fields("seg", ["image", "mask", "alpha"], ["trimap"])


def test_cli_writes_the_sheet_and_names_bad_input(datasets, tmp_path):
    out = tmp_path / "sheet.png"
    result = runner.invoke(app, ["shards", "preview", str(datasets["synth-seg"]), "--out", str(out), "--n", "3"])
    assert result.exit_code == 0, result.output
    from datagen.imageio import read_image

    assert read_image(out).shape == (592, 524, 3)       # 3 tiles: a 2 x 2 grid, one slot empty
    bad = runner.invoke(app, ["shards", "preview", str(datasets["synth-seg"]), "--out", str(out), "--fields", "trimap"])
    assert bad.exit_code == 2 and "trimap" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(app, ["shards", "preview", str(tmp_path / "nope"), "--out", str(out)])
    assert missing.exit_code == 2 and "no such folder" in missing.output
