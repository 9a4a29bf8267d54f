"""The one function that turns a recipe into pixels, whatever its kind.

It sits above `seg` and `matting` (which use the helpers of `recipe`), so that `recipe` never
has to import the renderers that import it.
"""

from __future__ import annotations

from datagen.synth.matting import render_matting
from datagen.synth.recipe import Banks
from datagen.synth.seg import render_seg


def render(recipe: dict, banks: Banks) -> dict:
    """Turn a recipe into a sample dict of its kind (``seg`` or ``matting``)."""
    if recipe["kind"] == "seg":
        return render_seg(recipe, banks)[0]
    if recipe["kind"] == "matting":
        return render_matting(recipe, banks)
    raise ValueError(f"unknown recipe kind {recipe['kind']!r}")
