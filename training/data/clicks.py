"""User input for interactive matting as the network takes it (thesis Ch. 5.2.1).

"Trimap, clicks or scribbles are all represented as two sparse definite foreground and
background binary masks": here all three become one trimap (255 definite FG, 0 definite BG,
128 everything else; :mod:`training.clicks.paint` paints clicks as disks and scribbles into
it), because the FBA network, its predictor and its loss already consume that form. The
trimap's two masks are then encoded exactly as an FBA trimap is: six Gaussians of the distance
to each mask (:func:`training.data.encodings.distance_maps`, sigmas 6.4 / 25.6 / 51.2 px; that
module says why 25.6 and not the 25.2 the text once gives).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from datagen.compose.trimap import trimap_masks
from training.data.encodings import FBA_SIGMAS_PX, distance_maps


def user_input(trimap: np.ndarray, sigmas_px: Sequence[float] = FBA_SIGMAS_PX) -> tuple[np.ndarray, np.ndarray]:
    """The network's user-input tensors for a (sparse) trimap: ``trimap2`` 2xHxW float32 {0, 1}
    (FG, BG masks) and the 6xHxW distance-Gaussian maps."""
    is_fg, is_bg = trimap_masks(trimap)
    return np.stack([is_fg, is_bg]).astype(np.float32), distance_maps(is_fg, is_bg, sigmas_px)
