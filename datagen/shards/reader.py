"""Reading a dataset: random access by index or id, crops that touch only their tiles.

A `Dataset` holds only the folder path and the manifest; HDF5 files are opened lazily, once
per process, and reopened after a fork. It can therefore be handed to a torch DataLoader with
any number of workers (each worker opens its own handles) and pickled to dask workers.
Files are opened read-only: a reader can never damage a dataset.
"""

from __future__ import annotations

import bisect
import json
import os
from pathlib import Path

import h5py
import numpy as np

from datagen.shards.layout import MANIFEST, sample_key
from datagen.shards.schema import FORMAT_NAME, SCHEMA_VERSION


class DatasetError(ValueError):
    """A folder that is not a readable dataset; the message says why."""


def open_dataset(path: str | os.PathLike) -> "Dataset":
    """Open the dataset in folder `path` (the one holding manifest.json)."""
    return Dataset(path)


def load_manifest(path: str | os.PathLike) -> dict:
    """Parse and sanity-check a dataset's manifest.json."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not path.exists():
        raise DatasetError(f"{path}: no such folder")
    if not manifest_path.exists():
        hint = " (an unfinished write: rerun the command to resume it)" if (path / ".parts").exists() else ""
        raise DatasetError(f"{path}: not a dataset, {MANIFEST} is missing{hint}")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DatasetError(f"{manifest_path}: not valid JSON ({error})") from None
    if manifest.get("format") != FORMAT_NAME:
        raise DatasetError(f"{manifest_path}: not a {FORMAT_NAME} manifest")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise DatasetError(
            f"{manifest_path}: schema version {manifest.get('schema_version')}, this reader knows {SCHEMA_VERSION}"
        )
    return manifest


class Dataset:
    """Read-only, lazily opened view of a dataset folder."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.manifest = load_manifest(self.path)
        self._starts = []
        total = 0
        for shard in self.manifest["shards"]:
            self._starts.append(total)
            total += shard["num_samples"]
        self._len = total
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

        The crop is clipped to the image; `recipe` (JSON) is returned as a dict.
        """
        number, local = self._shard_of(index)
        group = self._file(number)[sample_key(local)]
        wanted = self.fields if fields is None else list(fields)
        sample = {"id": self._ids_of(number)[local]}
        for name in wanted:
            if name in group:
                dataset = group[name]
                if crop is None:
                    sample[name] = dataset[()]
                else:
                    y, x, h, w = crop
                    sample[name] = dataset[max(y, 0) : y + h, max(x, 0) : x + w]
            elif name in group.attrs:
                sample[name] = json.loads(group.attrs[name])
        return sample

    def shape(self, index: int, field: str) -> tuple[int, ...]:
        """Shape of one field of one sample, without reading its pixels."""
        return tuple(self._group(index)[field].shape)

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles = {}

    # -- plumbing ---------------------------------------------------------------
    def _shard_of(self, index: int) -> tuple[int, int]:
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(f"sample index {index} out of range for {self._len} samples")
        number = bisect.bisect_right(self._starts, index) - 1
        return number, index - self._starts[number]

    def _group(self, index: int) -> h5py.Group:
        number, local = self._shard_of(index)
        return self._file(number)[sample_key(local)]

    def _ids_of(self, number: int) -> list[str]:
        """One shard's ids, read once: every read returns its sample's id."""
        if number not in self._shard_ids:
            self._shard_ids[number] = [value.decode("utf-8") for value in self._file(number)["ids"][()]]
        return self._shard_ids[number]

    def _file(self, number: int) -> h5py.File:
        if os.getpid() != self._pid:  # forked: never share HDF5 handles across processes
            self._handles = {}
            self._pid = os.getpid()
        handle = self._handles.get(number)
        if handle is None:
            name = self.manifest["shards"][number]["file"]
            handle = h5py.File(self.path / name, "r")
            self._handles[number] = handle
        return handle

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_handles"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._pid = os.getpid()
