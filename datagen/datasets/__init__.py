"""Readers for the public datasets the toolkit builds benchmarks from, one module per format.

Each reader lists a dataset copy as small picklable items (`list_items`) and turns one item
into a shard sample (`load`). Listing is cheap and happens once; loading runs on the
runner's workers. The builders in `datagen.benchmarks` check the copy against its manifest
(`datagen.datasets.manifests`) before listing.
"""
