"""Matting samples (``image``, ``alpha``, ``fg``, ``bg``) for online-style training sets.

The primary object is warped over the whole canvas (its ``fg`` is needed everywhere, which
``fg_full`` makes meaningful); with the configured probability a second object is merged
*under* it into one foreground layer, as in FBA training (thesis Ch. 4.3.6: a new
foreground composited with 50% probability). Without realism degradations the stored
fields satisfy the compositing equation exactly in integers:
``image == round((alpha*fg + (255-alpha)*bg) / 255)``.
"""

from __future__ import annotations

from datagen.compose.blend import blend_rounded, merge_layers
from datagen.synth.recipe import Banks, apply_realism, background, layer_patch, sample_id


def render_matting(recipe: dict, banks: Banks) -> dict:
    size = recipe["size"]
    bg = background(recipe, banks)
    bottom, *above = recipe["layers"]  # bottom to top
    first = layer_patch(bottom, banks, size, full=True)
    fg, alpha = first.fg, first.alpha
    for layer in above:
        patch = layer_patch(layer, banks, size, full=True)
        fg, alpha = merge_layers(patch.fg, patch.alpha, fg, alpha)
    return {
        "id": sample_id(recipe["index"]),
        "image": apply_realism(blend_rounded(fg, bg, alpha), recipe["realism"]),
        "alpha": alpha,
        "fg": fg,
        "bg": bg,
        "recipe": recipe,
    }
