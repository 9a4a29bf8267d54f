"""The shard store: round trips, crops, ids, schema checks, resume, determinism, verify."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from datagen.shards import DatasetError, DatasetExistsError, open_dataset, write_dataset
from datagen.shards.verify import verify_dataset


def make_benchmark(index: int, fail_on: tuple[int, ...] = ()) -> dict:
    """A deterministic benchmark sample of a size that varies with the index."""
    if index in fail_on:
        raise ValueError(f"item {index} is broken on purpose")
    rng = np.random.default_rng(index)
    height, width = 20 + 7 * index, 300 - 5 * index
    return {
        "id": f"sample {index:03d}",
        "image": rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
        "alpha": rng.integers(0, 65536, (height, width), dtype=np.uint16),
        "recipe": {"index": index, "scale": 0.5},
    }


def write(out: Path, n: int = 12, **kwargs):
    options = {"provenance": {"seed": 3}, "shard_size": 5, "progress": False, **kwargs}
    return write_dataset(out, "benchmark", list(range(n)), make_benchmark, **options)


def test_round_trip_exact_with_ids_and_recipes(tmp_path):
    result = write(tmp_path / "ds")
    dataset = open_dataset(tmp_path / "ds")
    assert result.n_samples == len(dataset) == 12
    assert dataset.kind == "benchmark" and dataset.fields == ["image", "alpha", "recipe"]
    for index in range(12):
        expected = make_benchmark(index)
        sample = dataset[index]
        assert sample["id"] == expected["id"]
        assert sample["image"].dtype == np.uint8 and np.array_equal(sample["image"], expected["image"])
        assert sample["alpha"].dtype == np.uint16 and np.array_equal(sample["alpha"], expected["alpha"])
        assert sample["recipe"] == expected["recipe"]
    assert np.array_equal(dataset.get("sample 007")["image"], make_benchmark(7)["image"])
    assert dataset.index_of("sample 011") == 11 and dataset[-1]["id"] == "sample 011"
    with pytest.raises(IndexError):
        dataset[12]
    with pytest.raises(KeyError, match="nope"):
        dataset.get("nope")


def test_crop_reads_the_window_and_touches_only_its_tiles(tmp_path):
    big = np.random.default_rng(0).integers(0, 256, (1100, 1300, 3), dtype=np.uint8)
    write_dataset(tmp_path / "ds", "backgrounds", [0], lambda _: {"id": "big", "image": big}, progress=False)
    dataset = open_dataset(tmp_path / "ds")
    crop = dataset.read(0, crop=(300, 517, 320, 320))["image"]
    assert np.array_equal(crop, big[300:620, 517:837])
    assert np.array_equal(dataset.read(0, crop=(1000, 1200, 320, 320))["image"], big[1000:, 1200:])
    assert dataset.shape(0, "image") == (1100, 1300, 3)
    # Tile chunking is what makes crops cheap: a 320x320 window spans at most 3x3 tiles.
    chunks = dataset._group(0)["image"].chunks
    assert chunks == (256, 256, 3)


def test_failed_items_are_reported_and_the_rest_written(tmp_path):
    result = write_dataset(
        tmp_path / "ds", "benchmark", list(range(8)), partial(make_benchmark, fail_on=(2, 5)), progress=False, shard_size=3
    )
    assert result.n_samples == 6
    assert [failure.item for failure in result.failures] == ["2", "5"]
    assert "broken on purpose" in result.failures[0].error
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert [f["item"] for f in manifest["failures"]] == ["2", "5"]
    assert "sample 002" not in open_dataset(tmp_path / "ds").ids


@pytest.mark.parametrize(
    "sample, message",
    [
        ({"id": "a", "image": np.zeros((4, 4, 3), np.uint8)}, "needs a mask, an alpha or"),
        ({"id": "a", "image": np.zeros((4, 4, 3), np.uint8), "mask": np.full((4, 4), 255, np.uint8)}, "outside"),
        ({"id": "a", "image": np.zeros((4, 4, 3), np.uint8), "mask": np.zeros((4, 5), np.uint8)}, "other fields"),
        ({"id": "a", "image": np.zeros((4, 4), np.uint8), "mask": np.zeros((4, 4), np.uint8)}, "HxWx3"),
        ({"id": "a", "image": np.zeros((4, 4, 3), np.float32), "mask": np.zeros((4, 4), np.uint8)}, "dtype"),
        ({"id": "", "image": np.zeros((4, 4, 3), np.uint8), "mask": np.zeros((4, 4), np.uint8)}, "non-empty"),
        ({"id": "a", "image": np.zeros((4, 4, 3), np.uint8), "mask": np.zeros((4, 4), np.uint8), "x": 1}, "not part"),
    ],
)
def test_schema_violations_fail_the_item_with_a_reason(tmp_path, sample, message):
    result = write_dataset(tmp_path / "ds", "benchmark", [0], lambda _: sample, progress=False)
    assert result.n_samples == 0 and message in result.failures[0].error


def test_manifest_records_fields_storage_checksums_and_provenance(tmp_path):
    write(tmp_path / "ds", provenance={"seed": 3, "params": {"size": 512}, "command": "datagen test"})
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert manifest["schema_version"] == 1 and manifest["kind"] == "benchmark"
    assert manifest["num_samples"] == 12
    assert [s["num_samples"] for s in manifest["shards"]] == [5, 5, 2]
    assert {f["name"]: f["dtypes"] for f in manifest["fields"]} == {"image": ["uint8"], "alpha": ["uint16"], "recipe": ["json"]}
    assert manifest["storage"]["codec"] == "zstd" and manifest["storage"]["tile"] == 256
    assert manifest["provenance"]["seed"] == 3 and manifest["provenance"]["params"] == {"size": 512}
    assert manifest["provenance"]["command"] == "datagen test" and manifest["provenance"]["version"]
    assert all(len(s["sha256"]) == 64 for s in manifest["shards"]) and manifest["created"]


def test_rerun_is_up_to_date_and_other_settings_are_refused(tmp_path):
    write(tmp_path / "ds")
    assert write(tmp_path / "ds").up_to_date
    with pytest.raises(DatasetExistsError, match="other inputs or settings"):
        write(tmp_path / "ds", provenance={"seed": 4})
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("mine")
    with pytest.raises(DatasetExistsError, match="not a dataset"):
        write(tmp_path / "junk")


def test_not_a_dataset_gives_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        open_dataset(tmp_path / "missing")
    with pytest.raises(DatasetError, match="manifest.json is missing"):
        open_dataset(tmp_path)


def test_byte_identical_for_one_two_workers_and_a_cluster(tmp_path, tree_digest, stable_manifest):
    from distributed import LocalCluster

    write(tmp_path / "w1", n=14, shard_size=3)
    write(tmp_path / "w2", n=14, shard_size=3, workers=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        write(tmp_path / "cluster", n=14, shard_size=3, scheduler=cluster.scheduler_address)
    reference = tree_digest(tmp_path / "w1")
    assert len(reference) == 5
    assert tree_digest(tmp_path / "w2") == reference == tree_digest(tmp_path / "cluster")
    assert stable_manifest(tmp_path / "w2") == stable_manifest(tmp_path / "w1") == stable_manifest(tmp_path / "cluster")


KILLABLE_WRITER = """
import sys, time
from functools import partial
sys.path.insert(0, {tests!r})
from test_shards_store import make_benchmark
from datagen.shards import write_dataset

def slow(index):
    time.sleep(0.05)
    return make_benchmark(index)

write_dataset({out!r}, "benchmark", list(range(40)), slow, provenance={{"seed": 3, "command": "x"}},
              shard_size=4, progress=False)
"""


def test_killed_writer_resumes_to_an_identical_dataset(tmp_path, tree_digest, stable_manifest):
    tests = str(Path(__file__).parent)
    reference = tmp_path / "reference"
    subprocess.run([sys.executable, "-c", KILLABLE_WRITER.format(tests=tests, out=str(reference))], check=True)
    out = tmp_path / "killed"
    script = KILLABLE_WRITER.format(tests=tests, out=str(out))
    process = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 60
    while len(list(out.glob("shard-*.h5"))) < 3 and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "manifest.json").exists(), "the writer finished before it could be killed"
    with pytest.raises(DatasetError, match="unfinished write"):
        open_dataset(out)
    subprocess.run([sys.executable, "-c", script], check=True)
    assert tree_digest(out) == tree_digest(reference)
    assert stable_manifest(out) == stable_manifest(reference)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in reference.iterdir())


def test_verify_catches_flipped_byte_truncation_and_missing_shard(tmp_path):
    write(tmp_path / "ds")
    assert verify_dataset(tmp_path / "ds") == []
    shard = tmp_path / "ds" / "shard-00001.h5"
    original = shard.read_bytes()
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0xFF
    shard.write_bytes(bytes(flipped))
    assert any("shard-00001.h5: sha256 mismatch" in p for p in verify_dataset(tmp_path / "ds"))
    shard.write_bytes(original[: len(original) // 2])
    problems = verify_dataset(tmp_path / "ds")
    assert any("shard-00001.h5" in p and "truncated" in p for p in problems)
    shard.unlink()
    assert any("shard-00001.h5: missing shard file" in p for p in verify_dataset(tmp_path / "ds"))


def test_verify_names_the_sample_whose_data_does_not_decode(tmp_path):
    write(tmp_path / "ds", n=3)
    import h5py

    shard = tmp_path / "ds" / "shard-00000.h5"
    with h5py.File(shard, "r") as handle:
        chunk = handle["samples/000001/image"].id.get_chunk_info(0)
    data = bytearray(shard.read_bytes())
    for offset in range(chunk.byte_offset + 100, chunk.byte_offset + 120):
        data[offset] ^= 0x55
    shard.write_bytes(bytes(data))
    problems = verify_dataset(tmp_path / "ds")
    assert any("sha256 mismatch" in p for p in problems)
    assert any("sample 1 (id 'sample 001'): field 'image' does not decode to the pixels written" in p for p in problems), problems


def test_reader_is_picklable_and_works_in_dataloader_workers(tmp_path):
    import torch
    from torch.utils.data import DataLoader

    write(tmp_path / "ds")
    dataset = open_dataset(tmp_path / "ds")
    dataset[0]  # open handles in the parent first: workers must not inherit them
    clone = pickle.loads(pickle.dumps(dataset))
    assert np.array_equal(clone[3]["image"], dataset[3]["image"])

    class Sums(torch.utils.data.Dataset):
        def __len__(self):
            return len(dataset)

        def __getitem__(self, index):
            return int(dataset.read(index, fields=["image"])["image"].sum()), os.getpid()

    loader = DataLoader(Sums(), batch_size=None, num_workers=2, multiprocessing_context="fork")
    results = list(loader)
    assert [total for total, _ in results] == [int(make_benchmark(i)["image"].sum()) for i in range(12)]
    assert len({pid for _, pid in results}) == 2 and os.getpid() not in {pid for _, pid in results}


@pytest.mark.parametrize("codec", ["zstd:1", "zstd:-3", "gzip:6", "none"])
def test_every_codec_round_trips_exactly_and_is_recorded(tmp_path, codec):
    write(tmp_path / "ds", n=3, codec=codec)
    dataset = open_dataset(tmp_path / "ds")
    assert dataset.manifest["storage"]["codec"] == codec
    assert np.array_equal(dataset[2]["alpha"], make_benchmark(2)["alpha"])
    assert verify_dataset(tmp_path / "ds") == []


def test_per_field_codecs_store_each_field_with_its_own_filter(tmp_path):
    import h5py

    write(tmp_path / "ds", n=3, codec="zstd:1,image=none")
    dataset = open_dataset(tmp_path / "ds")
    storage = dataset.manifest["storage"]
    assert storage["codec"] == "zstd:1,image=none" and storage["fields"] == {"image": {}}
    assert storage["options"]["compression"] == 32015  # Zstandard's registered HDF5 filter id
    with h5py.File(tmp_path / "ds" / dataset.manifest["shards"][0]["file"]) as handle:
        group = handle["samples/000001"]
        assert group["image"].id.get_create_plist().get_nfilters() == 0
        assert group["alpha"].id.get_create_plist().get_filter(0)[0] == 32015
        raw = group["image"].id.read_direct_chunk((0, 0, 0))[1]  # stored as is: the tile's own bytes
        assert raw == np.ascontiguousarray(make_benchmark(1)["image"][:256, :256]).tobytes()
    for index in range(3):
        expected = make_benchmark(index)
        assert all(np.array_equal(dataset[index][name], expected[name]) for name in ("image", "alpha"))
    assert verify_dataset(tmp_path / "ds") == []


@pytest.mark.parametrize(
    "codec, message",
    [("zstd:1,image", "FIELD=CODEC"), ("zstd:1,=none", "FIELD=CODEC"), ("image=lz4", "unknown codec"),
     ("zstd,imgae=none", r"\['imgae'\]")],
)
def test_bad_per_field_codecs_are_refused_before_any_work(tmp_path, codec, message):
    with pytest.raises(ValueError, match=message):
        write(tmp_path / "ds", codec=codec)
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("codec, message", [("lzma", "unknown codec"), ("zstd:x", "integer"), ("gzip:0", "1..9")])
def test_bad_codecs_are_refused_before_any_work(tmp_path, codec, message):
    with pytest.raises(ValueError, match=message):
        write(tmp_path / "ds", codec=codec)
    assert not (tmp_path / "ds").exists()
