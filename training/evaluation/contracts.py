"""The model contracts of the three evaluation protocols, stated as ``typing.Protocol`` classes.

A model is any object with the one method its protocol calls; nothing has to inherit from
these classes. The baselines (:mod:`training.evaluation.baselines`) and the trained networks
(through ``training.inference.load_predictor``) implement them, ``models.load_model`` checks
a built model against them (through each protocol's record, :mod:`training.evaluation.protocols`), and the per-sample loops (:mod:`training.evaluation.sample_loops`)
call them. Stating the shapes, dtypes and ranges here is what lets a network trained elsewhere
plug into every report and the demo without reading the loops.

Shared conventions: ``image`` is HxWx3 RGB, uint8 or uint16 (benchmarks keep their source
precision); a click is ``(y, x, is_positive)`` in pixel coordinates of ``image``; ``clicks`` is
every click so far in click order, the newest last. A method returns an HxW array; anything
else is reported as a failure of that sample.

Optional attribute ``uses_previous_mask: bool``: False says the model ignores ``prev_mask`` /
``prev_alpha`` (the baselines), so a mask-correction report (``--initial-masks``) can say the
initial masks were ignored; a model without it is recorded as unknown (None).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from training.clicks import Click


@runtime_checkable
class IsegModel(Protocol):
    """Interactive segmentation (click-by-click protocol, metrics spec §B.3)."""

    def predict_iseg(self, image: np.ndarray, clicks: Sequence[Click], prev_mask: np.ndarray) -> np.ndarray:
        """Foreground probability after ``clicks``.

        ``prev_mask`` is the HxW float32 probability this model returned for the previous
        click (all zero before the first). Returns HxW float (not clipped: the protocol
        thresholds at 0.49 or 0.5, so values outside [0, 1] stay visible) or uint8 0..255.
        """
        ...


@runtime_checkable
class MattingModel(Protocol):
    """Trimap matting (Composition-1k protocol, metrics spec §A.6)."""

    def predict_matting(self, image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
        """Alpha for ``trimap`` (HxW uint8: 0 background, 128 unknown, 255 foreground).

        Returns HxW float in [0, 1] or uint8; the protocol quantises it to 8 bits and
        overwrites the known trimap regions before scoring, so only the unknown region counts.
        """
        ...


@runtime_checkable
class ImattingModel(Protocol):
    """Interactive matting (Interactive Composition-100 protocol, metrics spec §B.7)."""

    def predict_imatting(self, image: np.ndarray, clicks: Sequence[Click], prev_alpha: np.ndarray) -> np.ndarray:
        """Alpha after ``clicks``.

        ``prev_alpha`` is the HxW float32 previous prediction as scored (quantised to 8 bits,
        divided by 255; all zero before the first click). Returns HxW float in [0, 1] or uint8.
        """
        ...
