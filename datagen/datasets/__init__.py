"""Readers for the public datasets the toolkit builds benchmarks from, one module per dataset.

Each module lists a dataset copy as small picklable items and turns one item into a shard
sample on the runner's workers, and registers itself as a `datagen build` importer with a
module-level `IMPORTER` (see `datagen.importing`). `layouts` checks a copy against its
layout `manifests/<name>.json` before anything is listed; `pairs` pairs an image folder with an
annotation folder by stem;
`cli` holds `datagen manifests` (alias `datagen layouts`).
"""
