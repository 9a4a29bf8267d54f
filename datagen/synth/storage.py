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
