"""Trained checkpoints as predictors: ``load_predictor(path)`` for the evaluation protocols, the
demo and ``training predict``.

One module per network's test-time procedure (``fba``, ``imatting``, ``iseg``), what they share
(``common``: the image rule, the memory budget, :class:`PredictOptions`) and ``load``, which asks
the network table (:mod:`training.networks`) which predictor a checkpoint's network gets.
"""

from training.inference.common import DEFAULT_MAX_PIXELS, DEFAULT_TTA_SCALES, MattingPrediction, PredictOptions
from training.inference.fba import FBAPredictor
from training.inference.load import load_network, load_predictor

__all__ = ["DEFAULT_MAX_PIXELS", "DEFAULT_TTA_SCALES", "FBAPredictor", "MattingPrediction", "PredictOptions",
           "load_network", "load_predictor"]
