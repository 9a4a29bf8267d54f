"""Reading a dataset: random access by index or id, crops that touch only their tiles, every read checked.

A `Dataset` holds only the folder path and the manifest; HDF5 files are opened lazily, once
per process, and reopened after a fork. It can therefore be handed to a torch DataLoader with
any number of workers (each worker opens its own handles) and pickled to dask workers.
Files are opened read-only: a reader can never damage a dataset.

Every read checks what it returns, so that damage fails loudly wherever a dataset is read
(training loaders, evaluation, export) instead of giving wrong pixels: each shard's id list
against the manifest (count and digest, once per shard and process), each tile decoded
against its stored CRC-32 and each recipe against its sha256 (`datagen.shards.tiles`).
Anything wrong raises `DamagedShardError` naming the shard file, the sample id and the field.
`verify=False` skips the tile and recipe checks (not the id lists, which cost nothing) for
the last few per cent of speed (tests/bench/shard_io.py).
"""

from __future__ import annotations

import bisect
import json
import os
from pathlib import Path

import h5py

from datagen.shards.layout import ids_digest, json_digest_name, parse_codec_spec, sample_key, text_digest
from datagen.shards.manifest import DamagedShardError, load_manifest
from datagen.shards.tiles import clip_window, decoder, read_window


def open_dataset(path: str | os.PathLike, verify: bool = True) -> "Dataset":
    """Open the dataset in folder `path` (the one holding manifest.json); `verify=False` skips
    the per-tile and recipe checksums on reads."""
    return Dataset(path, verify=verify)


class Dataset:
    """Read-only, lazily opened view of a dataset folder."""

    def __init__(self, path: str | os.PathLike, verify: bool = True):
        self.path = Path(path)
        self.verify = verify
        self.manifest = load_manifest(self.path)
        self._starts = []
        total = 0
        for shard in self.manifest["shards"]:
            self._starts.append(total)
            total += shard["num_samples"]
        self._len = total
        default, overrides = parse_codec_spec(self.manifest["storage"]["codec"])
        self._decoders = {spec["name"]: decoder(overrides.get(spec["name"], default)) for spec in self.manifest["fields"]}
        self._handles: dict[int, h5py.File] = {}
        self._pid = os.getpid()
        self._shard_ids: dict[int, list[str]] = {}
        self._ids: list[str] | None = None
        self._index: dict[str, int] | None = None

    # -- what is inside -------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.manifest["kind"]

    @property
    def fields(self) -> list[str]:
        return [spec["name"] for spec in self.manifest["fields"]]

    @property
    def ids(self) -> list[str]:
        """All sample ids in order (read from the shards on first use)."""
        if self._ids is None:
            self._ids = [sample_id for number in range(len(self.manifest["shards"])) for sample_id in self._ids_of(number)]
        return self._ids

    def __len__(self) -> int:
        return self._len

    def __repr__(self) -> str:
        return f"Dataset({str(self.path)!r}, kind={self.kind!r}, samples={len(self)}, fields={self.fields})"

    # -- access ---------------------------------------------------------------
    def __getitem__(self, index: int) -> dict:
        return self.read(index)

    def __iter__(self):
        for index in range(len(self)):
            yield self.read(index)

    def index_of(self, sample_id: str) -> int:
        if self._index is None:
            self._index = {value: number for number, value in enumerate(self.ids)}
        try:
            return self._index[sample_id]
        except KeyError:
            raise KeyError(f"no sample with id {sample_id!r} in {self.path}") from None

    def get(self, sample_id: str, fields=None, crop=None) -> dict:
        """Read a sample by its id."""
        return self.read(self.index_of(sample_id), fields=fields, crop=crop)

    def read(self, index: int, fields=None, crop: tuple[int, int, int, int] | None = None) -> dict:
        """Read sample `index`: all fields, or only `fields`; `crop=(y, x, h, w)` reads a window.

        The crop is clipped to the image; `recipe` (JSON) is returned as a dict. Raises
        DamagedShardError (naming shard, sample and field) if what is stored is damaged.
        """
        number, local = self._shard_of(index)
        sample_id = self._ids_of(number)[local]
        group = self._sample_group(number, local, sample_id)
        wanted = self.fields if fields is None else list(fields)
        sample = {"id": sample_id}
        for name in wanted:
            try:
                value = self._read_field(group, name, crop)
            except Exception as error:  # damaged HDF5 metadata surfaces as assorted h5py/filter errors
                raise DamagedShardError(self._shard_path(number), _reason(error), sample_id, name) from error
            if value is not None:
                sample[name] = value
        return sample

    def shape(self, index: int, field: str) -> tuple[int, ...]:
        """Shape of one field of one sample, without reading its pixels."""
        number, local = self._shard_of(index)
        sample_id = self._ids_of(number)[local]
        group = self._sample_group(number, local, sample_id)
        if field not in group:
            raise KeyError(f"sample {sample_id!r} has no image field {field!r}")
        try:
            return tuple(group[field].shape)
        except Exception as error:
            raise DamagedShardError(self._shard_path(number), _reason(error), sample_id, field) from error

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles = {}

    # -- plumbing ---------------------------------------------------------------
    def _read_field(self, group: h5py.Group, name: str, crop: tuple[int, int, int, int] | None):
        """One field's value, checked unless `verify` is off; None if the sample lacks it."""
        if name in group:
            dataset = group[name]
            window = clip_window(dataset.shape, crop)
            if self.verify:
                return read_window(dataset, window, self._decoders[name])
            y0, y1, x0, x1 = window
            return dataset[y0:y1, x0:x1]
        if name in group.attrs:
            text = group.attrs[name]
            if self.verify and text_digest(text) != group.attrs[json_digest_name(name)].decode():
                raise ValueError("the JSON text does not match its checksum")
            return json.loads(text)
        return None

    def _shard_of(self, index: int) -> tuple[int, int]:
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(f"sample index {index} out of range for {self._len} samples")
        number = bisect.bisect_right(self._starts, index) - 1
        return number, index - self._starts[number]

    def _sample_group(self, number: int, local: int, sample_id: str) -> h5py.Group:
        handle = self._file(number)
        try:
            return handle[sample_key(local)]
        except Exception as error:
            raise DamagedShardError(self._shard_path(number), f"sample group unreadable ({_reason(error)})", sample_id) from error

    def _ids_of(self, number: int) -> list[str]:
        """One shard's ids, read once and checked against the manifest: every read returns its
        sample's id, and a count that disagrees would shift every sample after it."""
        if number not in self._shard_ids:
            entry = self.manifest["shards"][number]
            handle = self._file(number)
            try:
                ids = [value.decode("utf-8") for value in handle["ids"][()]]
            except Exception as error:
                raise DamagedShardError(self._shard_path(number), f"id list unreadable ({_reason(error)})") from error
            if len(ids) != entry["num_samples"]:
                raise DamagedShardError(
                    self._shard_path(number), f"holds {len(ids)} samples, the manifest says {entry['num_samples']}"
                )
            if ids_digest(ids) != entry["ids_sha256"]:
                raise DamagedShardError(self._shard_path(number), "id list does not match the manifest's ids_sha256")
            self._shard_ids[number] = ids
        return self._shard_ids[number]

    def _shard_path(self, number: int) -> Path:
        return self.path / self.manifest["shards"][number]["file"]

    def _file(self, number: int) -> h5py.File:
        if os.getpid() != self._pid:  # forked: never share HDF5 handles across processes
            self._handles = {}
            self._pid = os.getpid()
        handle = self._handles.get(number)
        if handle is None:
            path = self._shard_path(number)
            if not path.is_file():
                raise DamagedShardError(path, "missing shard file")
            try:
                handle = h5py.File(path, "r")
            except OSError as error:
                raise DamagedShardError(path, f"cannot be opened as HDF5, truncated or damaged ({_reason(error)})") from None
            self._handles[number] = handle
        return handle

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_handles"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._pid = os.getpid()


def _reason(error: BaseException) -> str:
    """An h5py/filter error in a few words: HDF5's messages run to several lines of its stack."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."
