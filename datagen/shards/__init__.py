"""The shard store: the project's only on-disk dataset format (HDF5 shards + manifest.json).

Importing this package gives the reader and the schema and nothing heavier than h5py: it is
what every torch DataLoader worker imports. Building a dataset (workers, resume, provenance)
is `datagen.shards.build`; `writer` and `verify` are imported by name where needed. Tools on
top of the format (preview, datasheet, export) are `datagen.shardtools`.
"""

from datagen.shards.manifest import DatasetError, load_manifest
from datagen.shards.reader import Dataset, open_dataset
from datagen.shards.schema import KINDS, FieldSpec, kind_fields, validate_sample

__all__ = [
    "Dataset",
    "DatasetError",
    "FieldSpec",
    "KINDS",
    "kind_fields",
    "load_manifest",
    "open_dataset",
    "validate_sample",
]
