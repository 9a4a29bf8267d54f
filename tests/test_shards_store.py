"""The shard format: round trips, crops, ids, schema checks, the shard writer, verify, a light reader.

Building (workers, resume, failure policy) is tested in test_build.py; `make_benchmark` and
`write` here are shared with it.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from datagen.runner import Execution
from datagen.shards.build import write_dataset
from datagen.shards import DatasetError, open_dataset
from datagen.shards.manifest import manifest_document, write_manifest
from datagen.shards.verify import verify_dataset
from datagen.shards.writer import ShardWriter


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
    options = {"provenance": {"seed": 3}, "shard_size": 5, "execution": Execution(progress=False), **kwargs}
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
    write_dataset(tmp_path / "ds", "backgrounds", [0], lambda _: {"id": "big", "image": big}, execution=Execution(progress=False))
    dataset = open_dataset(tmp_path / "ds")
    crop = dataset.read(0, crop=(300, 517, 320, 320))["image"]
    assert np.array_equal(crop, big[300:620, 517:837])
    assert np.array_equal(dataset.read(0, crop=(1000, 1200, 320, 320))["image"], big[1000:, 1200:])
    assert dataset.shape(0, "image") == (1100, 1300, 3)
    # Tile chunking is what makes crops cheap: a 320x320 window spans at most 3x3 tiles.
    import h5py

    with h5py.File(tmp_path / "ds" / "shard-00000.h5", "r") as handle:
        assert handle["samples/000000/image"].chunks == (256, 256, 3)


@pytest.mark.parametrize("codec", ["zstd", "gzip:1", "none"])
def test_checked_crops_equal_numpy_slicing_at_every_edge(tmp_path, codec):
    """The checked read decodes stored tiles itself: every window (inside, across tile edges,
    clipped at the image border, empty) must equal numpy's slice and HDF5's own read."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (600, 530, 3), dtype=np.uint8)
    alpha = rng.integers(0, 65536, (600, 530), dtype=np.uint16)
    write_dataset(tmp_path / "ds", "benchmark", [0], lambda _: {"id": "a", "image": image, "alpha": alpha},
                  execution=Execution(progress=False), codec=codec)
    checked, unchecked = open_dataset(tmp_path / "ds"), open_dataset(tmp_path / "ds", verify=False)
    windows = [(0, 0, 600, 530), (255, 255, 2, 2), (256, 0, 256, 256), (-20, -30, 100, 300), (590, 520, 50, 50),
               (100, 100, 0, 40), (700, 10, 20, 20)]
    windows += [tuple(int(v) for v in rng.integers(0, 500, 2)) + tuple(int(v) for v in rng.integers(1, 400, 2)) for _ in range(20)]
    for y, x, h, w in windows:
        for name, array in (("image", image), ("alpha", alpha)):
            expected = array[max(y, 0) : y + h, max(x, 0) : x + w]
            got = checked.read(0, fields=[name], crop=(y, x, h, w))[name]
            assert got.dtype == array.dtype and np.array_equal(got, expected), (y, x, h, w)
            assert np.array_equal(unchecked.read(0, fields=[name], crop=(y, x, h, w))[name], expected)


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
    result = write_dataset(tmp_path / "ds", "benchmark", [0], lambda _: sample, execution=Execution(progress=False))
    assert result.n_samples == 0 and message in result.failures[0].error


def test_manifest_records_fields_storage_checksums_and_provenance(tmp_path):
    write(tmp_path / "ds", provenance={"seed": 3, "params": {"size": 512}, "command": "datagen test"})
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert manifest["schema_version"] == 2 and manifest["kind"] == "benchmark"
    assert manifest["num_samples"] == 12
    assert [s["num_samples"] for s in manifest["shards"]] == [5, 5, 2]
    assert {f["name"]: f["dtypes"] for f in manifest["fields"]} == {"image": ["uint8"], "alpha": ["uint16"], "recipe": ["json"]}
    assert manifest["storage"]["codec"] == "zstd" and manifest["storage"]["tile"] == 256
    assert manifest["provenance"]["seed"] == 3 and manifest["provenance"]["params"] == {"size": 512}
    assert manifest["provenance"]["command"] == "datagen test" and manifest["provenance"]["version"]
    assert all(len(s["sha256"]) == 64 for s in manifest["shards"]) and manifest["created"]


def test_not_a_dataset_gives_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        open_dataset(tmp_path / "missing")
    with pytest.raises(DatasetError, match="manifest.json is missing"):
        open_dataset(tmp_path)


def test_the_shard_format_alone_writes_a_dataset_the_reader_and_verify_accept(tmp_path):
    """ShardWriter + manifest_document + write_manifest, without the build: the format is self-contained."""
    samples = [make_benchmark(index) for index in range(3)]
    records = []
    for index, chunk in enumerate((samples[:2], samples[2:], [])):
        with ShardWriter(tmp_path, index, "benchmark", "zstd") as shard:
            for sample in chunk:
                shard.add(sample)
            records.append(shard.finish())
    assert [r["num_samples"] for r in records] == [2, 1, 0] and records[2]["sha256"] is None
    write_manifest(tmp_path, manifest_document("benchmark", records, [], "zstd", {"seed": 0}, {"by": "hand"}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", "shard-00000.h5", "shard-00001.h5"]
    dataset = open_dataset(tmp_path)
    assert dataset.ids == [s["id"] for s in samples] and np.array_equal(dataset[2]["alpha"], samples[2]["alpha"])
    assert verify_dataset(tmp_path) == []


def test_a_shard_writer_left_by_an_error_leaves_no_file(tmp_path):
    with pytest.raises(RuntimeError, match="disk on fire"):
        with ShardWriter(tmp_path, 0, "benchmark", "zstd") as shard:
            shard.add(make_benchmark(0))
            raise RuntimeError("disk on fire")
    assert list(tmp_path.iterdir()) == []


def test_duplicate_ids_are_refused_by_the_manifest(tmp_path):
    with ShardWriter(tmp_path, 0, "benchmark", "zstd") as shard:
        shard.add(make_benchmark(1))
        shard.add(make_benchmark(1))
        record = shard.finish()
    with pytest.raises(ValueError, match="duplicate sample ids: sample 001"):
        manifest_document("benchmark", [record], [], "zstd", {}, {})


READER_PROBE = """
import json, sys
import datagen.shards
dataset = datagen.shards.open_dataset(sys.argv[1])
sample = dataset.read(1, fields=["image"], crop=(0, 0, 8, 8))
print(json.dumps({"shape": list(sample["image"].shape), "modules": sorted(sys.modules)}))
"""


def test_importing_and_using_the_reader_loads_no_build_machinery(tmp_path):
    """What a DataLoader worker imports: no dask, distributed, tqdm or cv2 (nor the modules that load them)."""
    write(tmp_path / "ds", n=3)
    heavy = {"dask", "distributed", "tqdm", "cv2", "datagen.runner", "datagen.shards.build", "datagen.imageio"}

    def loaded(script: str) -> set[str]:
        run = subprocess.run([sys.executable, "-c", script, str(tmp_path / "ds")], capture_output=True, text=True, check=True)
        report = json.loads(run.stdout)
        return {name for name in report["modules"] if name in heavy or name.split(".")[0] in heavy}, report

    found, report = loaded(READER_PROBE)
    assert report["shape"] == [8, 8, 3]
    assert found == set(), f"import datagen.shards pulled in {sorted(found)}"
    # The probe itself can see them: the build module does load the runner and its progress bars.
    found, _ = loaded("import datagen.shards.build\n" + READER_PROBE)
    assert {"datagen.shards.build", "datagen.runner", "tqdm"} <= found


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
    assert any("sample 1 (id 'sample 001'): field 'image' pixels damaged" in p for p in problems), problems


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
