"""The shard store: the project's only on-disk dataset format (HDF5 shards + manifest.json)."""

from datagen.shards.reader import Dataset, DatasetError, load_manifest, open_dataset
from datagen.shards.schema import KINDS, FieldSpec, kind_fields, validate_sample
from datagen.shards.writer import DatasetExistsError, Failure, WriteResult, write_dataset

__all__ = [
    "Dataset",
    "DatasetError",
    "DatasetExistsError",
    "Failure",
    "FieldSpec",
    "KINDS",
    "WriteResult",
    "kind_fields",
    "load_manifest",
    "open_dataset",
    "validate_sample",
    "write_dataset",
]
