"""GrabCut (and Berkeley) ground truth: grey masks where 128 marks the unlabelled band.

Rule (RITM's loader, spec metrics.md B.1): value 128 -> ignore, values > 128 -> object,
everything else -> background. The band is where the annotators did not decide, so it is
scored by nobody; we keep it as the `ignore` field and leave `mask` 0 there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datagen.datasets.pairs import Pair, pair_importer
from datagen.imageio import ImageError, check_same_size, read_image

IGNORE_VALUE = 128


def mask_and_ignore(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask, ignore) as uint8 {0,1} from an 8-bit grey annotation."""
    return (grey > IGNORE_VALUE).astype(np.uint8), (grey == IGNORE_VALUE).astype(np.uint8)


def load_pair(pair: Pair, source: str, channel: int = 2) -> dict:
    """A benchmark sample from an image and a grey (or grey-as-RGB) mask.

    `channel` picks the mask channel in RGB order; the default 2 (blue) is what
    `cv2.imread(path)[:, :, 0]` in the reference loaders reads. The Berkeley masks are
    RGB files whose green channel differs from red/blue in a handful of pixels.
    """
    image = read_image(pair.image)
    annotation = read_image(pair.target)
    if annotation.dtype != np.uint8:
        raise ImageError(pair.target, f"expected an 8-bit mask, got {annotation.dtype}")
    check_same_size(pair.target, "mask", annotation, f"the image {Path(pair.image).name}", image.shape)
    mask, ignore = mask_and_ignore(annotation[:, :, channel])
    return {"id": pair.id, "image": image, "mask": mask, "ignore": ignore,
            "recipe": {"source": source, "image": Path(pair.image).name, "mask": Path(pair.target).name,
                       "rule": "mask = value > 128, ignore = value == 128"}}


def load(pair: Pair) -> dict:
    return load_pair(pair, "grabcut")


# Images in `data_GT/`, masks in `boundary_GT/` (the f-BRS/RITM archive layout).
IMPORTER = pair_importer("grabcut", "data_GT", "boundary_GT", load)
