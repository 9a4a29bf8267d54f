"""Damaged shards fail loudly on every read path, naming the shard, the sample and the field.

The dataset is built from real GrabCut photographs and masks (../shared/data/grabcut), three
shards of two samples; each test damages a copy by flipping bytes in the file itself (a 64-byte
run inside one stored tile, the bytes of a recipe, of an id, of a stored checksum) or by
truncating it, then reads it the ways users do: `Dataset[i]`, `get`, crops, `shards export`,
`shards verify`, `training evaluate` and a training loader.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from datagen.runner import Execution
from datagen.shards.build import write_dataset
from datagen.imageio import read_alpha, read_image
from datagen.shards import DatasetError, open_dataset
from datagen.shards.manifest import DamagedShardError
from datagen.shards.verify import verify_dataset

STEMS = ("banana1", "banana2", "bool", "ceramic", "cross", "doll")
runner = CliRunner()


class GrabCutSample:
    """Picklable maker: one real GrabCut image and its mask as a benchmark sample."""

    def __init__(self, root: Path):
        self.root = root

    def __call__(self, stem: str) -> dict:
        (path,) = (self.root / "data_GT").glob(f"{stem}.*")
        image = read_image(path)
        mask = (read_alpha(self.root / "boundary_GT" / f"{stem}.bmp") > 0).astype(np.uint8)
        return {"id": stem, "image": image, "mask": mask, "recipe": {"name": path.name, "source": "grabcut"}}


@pytest.fixture(scope="session")
def grabcut_shards(shared_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("grabcut") / "ds"
    result = write_dataset(out, "benchmark", list(STEMS), GrabCutSample(shared_data / "grabcut"), shard_size=2,
                           execution=Execution(progress=False), provenance={"command": "test", "seed": 5, "params": {"source": "grabcut", "size": 512}})
    assert result.n_samples == len(STEMS) and not result.failures
    return out


@pytest.fixture
def dataset_copy(grabcut_shards, tmp_path) -> Path:
    copy = tmp_path / "ds"
    shutil.copytree(grabcut_shards, copy)
    return copy


def shard_of(folder: Path, stem: str) -> tuple[Path, int]:
    """The shard file holding sample `stem` and its position in it (two samples a shard)."""
    position = STEMS.index(stem)
    return folder / f"shard-{position // 2:05d}.h5", position % 2


def flip_bytes(path: Path, start: int, length: int = 64, mask: int = 0xFF) -> None:
    data = bytearray(path.read_bytes())
    for offset in range(start, start + length):
        data[offset] ^= mask
    path.write_bytes(bytes(data))


def flip_tile(folder: Path, stem: str, field: str, tile: int = 0) -> tuple[int, int]:
    """Flip a 64-byte run in the middle of one stored tile; returns the tile's (row, column) offset."""
    shard, local = shard_of(folder, stem)
    with h5py.File(shard, "r") as handle:
        info = handle[f"samples/{local:06d}/{field}"].id.get_chunk_info(tile)
    length = min(64, info.size)
    flip_bytes(shard, info.byte_offset + (info.size - length) // 2, length)
    return info.chunk_offset[:2]


def flip_text(path: Path, text: bytes) -> None:
    """Flip the lowest bit of the middle byte of `text` (a recipe, a checksum) where the file
    holds it, once: text stays text ('o' -> 'n'), so only a checksum can tell."""
    data = path.read_bytes()
    assert data.count(text) == 1, f"{text!r} found {data.count(text)} times"
    flip_bytes(path, data.index(text) + len(text) // 2, 1, mask=0x01)


def test_a_damaged_tile_fails_every_reader_access_naming_shard_sample_and_field(dataset_copy, grabcut_shards):
    intact = open_dataset(grabcut_shards)
    top, left = flip_tile(dataset_copy, "banana2", "image", tile=0)
    assert (top, left) == (0, 0)
    dataset = open_dataset(dataset_copy)
    pattern = r"shard-00000\.h5: sample 'banana2' field 'image': tile at rows 0\.\.255, columns 0\.\.255 does not match"
    with pytest.raises(DamagedShardError, match=pattern) as caught:
        dataset[1]
    assert (caught.value.sample_id, caught.value.field) == ("banana2", "image")
    with pytest.raises(DamagedShardError, match=pattern):
        dataset.get("banana2")
    with pytest.raises(DamagedShardError, match=pattern):
        dataset.read(1, fields=["image"], crop=(200, 200, 100, 100))  # overlaps tile (0, 0)
    # A crop away from the damaged tile touches only intact tiles, and is exact.
    window = (256, 256, 120, 140)
    assert np.array_equal(dataset.read(1, crop=window)["image"], intact.read(1, crop=window)["image"])
    assert np.array_equal(dataset.get("banana2", fields=["mask"])["mask"], intact.get("banana2")["mask"])
    assert all(np.array_equal(dataset[i]["image"], intact[i]["image"]) for i in (0, 2, 3, 4, 5))
    # The check is what catches it: unchecked, the damaged pixels come back without a word.
    unchecked = open_dataset(dataset_copy, verify=False).get("banana2")["image"]
    assert not np.array_equal(unchecked, intact.get("banana2")["image"])


def test_every_stored_tile_of_every_field_is_checked(dataset_copy):
    """Flip each tile of one sample in turn: every one is caught, and by the right field and tile."""
    shard, local = shard_of(dataset_copy, "ceramic")
    original = shard.read_bytes()
    for field in ("image", "mask"):
        with h5py.File(shard, "r") as handle:
            count = handle[f"samples/{local:06d}/{field}"].id.get_num_chunks()
        assert count == 6  # 640x480 in 256-pixel tiles: 2 rows of 3
        for tile in range(count):
            shard.write_bytes(original)
            top, left = flip_tile(dataset_copy, "ceramic", field, tile)
            with pytest.raises(DamagedShardError, match=f"'ceramic' field '{field}': tile at rows {top}\\.\\..*columns {left}\\.\\."):
                open_dataset(dataset_copy).get("ceramic")


def test_a_damaged_recipe_fails_the_read_and_verify_names_the_sample(dataset_copy):
    shard, _ = shard_of(dataset_copy, "cross")
    flip_text(shard, b'"name":"cross.jpg"')  # one letter of the name: still valid JSON
    with pytest.raises(DamagedShardError, match=r"sample 'cross' field 'recipe': the JSON text does not match its checksum"):
        open_dataset(dataset_copy).get("cross")
    assert open_dataset(dataset_copy).get("cross", fields=["image"])["id"] == "cross"
    problems = verify_dataset(dataset_copy)
    assert any("sample 0 (id 'cross'): field 'recipe' does not match its stored checksum" in p for p in problems), problems


def test_a_damaged_id_fails_the_shard_and_verify_names_the_sample(dataset_copy):
    shard, local = shard_of(dataset_copy, "doll")
    with h5py.File(shard, "r") as handle:  # the id list: fixed-length strings, stored contiguously
        start, width = handle["ids"].id.get_offset(), handle["ids"].dtype.itemsize
    flip_bytes(shard, start + local * width + 1, 1, mask=0x01)  # "doll" -> "dnll"
    with pytest.raises(DamagedShardError, match=r"shard-00002\.h5: id list does not match the manifest's ids_sha256"):
        open_dataset(dataset_copy)[4]
    problems = verify_dataset(dataset_copy)
    assert any(re.search(r"sample 1 \(id 'dnll'\): the id list says 'dnll' but the sample was written as 'doll'", p) for p in problems), problems


def test_verify_tells_a_flipped_stored_checksum_from_damaged_pixels(dataset_copy):
    shard, local = shard_of(dataset_copy, "bool")
    with h5py.File(shard, "r") as handle:
        field = handle[f"samples/{local:06d}/image"]
        tile_checksums, pixel_digest = field.attrs["tile_crc32"].tobytes(), field.attrs["sha256"]
    original = shard.read_bytes()
    flip_text(shard, tile_checksums)
    problems = verify_dataset(dataset_copy)
    assert any("'bool'): field 'image' stored tile checksums damaged (1 of 6); the pixels are those written" in p for p in problems), problems
    with pytest.raises(DamagedShardError, match="'bool' field 'image'"):  # the reader cannot tell: it refuses
        open_dataset(dataset_copy).get("bool")
    shard.write_bytes(original)
    flip_text(shard, pixel_digest)
    problems = verify_dataset(dataset_copy)
    assert any("'bool'): field 'image' stored pixel checksum (sha256) damaged; every tile matches" in p for p in problems), problems
    shard.write_bytes(original)
    flip_tile(dataset_copy, "bool", "image", tile=3)
    problems = verify_dataset(dataset_copy)
    assert any("'bool'): field 'image' pixels damaged: 1 of 6 tiles differ from their checksums" in p for p in problems), problems


@pytest.mark.parametrize("damage", ["truncated", "header"])
def test_a_truncated_or_headless_shard_is_named_by_the_api_and_verify(dataset_copy, damage):
    shard = dataset_copy / "shard-00001.h5"
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 3] if damage == "truncated" else b"\0" * 512 + data[512:])
    dataset = open_dataset(dataset_copy)
    assert dataset[0]["id"] == "banana1" and dataset[5]["id"] == "doll"  # the other shards still read
    with pytest.raises(DamagedShardError, match=r"shard-00001\.h5: cannot be opened as HDF5, truncated or damaged") as caught:
        dataset[2]
    assert caught.value.file == str(dataset_copy / "shard-00001.h5") and "\n" not in str(caught.value)
    with pytest.raises(DamagedShardError, match=r"shard-00001\.h5: "):  # `get` needs every shard's ids
        open_dataset(dataset_copy).get("doll")
    problems = verify_dataset(dataset_copy, decode=False)
    assert any(p.startswith("shard-00001.h5: ") for p in problems), problems


def test_export_stops_with_one_line_naming_the_damaged_sample(dataset_copy, tmp_path):
    from datagen.cli import app

    flip_tile(dataset_copy, "bool", "mask", tile=1)
    result = runner.invoke(app, ["shards", "export", str(dataset_copy), "--out", str(tmp_path / "png")])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert re.fullmatch(r"error: .*shard-00001\.h5: sample 'bool' field 'mask': tile at rows 0\.\.255, columns 256\.\.511 .*", lines[-1]), result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("damage", ["truncated", "header"])
def test_export_and_verify_of_a_truncated_or_headless_shard_are_one_line(dataset_copy, tmp_path, damage):
    from datagen.cli import app

    shard = dataset_copy / "shard-00000.h5"
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\xff" * 1024 + data[1024:])
    result = runner.invoke(app, ["shards", "export", str(dataset_copy), "--out", str(tmp_path / "png")])
    assert result.exit_code != 0 and len(result.output.strip().splitlines()) == 1, result.output
    assert "shard-00000.h5" in result.output and result.output.startswith("error: ")
    result = runner.invoke(app, ["shards", "verify", str(dataset_copy)])
    assert result.exit_code == 1 and "corrupt: shard-00000.h5: " in result.output


def test_evaluate_reports_the_damaged_sample_and_fails(dataset_copy, tmp_path):
    from training.cli import app

    flip_tile(dataset_copy, "banana2", "image", tile=2)
    result = runner.invoke(app, ["evaluate", "iseg", "--benchmark", str(dataset_copy), "--model", "baseline:grabcut",
                                 "--out", str(tmp_path / "report"), "--ids", "banana*", "--clicks", "1", "--no-progress"])
    assert result.exit_code == 1, result.output
    assert re.search(r"failed: .*banana2: DamagedShardError: .*shard-00000\.h5: sample 'banana2' field 'image': tile at rows 0\.\.255, columns 512\.\.767", result.output), result.output
    records = json.loads((tmp_path / "report" / "results.json").read_text())
    text = json.dumps(records)
    assert "banana1" in text and "DamagedShardError" in text


@pytest.mark.parametrize("damage", ["truncated", "header"])
def test_evaluate_on_a_truncated_or_headless_shard_is_one_line(dataset_copy, tmp_path, damage):
    from training.cli import app

    shard = dataset_copy / "shard-00000.h5"
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\0" * 2048 + data[2048:])
    result = runner.invoke(app, ["evaluate", "iseg", "--benchmark", str(dataset_copy), "--model", "baseline:grabcut",
                                 "--out", str(tmp_path / "report"), "--clicks", "1", "--no-progress"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert re.fullmatch(r"error: .*shard-00000\.h5: .*", result.output.strip()), result.output


def test_a_training_loader_fails_on_the_damaged_sample(tmp_path):
    from torch.utils.data import DataLoader

    from datagen.demo.banks import build_background_bank, build_object_bank
    from training.data.matting import MattingData, MattingDataConfig

    build_object_bank(tmp_path / "objects", n=2, size=(96, 96), execution=Execution(progress=False))
    build_background_bank(tmp_path / "backgrounds", n=1, size=(300, 300), execution=Execution(progress=False))
    background = tmp_path / "backgrounds" / "shard-00000.h5"
    with h5py.File(background, "r") as handle:
        info = handle["samples/000000/image"].id.get_chunk_info(0)
    flip_bytes(background, info.byte_offset + info.size // 2)
    data = MattingData(MattingDataConfig(crop_sizes=(64,), out_size=64, composites_per_object=1), objects=tmp_path / "objects",
                       backgrounds=tmp_path / "backgrounds")
    with pytest.raises(DamagedShardError, match=r"backgrounds/shard-00000\.h5: sample '.+' field 'image'"):
        for _ in DataLoader(data, batch_size=None, num_workers=0):
            pass
    assert isinstance(DamagedShardError("x", "y"), DatasetError)
