"""How synthetic sets are stored by default: a shard codec spec per kind.

Composited photographs barely compress losslessly with a general-purpose codec: Zstandard
level 1 takes 15-18% off a 512x512 image for ~2 ms per sample, more than compositing it,
while label fields (mask, alpha) shrink 25-60x for ~0.1 ms (tests/bench/synth_seg.py,
docs/synth.md). Synthetic sets are written once and read every epoch, so photographic
fields are stored raw (no decompression when training reads them either) and label
fields with zstd:1. `--codec` overrides this, e.g. `--codec zstd:1` for ~20% smaller sets.
"""

DEFAULT_CODECS = {
    "seg": "zstd:1,image=none",
    "matting": "zstd:1,image=none,fg=none,bg=none",
}

BYTES_PER_PIXEL = {"seg": 3.3, "matting": 9.4}
"""Shard bytes per output pixel with the default codecs, measured on 16 demo samples at 256 px
(raw photographic fields: 3 bytes a pixel each, plus the compressed labels and metadata); real
photographs measure the same, since the photographic fields are stored raw."""


def estimated_bytes(kind: str, n: int, size: int) -> int:
    """About how many bytes ``n`` samples of ``size`` x ``size`` take with the default codecs
    (printed before a long build starts: ``--n 15000`` at 512 px is about 13 GB)."""
    return round(BYTES_PER_PIXEL[kind] * n * size * size)
