"""DAVIS-345 and COCO-MVal (f-BRS/RITM layout: `img/NNN.jpg`, `gt/NNN.png`).

DAVIS masks are palette PNGs whose indices 1..3 all mean "object"; COCO-MVal masks are grey
0/255. Both follow the reference rule: decode to colour, object = max over channels > 0.
Decoding palette files to colour (not reading indices) matters only if a palette maps a
non-zero index to black, which would then be background, as in the reference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datagen.datasets.pairs import Pair, pair_importer
from datagen.imageio import check_same_size, read_image


def load_pair(pair: Pair, source: str) -> dict:
    image = read_image(pair.image)
    annotation = read_image(pair.target)
    check_same_size(pair.target, "mask", annotation, f"the image {Path(pair.image).name}", image.shape)
    mask = (annotation.max(axis=2) > 0).astype(np.uint8)
    return {"id": pair.id, "image": image, "mask": mask,
            "recipe": {"source": source, "image": Path(pair.image).name, "mask": Path(pair.target).name,
                       "rule": "mask = max over colour channels > 0"}}


def load(pair: Pair) -> dict:
    return load_pair(pair, "davis")


IMPORTER = pair_importer("davis", "img", "gt", load)
