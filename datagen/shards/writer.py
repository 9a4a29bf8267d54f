"""Writing one shard file: samples appended in order, the file appearing only when complete.

This is the format half of writing; what to write, on which worker, and what to do with an
item that fails is the build's business (`datagen.shards.build`). A shard is written under a
temporary name and renamed into place by `finish`, so a reader or a resuming build never sees
half a shard; a writer left by an exception removes its temporary file.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

import h5py
import numpy as np

from datagen.files import file_digest
from datagen.shards.layout import (
    as_json_text,
    fixed_text,
    ids_digest,
    json_digest_name,
    parse_codec_spec,
    sample_key,
    shard_name,
    temp_name,
    text_digest,
)
from datagen.shards.schema import FORMAT_NAME, SCHEMA_VERSION
from datagen.shards.tiles import write_array


class ShardWriter:
    """`with ShardWriter(folder, index, kind, codec) as shard: shard.add(sample) ...; record = shard.finish()`.

    Samples must already fit the kind's schema (`validate_sample`): checking is left to the
    caller, which decides whether a sample that does not fit is an error or a reported failure.
    """

    def __init__(self, folder: str | os.PathLike, index: int, kind: str, codec: str):
        self.folder = Path(folder)
        self.name = shard_name(index)
        self._tmp = self.folder / temp_name(index, os.getpid())
        self._default_codec, self._field_codecs = parse_codec_spec(codec)  # once per shard, not per field
        self._ids: list[str] = []
        self._dtypes: dict[str, str] = {}
        self._handle = h5py.File(self._tmp, "w")
        self._handle.attrs["format"] = fixed_text(FORMAT_NAME)
        self._handle.attrs["schema_version"] = SCHEMA_VERSION
        self._handle.attrs["kind"] = fixed_text(kind)

    def add(self, sample: dict) -> None:
        """Append one sample: each array as a tiled dataset, each dict field as a JSON attribute,
        the id as an attribute too (see `layout`)."""
        group = self._handle.create_group(sample_key(len(self._ids)))
        group.attrs["id"] = fixed_text(sample["id"])
        for key, value in sample.items():
            if key == "id":
                continue
            if isinstance(value, dict):
                text = as_json_text(value)
                group.attrs[key] = fixed_text(text)
                group.attrs[json_digest_name(key)] = fixed_text(text_digest(text))
                self._dtypes[key] = "json"
                continue
            write_array(group, key, value, self._field_codecs.get(key, self._default_codec))
            self._dtypes.setdefault(key, value.dtype.name)
            if self._dtypes[key] != value.dtype.name:
                self._dtypes[key] = "mixed"
        self._ids.append(sample["id"])

    def finish(self) -> dict:
        """Close the file and move it into place; returns the shard's record for the manifest.

        A shard that received no sample leaves no file: its record says 0 samples, no digest."""
        if self._ids:
            self._handle.create_dataset("ids", data=np.array([sample_id.encode("utf-8") for sample_id in self._ids]))
        self._handle.close()
        if self._ids:
            digest, size = file_digest(self._tmp)
            os.replace(self._tmp, self.folder / self.name)
        else:
            self._tmp.unlink()
            digest, size = None, 0
        return {
            "file": self.name,
            "num_samples": len(self._ids),
            "sha256": digest,
            "bytes": size,
            "ids_sha256": ids_digest(self._ids),
            "ids": list(self._ids),
            "dtypes": dict(self._dtypes),
        }

    def __enter__(self) -> "ShardWriter":
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if error is not None:  # a failed write (disk full, ...) leaves nothing behind
            try:
                self._handle.close()
            except Exception:  # closing flushes, which fails again on a full disk: the file goes anyway
                pass
            self._tmp.unlink(missing_ok=True)
