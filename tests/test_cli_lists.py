"""List options read the same way in every command: comma-separated, repeated, or both.

Regression for `datagen shards export DIR --fields mask,alpha` failing with "fields
['mask,alpha'] are not in this dataset".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from datagen.runner import Execution
from datagen.shards.build import write_dataset
from datagen.cli import app
from datagen.cli_common import comma_list
from datagen.shardtools.export import safe_stem

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
IDS = ("plain", "with, comma", "third")
runner = CliRunner()


def invoke(*args) -> object:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize(
    "given, expected",
    [
        (None, None),
        (["mask,alpha"], ["mask", "alpha"]),
        (["mask", "alpha"], ["mask", "alpha"]),
        ([" mask , alpha,", "trimap"], ["mask", "alpha", "trimap"]),
        (["with\\, comma,plain"], ["with, comma", "plain"]),
    ],
)
def test_comma_list_splits_strips_and_keeps_escaped_commas(given, expected):
    assert comma_list(given) == expected


def test_comma_list_with_no_item_is_a_usage_error():
    with pytest.raises(typer.BadParameter, match="at least one item"):
        comma_list([" , "])


def _sample(index: int) -> dict:
    rng = np.random.default_rng(index)
    mask = (rng.random((9, 11)) > 0.5).astype(np.uint8)
    return {"id": IDS[index], "image": rng.integers(0, 256, (9, 11, 3), dtype=np.uint8), "mask": mask,
            "alpha": rng.integers(0, 65536, (9, 11), dtype=np.uint16), "recipe": {"index": index}}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lists") / "ds"
    write_dataset(out, "benchmark", [0, 1, 2], _sample, execution=Execution(progress=False))
    return out


def _exported(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: np.asarray(Image.open(p)) for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fields", [["--fields", "mask,alpha"], ["--fields", "mask", "--fields", "alpha"],
                                    ["--fields", "mask, alpha"]])
def test_export_takes_fields_comma_separated_or_repeated(dataset, tmp_path, fields):
    result = invoke("shards", "export", dataset, "--out", tmp_path / "out", *fields)
    assert result.exit_code == 0, result.output
    files = _exported(tmp_path / "out")
    assert set(files) == {f"{safe_stem(sample_id)}_{field}.png" for sample_id in IDS for field in ("mask", "alpha")}
    truth = _sample(0)
    assert np.array_equal(files["plain_mask.png"], truth["mask"] * 255)
    assert np.array_equal(files["plain_alpha.png"], truth["alpha"])


def test_export_takes_ids_comma_separated_with_an_escaped_comma(dataset, tmp_path):
    result = invoke("shards", "export", dataset, "--out", tmp_path / "out", "--ids", "third,with\\, comma", "--fields", "image")
    assert result.exit_code == 0, result.output
    files = _exported(tmp_path / "out")
    assert set(files) == {"third_image.png", f"{safe_stem('with, comma')}_image.png"}
    assert np.array_equal(files["third_image.png"], _sample(2)["image"])


def test_export_names_a_field_that_is_not_there(dataset, tmp_path):
    result = invoke("shards", "export", dataset, "--out", tmp_path / "out", "--fields", "mask,trimap")
    assert result.exit_code == 2 and "fields ['trimap'] are not in this dataset" in result.stderr


def test_manifests_check_takes_parts_comma_separated_or_repeated(shared_data):
    root = shared_data / "alphamatting_training_lowres"
    common = ("manifests", "check", "alphamatting", "--root", root, "--no-decode")
    comma = invoke(*common, "--part", "training-lowres,test-lowres")
    repeated = invoke(*common, "--part", "training-lowres", "--part", "test-lowres")
    assert comma.output == repeated.output and comma.exit_code == repeated.exit_code
    assert "[training-lowres, test-lowres]" in comma.output
    assert "missing: input_lowres: folder not found" in comma.output  # the test-lowres part was checked too


def test_build_trimaps_must_be_numbers(tmp_path):
    result = invoke("build", "alphamatting", "--root", DATA / "alphamatting_training_lowres", "--out", tmp_path / "x",
                    "--trimaps", "1, two")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: --trimaps takes") and "two" in result.stderr


@pytest.mark.parametrize("extra, exported, report", [
    (["--limit", "2"], ("plain", "with, comma"), "8 files for 2 of 3 samples (image, mask, alpha, recipe) written to"),
    (["--limit", "1", "--ids", "third,plain", "--fields", "mask"], ("third",),
     "1 file for 1 of 3 samples (mask) written to"),
    (["--limit", "9", "--fields", "image"], IDS, "3 files for 3 of 3 samples (image) written to"),
])
def test_export_takes_a_limit_and_says_what_it_wrote_where(dataset, tmp_path, extra, exported, report):
    """`--limit N` keeps the first N samples (of --ids when given); the report counts files and
    samples and names the folder (it said only "N files written to OUT")."""
    result = invoke("shards", "export", dataset, "--out", tmp_path / "out", *extra)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{report} {(tmp_path / 'out').resolve()}"
    assert {p.name.rsplit("_", 1)[0] for p in (tmp_path / "out").iterdir()} == {safe_stem(i) for i in exported}


def test_export_limit_must_be_positive(dataset, tmp_path):
    result = runner.invoke(app, ["shards", "export", str(dataset), "--out", str(tmp_path / "out"), "--limit", "0"])
    assert result.exit_code == 2 and "--limit" in result.output and not (tmp_path / "out").exists()
