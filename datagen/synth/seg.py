"""Interactive-segmentation samples: background, optional distractor, primary on top.

The mask is the primary object's alpha > 0.5 *as stored* (uint8 alpha >= 128), so
``mask == (alpha > 127)`` holds exactly for every sample. The distractor is composited
into the image before the primary and is never part of ``mask`` or ``alpha``: a network
trained on this data must learn to pick the clicked object, not every object (thesis
Ch. 3.4.1, Fig. 3.20).
"""

from __future__ import annotations

import numpy as np

from datagen.compose.blend import composite_over
from datagen.synth.recipe import Banks, apply_realism, background, layer_patch, sample_id


def render_seg(recipe: dict, banks: Banks) -> tuple[dict, dict[str, np.ndarray]]:
    """Render a ``seg`` recipe; returns the sample and each layer's canvas alpha by role
    (for tests and the notebook, which mark distractors)."""
    size = recipe["size"]
    canvas = background(recipe, banks)
    alphas: dict[str, np.ndarray] = {}
    for layer in recipe["layers"]:
        patch = layer_patch(layer, banks, size)
        h, w = patch.alpha.shape
        window = canvas[patch.y : patch.y + h, patch.x : patch.x + w]
        composite_over(window, patch.fg, patch.alpha)
        full = np.zeros((size, size), np.uint8)
        full[patch.y : patch.y + h, patch.x : patch.x + w] = patch.alpha
        alphas[layer["role"]] = full
    alpha = alphas["primary"]
    sample = {
        "id": sample_id(recipe["index"]),
        "image": apply_realism(canvas, recipe["realism"]),
        "mask": (alpha > 127).view(np.uint8),
        "alpha": alpha,
        "recipe": recipe,
    }
    return sample, alphas
