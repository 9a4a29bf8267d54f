"""Berkeley interactive segmentation benchmark (f-BRS/RITM layout: `images/`, `masks/`).

Masks are RGB PNGs with values 0/255 (a few stray values near 255 at edges); they follow the
GrabCut rule (128 -> ignore, > 128 -> object), read from the blue channel like the reference
loader. 96 images carry 100 masks: an image with several masks appears once per mask under
the mask's stem (`189011`, `189011a`, `189011b`), so samples are keyed by mask stem.
"""

from __future__ import annotations

from datagen.datasets.grabcut import load_pair
from datagen.datasets.pairs import Pair, pair_importer


def load(pair: Pair) -> dict:
    return load_pair(pair, "berkeley")


IMPORTER = pair_importer("berkeley", "images", "masks", load)
