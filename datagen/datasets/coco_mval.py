"""COCO-MVal (f-BRS/RITM layout `img/`, `gt/`, grey 0/255 masks): read exactly like DAVIS."""

from __future__ import annotations

from datagen.datasets.davis import load_pair
from datagen.datasets.pairs import Pair, pair_importer


def load(pair: Pair) -> dict:
    return load_pair(pair, "coco-mval")


IMPORTER = pair_importer("coco-mval", "img", "gt", load)
