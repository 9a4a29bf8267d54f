"""Tools on top of the shard format: contact sheets (`preview`), datasheets (`datasheet`),
unpacking to PNG/JSON (`export`) and the `datagen shards` commands (`cli`).

They read datasets only through `datagen.shards`, and the format never imports them, so
image and plotting libraries (cv2, matplotlib) stay out of what a DataLoader worker loads.
"""
