"""Interactive matting checkpoints as models: clicks or scribbles in, alpha (and F, B) out.

The network is an FBA network with click input (:mod:`training.models.imatting`), so its test-time
procedure is :class:`training.inference.fba.FBAPredictor`'s unchanged (mirror padding, optional TTA,
fusion, the user's definite pixels imposed); only the input differs: the clicks become a sparse
trimap (:func:`training.clicks.paint.click_trimap`, with the disk radius the network was trained
with). ``prev_alpha`` of the evaluation contract is not used: the thesis network sees the image
and the clicks only (early fusion), so a prediction never depends on the evaluation order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from training.clicks import Click
from training.clicks.paint import CLICK_RADIUS_PX, click_trimap
from training.inference.common import MattingPrediction, PredictOptions
from training.inference.fba import FBAPredictor, load_fba_predictor


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


def load_imatting_predictor(path: str | Path, state: dict, options: PredictOptions) -> ImattingPredictor:
    """An ``imatting`` checkpoint: its FBA network's predictor with click input, at the disk
    radius the network was trained with."""
    return ImattingPredictor(load_fba_predictor(path, state, options), state["config"]["schedule"]["click_radius"])
