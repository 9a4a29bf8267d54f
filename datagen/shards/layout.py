"""How samples sit inside one HDF5 shard file; shared by the writer, reader and verifier.

A shard holds `ids` (UTF-8 strings, one per sample) and a group `samples/<k>` per sample
with one dataset per image field and the JSON recipe as the group's `recipe` attribute.
Image fields are stored HxW or HxWxC in tiles of TILE x TILE pixels (all channels in one
tile), so reading a crop decompresses only the tiles under it (`datagen.shards.tiles`).

Checksums (schema 2): each image field carries `tile_crc32` and `sha256` attributes (see
`tiles`), each JSON field `<name>` a `<name>.sha256` attribute of its text, and each sample
group its own `id`, so that `verify` can name the sample whose entry in `ids` was damaged.
"""

from __future__ import annotations

import hashlib
import re

import hdf5plugin  # registers the compression filters with HDF5 in every process that imports this
import numpy as np

TILE = 256
MANIFEST = "manifest.json"
SHARD_PATTERN = "shard-{:05d}.h5"
# What a manifest's `file` entry may be: a plain shard name in the dataset folder, never a path.
SHARD_FILE = re.compile(r"shard-\d{5}\.h5")
# Files `datagen shards datasheet` writes into a dataset folder by default: not stray.
COMPANIONS = ("datasheet.md", "datasheet-stats.png")
# A shard is written as `.shard-NNNNN.h5.<pid>.tmp` and renamed when complete; leftovers of a
# killed writer match TEMP_GLOB. PARTS holds the records of finished shards while a build runs:
# its presence (without a manifest) marks an unfinished write that a rerun resumes.
TEMP_GLOB = ".shard-*.tmp"
PARTS = ".parts"

# Codecs are named `zstd`, `gzip` or `none`, optionally with a level: `zstd:1`, `gzip:6`.
# The default, Zstandard level 3, was measured in tests/bench/shard_io.py as the best
# size/crop-speed trade-off (see README); faster levels trade size for write speed.
# A codec *spec* may add per-field overrides after the default: `zstd:1,image=none` stores
# `image` raw and every other field with zstd:1 (label maps compress 25-60x, photographs
# barely: see docs/synth.md). The spec string is recorded in every manifest.
DEFAULT_CODEC = "zstd"
CODECS = ("zstd", "gzip", "none")
DEFAULT_LEVELS = {"zstd": 3, "gzip": 1, "none": 0}


def parse_codec(codec: str) -> tuple[str, int]:
    """`"zstd:1"` -> ("zstd", 1); a bare name takes its default level."""
    name, _, level = codec.partition(":")
    if name not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; choose from {', '.join(CODECS)} (optionally name:level)")
    try:
        value = int(level) if level else DEFAULT_LEVELS[name]
    except ValueError:
        raise ValueError(f"codec level must be an integer, got {codec!r}") from None
    allowed = {"zstd": range(-7, 23), "gzip": range(1, 10), "none": range(0, 1)}[name]
    if value not in allowed:
        raise ValueError(f"{name} level must be in {allowed.start}..{allowed.stop - 1}, got {value}")
    return name, value


def parse_codec_spec(spec: str) -> tuple[str, dict[str, str]]:
    """`"zstd:1,image=none"` -> ("zstd:1", {"image": "none"}), every codec checked.

    The first item is the default codec (optional: `image=none` alone keeps DEFAULT_CODEC)."""
    default, overrides = DEFAULT_CODEC, {}
    for position, item in enumerate(part.strip() for part in spec.split(",")):
        field, equals, codec = item.rpartition("=")
        if not equals and position == 0:
            default = codec
        elif not equals or not field:
            raise ValueError(f"codec spec {spec!r}: expected CODEC[,FIELD=CODEC...], got item {item!r}")
        else:
            overrides[field] = codec
        parse_codec(codec)
    return default, overrides


def storage_options(spec: str) -> dict:
    """The HDF5 filter settings of a codec spec, for the manifest: `options` of the default
    codec, and `fields` for the fields that override it."""
    default, overrides = parse_codec_spec(spec)
    options = {"options": codec_options(default)}
    if overrides:
        options["fields"] = {field: codec_options(codec) for field, codec in sorted(overrides.items())}
    return options


def shard_name(index: int) -> str:
    return SHARD_PATTERN.format(index)


def temp_name(index: int, pid: int) -> str:
    """The name a shard is written under until complete: per process, so that two writers of the
    same shard (a retried task) never write into one file."""
    return f".{shard_name(index)}.{pid}.tmp"


def sample_key(local_index: int) -> str:
    return f"samples/{local_index:06d}"


def codec_options(codec: str) -> dict:
    """The HDF5 filter settings of a codec: what any HDF5 reader needs (recorded in the manifest)."""
    name, level = parse_codec(codec)
    if name == "zstd":
        return dict(hdf5plugin.Zstd(clevel=level))
    if name == "gzip":
        return {"compression": "gzip", "compression_opts": level}
    return {}


def json_digest_name(field: str) -> str:
    """The attribute holding the sha256 of JSON field `field`'s text."""
    return f"{field}.sha256"


def text_digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def ids_digest(ids: list[str]) -> str:
    """sha256 of a shard's ids in order: recorded per shard in the manifest, checked on read."""
    return text_digest("\n".join(ids))


def fixed_text(text: str) -> np.bytes_:
    """UTF-8 text as a fixed-length HDF5 string: variable-length strings live in HDF5's global
    heap, whose layout is not reproducible byte for byte."""
    return np.bytes_(text.encode("utf-8"))


def as_json_text(value) -> str:
    """Canonical JSON (sorted keys, no NaN) so that equal recipes give equal bytes."""
    import json

    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_json_default)


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
