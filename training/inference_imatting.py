"""Interactive matting checkpoints as models: clicks or scribbles in, alpha (and F, B) out.

The network is an FBA network with click input (:mod:`training.models.imatting`), so its test-time
procedure is :class:`training.inference.FBAPredictor`'s unchanged (mirror padding, optional TTA,
fusion, the user's definite pixels imposed); only the input differs: the clicks become a sparse
trimap (:func:`training.clicks.paint.click_trimap`, with the disk radius the network was trained
with). ``prev_alpha`` of the evaluation contract is not used: the thesis network sees the image
and the clicks only (early fusion), so a prediction never depends on the evaluation order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from datagen.imageio import checked_trimap, read_alpha
from training.clicks import Click
from training.clicks.files import read_clicks, read_scribbles
from training.clicks.paint import CLICK_RADIUS_PX, click_trimap, scribble_trimap
from training.inference import FBAPredictor, MattingPrediction


class ImattingPredictor:
    """``predict_imatting(image, clicks, prev_alpha)`` (the evaluation's ImattingModel contract)
    over an :class:`FBAPredictor`; ``predict(image, trimap)`` takes a (sparse) trimap directly."""

    def __init__(self, matting: FBAPredictor, click_radius: int = CLICK_RADIUS_PX) -> None:
        self.matting = matting
        self.click_radius = int(click_radius)

    def __repr__(self) -> str:
        return f"ImattingPredictor({self.matting!r}, click_radius={self.click_radius})"

    def predict(self, image: np.ndarray, trimap: np.ndarray) -> MattingPrediction:
        return self.matting.predict(image, trimap)

    def predict_clicks(self, image: np.ndarray, clicks: Sequence[Click]) -> MattingPrediction:
        return self.predict(image, click_trimap(np.asarray(image).shape[:2], clicks, self.click_radius))

    def predict_imatting(self, image: np.ndarray, clicks: Sequence[Click], prev_alpha: np.ndarray) -> np.ndarray:
        return self.predict_clicks(image, clicks).alpha


def read_user_input(shape: tuple[int, int], image_name: str, *, trimap: str | Path | None = None,
                    clicks: str | Path | None = None, scribbles_fg: str | Path | None = None,
                    scribbles_bg: str | Path | None = None, radius: int = CLICK_RADIUS_PX) -> np.ndarray:
    """The (possibly sparse) trimap of ``training predict``'s user input: a trimap file, a clicks
    JSON file, or a pair of FG/BG scribble images (non-zero = scribbled), exactly one of them."""
    given = [trimap is not None, clicks is not None, scribbles_fg is not None or scribbles_bg is not None]
    if sum(given) != 1:
        raise ValueError("give exactly one of --trimap, --clicks, or --scribbles-fg with --scribbles-bg")
    reference = f"the image {image_name}"
    if trimap is not None:
        return checked_trimap(trimap, read_alpha(trimap), reference, shape)
    if clicks is not None:
        return click_trimap(shape, read_clicks(clicks, shape), radius)
    if scribbles_fg is None or scribbles_bg is None:
        raise ValueError("scribbles need both --scribbles-fg and --scribbles-bg")
    return scribble_trimap(*read_scribbles(scribbles_fg, scribbles_bg, shape, image_name))
