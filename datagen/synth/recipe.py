"""Recipes: every random choice of one synthetic sample, as a plain JSON-able dict.

``plan(kind, params, seed, index, banks)`` draws the choices from
``SeedSequence([seed, index])`` (the primary object from the schedule), so sample ``index``
is the same whichever worker makes it. ``render(recipe, banks)`` (`datagen.synth.render`, above
the per-kind renderers that use this module's helpers) is the one function that turns a recipe
into pixels; generation and ``--regenerate`` both call it, which is what
makes regeneration byte-exact. A recipe stores the *intent* in canvas-relative terms
(object area fraction, centre as a fraction of the canvas); ``render`` resolves it against
the object's alpha box, deterministically.

Recipe layout::

    {"kind": "seg" | "matting", "size": 512, "seed": 0, "index": 17,
     "background": {"id": "...", "crop": [y, x, h, w]},
     "layers": [{"role": "distractor" | "second" | "primary", "id": "...", "area": 0.2,
                 "cx": 0.4, "cy": 0.6, "angle": -12.5, "flip": true,
                 "gamma": 1.1, "brightness": 0.95, "saturation": 1.2}, ...],   # bottom to top
     "realism": {"jpeg": 85 | null, "blur": 0.8 | null, "noise": 2.5 | null, "noise_seed": 123}}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from datagen.compose.augment import blur, jpeg, noise, photometric
from datagen.compose.placement import MARGIN, Patch, Placement, object_box, scale_for_area, to_uint8, warp_object
from datagen.shards.reader import Dataset
from datagen.synth.schedule import primary_object


@dataclass(frozen=True)
class SynthParams:
    """Ranges the sampler draws from (all documented in docs/synth.md).

    ``extra_p``: probability of a second object - the *distractor* under the primary for
    ``seg`` (never part of the mask), the *second foreground* merged into the matte for
    ``matting`` (FBA training used 50%, thesis Ch. 4.3.6).
    """

    size: int = 512
    extra_p: float = 0.5
    area: tuple[float, float] = (0.08, 0.45)  # object's alpha box / canvas area
    center: tuple[float, float] = (0.1, 0.9)  # box centre, fraction of the canvas side
    max_angle: float = 20.0  # degrees, uniform in [-max, max]
    flip_p: float = 0.5
    zoom: tuple[float, float] = (1.0, 1.6)  # background crop side = shorter side / zoom
    gamma: tuple[float, float] = (0.75, 1.33)  # log-uniform
    brightness: tuple[float, float] = (0.8, 1.2)
    saturation: tuple[float, float] = (0.7, 1.3)
    jpeg_p: float = 0.0
    jpeg_quality: tuple[int, int] = (60, 95)
    blur_p: float = 0.0
    blur_sigma: tuple[float, float] = (0.4, 1.2)
    noise_p: float = 0.0
    noise_sigma: tuple[float, float] = (1.0, 4.0)

    def to_json(self) -> dict:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


@dataclass
class Banks:
    """The two input datasets (``datagen.shards.Dataset``; picklable, opened lazily)."""

    objects: Dataset
    backgrounds: Dataset

    @property
    def has_fg_full(self) -> bool:
        return "fg_full" in self.objects.fields


def plan(kind: str, params: SynthParams, seed: int, index: int, banks: Banks) -> dict:
    """Draw the recipe of sample ``index`` (see the module docstring for its layout)."""
    if kind not in ("seg", "matting"):
        raise ValueError(f"unknown synthetic kind {kind!r}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
    n_obj, n_bg = len(banks.objects), len(banks.backgrounds)
    if n_bg < 1:
        raise ValueError("the background bank is empty")
    primary = primary_object(seed, index, n_obj)

    bg = int(rng.integers(n_bg))
    h, w = banks.backgrounds.shape(bg, "image")[:2]
    side = max(1, int(min(h, w) / rng.uniform(*params.zoom)))
    crop = [int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1)), side, side]

    layers = []
    if n_obj > 1 and rng.random() < params.extra_p:
        other = int(rng.integers(n_obj - 1))
        other += other >= primary  # uniform over the objects that are not the primary
        layers.append(_layer(rng, params, banks.objects.ids[other], "distractor" if kind == "seg" else "second"))
    layers.append(_layer(rng, params, banks.objects.ids[primary], "primary"))

    realism = {
        "jpeg": int(rng.integers(params.jpeg_quality[0], params.jpeg_quality[1] + 1)) if rng.random() < params.jpeg_p else None,
        "blur": float(rng.uniform(*params.blur_sigma)) if rng.random() < params.blur_p else None,
        "noise": float(rng.uniform(*params.noise_sigma)) if rng.random() < params.noise_p else None,
        "noise_seed": int(rng.integers(2**31)),
    }
    return {
        "kind": kind,
        "size": params.size,
        "seed": seed,
        "index": index,
        "background": {"id": banks.backgrounds.ids[bg], "crop": crop},
        "layers": layers,
        "realism": realism,
    }


def _layer(rng: np.random.Generator, params: SynthParams, object_id: str, role: str) -> dict:
    return {
        "role": role,
        "id": object_id,
        "area": float(rng.uniform(*params.area)),
        "cx": float(rng.uniform(*params.center)),
        "cy": float(rng.uniform(*params.center)),
        "angle": float(rng.uniform(-params.max_angle, params.max_angle)),
        "flip": bool(rng.random() < params.flip_p),
        "gamma": float(np.exp(rng.uniform(*np.log(params.gamma)))),
        "brightness": float(rng.uniform(*params.brightness)),
        "saturation": float(rng.uniform(*params.saturation)),
    }


def sample_id(index: int) -> str:
    return f"{index:07d}"


def background(recipe: dict, banks: Banks) -> np.ndarray:
    """The recipe's background crop resampled to ``size`` x ``size`` uint8 RGB."""
    size = recipe["size"]
    y, x, h, w = recipe["background"]["crop"]
    image = banks.backgrounds.get(recipe["background"]["id"], fields=("image",), crop=(y, x, h, w))["image"]
    if image.shape[:2] != (h, w):
        raise ValueError(f"background {recipe['background']['id']}: crop {h}x{w} does not fit the image")
    # Area filtering only pays off for real reductions; below 2x bilinear is alias-free enough.
    interp = cv2.INTER_AREA if h >= 2 * size else cv2.INTER_LINEAR
    return to_uint8(np.ascontiguousarray(cv2.resize(image, (size, size), interpolation=interp)))


def layer_patch(layer: dict, banks: Banks, size: int, full: bool = False) -> Patch:
    """One recipe layer warped onto the canvas with its photometric change applied."""
    colour_field = "fg_full" if banks.has_fg_full else "fg"
    alpha = banks.objects.get(layer["id"], fields=("alpha",))["alpha"]
    try:
        y0, y1, x0, x1 = object_box(alpha)
    except ValueError as error:
        raise ValueError(f"object {layer['id']}: {error}") from None
    # Read colour only under the alpha box (+ the warp's margin): the tiles outside are never touched.
    y0m, x0m = max(y0 - MARGIN, 0), max(x0 - MARGIN, 0)
    window = (y0m, x0m, y1 + MARGIN - y0m, x1 + MARGIN - x0m)
    colour = banks.objects.get(layer["id"], fields=(colour_field,), crop=window)[colour_field]
    alpha = alpha[y0m : y0m + colour.shape[0], x0m : x0m + colour.shape[1]]
    place = Placement(
        cx=layer["cx"] * size,
        cy=layer["cy"] * size,
        scale=scale_for_area(y1 - y0, x1 - x0, size, layer["area"]),
        angle=layer["angle"],
        flip=layer["flip"],
    )
    patch = warp_object(colour, alpha, place, size, full=full)
    fg = photometric(patch.fg, layer["gamma"], layer["brightness"], layer["saturation"])
    return Patch(patch.y, patch.x, fg, patch.alpha)


def apply_realism(image: np.ndarray, realism: dict) -> np.ndarray:
    """Blur, then noise, then JPEG (the order a camera pipeline applies them)."""
    if realism["blur"] is not None:
        image = blur(image, realism["blur"])
    if realism["noise"] is not None:
        image = noise(image, realism["noise"], realism["noise_seed"])
    if realism["jpeg"] is not None:
        image = jpeg(image, realism["jpeg"])
    return image
