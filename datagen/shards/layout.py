"""How samples sit inside one HDF5 shard file; shared by the writer, reader and verifier.

A shard holds `ids` (UTF-8 strings, one per sample) and a group `samples/<k>` per sample
with one dataset per image field and the JSON recipe as the group's `recipe` attribute.
Image fields are stored HxW or HxWxC in tiles of TILE x TILE pixels (all channels in one
tile), so reading a crop decompresses only the tiles under it.
"""

from __future__ import annotations

import hashlib
import zlib

import h5py
import hdf5plugin  # registers the compression filters with HDF5 in every process that imports this
import numpy as np

TILE = 256
MANIFEST = "manifest.json"
SHARD_PATTERN = "shard-{:05d}.h5"

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


def sample_key(local_index: int) -> str:
    return f"samples/{local_index:06d}"


def chunks_for(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Tile chunking: TILE x TILE pixels (clipped to the image) with all channels together."""
    return (min(shape[0], TILE), min(shape[1], TILE)) + tuple(shape[2:])


def codec_options(codec: str) -> dict:
    """The HDF5 filter settings of a codec: what any HDF5 reader needs (recorded in the manifest)."""
    name, level = parse_codec(codec)
    if name == "zstd":
        return dict(hdf5plugin.Zstd(clevel=level))
    if name == "gzip":
        return {"compression": "gzip", "compression_opts": level}
    return {}


def _compressor(codec: str):
    name, level = parse_codec(codec)
    if name == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=level).compress
    if name == "gzip":
        return lambda data: zlib.compress(data, level)
    return lambda data: data


def write_array(group: h5py.Group, name: str, array: np.ndarray, codec: str) -> None:
    """Store an image-like array as a tiled dataset, compressing and writing each tile once.

    Tiles are compressed here and written with `write_direct_chunk` in a fixed order, instead
    of through HDF5's chunk cache: the cache may write a tile, free it and write it again
    depending on memory state, which made file layouts (not pixels) differ between runs.
    Edge tiles are zero-padded to full size, as HDF5 stores them. The pixels' sha256 is kept
    as an attribute: the codecs do not check their own output, so this is how `verify`
    tells which sample was damaged.
    """
    array = np.ascontiguousarray(array)
    chunks = chunks_for(array.shape)
    dataset = group.create_dataset(name, shape=array.shape, dtype=array.dtype, chunks=chunks, **codec_options(codec))
    compress = _compressor(codec)
    tile = np.zeros(chunks, dtype=array.dtype)
    for y in range(0, array.shape[0], chunks[0]):
        for x in range(0, array.shape[1], chunks[1]):
            part = array[y : y + chunks[0], x : x + chunks[1]]
            if part.shape == chunks:
                data = part.tobytes()
            else:
                tile.fill(0)
                tile[: part.shape[0], : part.shape[1]] = part
                data = tile.tobytes()
            dataset.id.write_direct_chunk((y, x) + (0,) * (array.ndim - 2), compress(data))
    dataset.attrs["sha256"] = fixed_text(array_digest(array))


def array_digest(array: np.ndarray) -> str:
    """sha256 of an array's pixels: stored per field so `verify` can name the damaged sample."""
    return hashlib.sha256(np.ascontiguousarray(array).data).hexdigest()


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
