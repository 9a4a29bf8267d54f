"""Backgrounds for the demo background bank: procedural scenes and package-shipped photographs.

Why: compositing and interactive segmentation need backgrounds that are not trivially separable
from the object: a scene with a soft horizon, multi-scale texture, occluding shapes with both
crisp and defocused edges, thin dark structures (branches, wires) and sensor grain. Colours are
drawn over the whole hue wheel, so some backgrounds share the object's hue, as real photos do.
A few real photographs ship inside scikit-image (public domain / CC0); random crops of them add
real image statistics without any download.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .noise import blur, draw_polylines, fill_polygons, hsv_to_rgb, random_walk_curves, seeded_draw, value_noise


def make_background(seed: int, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """Background of `seed` at `size` = (H, W): uint8 HxWx3 RGB. Deterministic per seed."""
    h, w = int(size[0]), int(size[1])
    if h < 1 or w < 1:
        raise ValueError(f"background size must be at least 1x1, got {h}x{w}")
    rng = np.random.default_rng(seed)
    k = min(h, w) / 480.0

    def noise(cell: float, octaves: int = 4, shape: tuple[int, int] = (h, w)) -> np.ndarray:
        return value_noise(rng, shape, max(cell * k, 1.0), octaves)

    def textured(hue: float, sat: float, val: float, cell: float, shape: tuple[int, int] = (h, w)) -> np.ndarray:
        return hsv_to_rgb(hue + 30 * (noise(4 * cell, 2, shape) - 0.5),
                          sat * (0.7 + 0.6 * noise(2 * cell, 3, shape)),
                          val * (0.55 + 0.7 * noise(cell, 4, shape)))

    # Two regions (sky / ground or wall / floor) split by a wavy, softly blurred horizon.
    y = np.arange(h, dtype=np.float32)[:, None] / max(h - 1, 1)
    horizon = rng.uniform(0.3, 0.7) + 0.12 * (noise(300, 2) - 0.5)
    upper = blur((y < horizon).astype(np.float32), rng.uniform(0.5, 8) * k)[..., None]
    hues = rng.uniform(0, 360, 2)
    top = textured(hues[0], rng.uniform(0.1, 0.6), rng.uniform(0.5, 1.0), rng.uniform(60, 200))
    top = top * (0.8 + 0.3 * (1 - y))[..., None]
    bottom = textured(hues[1], rng.uniform(0.2, 0.8), rng.uniform(0.3, 0.8), rng.uniform(4, 30))
    image = upper * top + (1 - upper) * bottom

    # Occluders: ellipses, boxes and blobs, each with its own texture and edge sharpness.
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    for _ in range(int(rng.integers(5, 14))):
        cx, cy = rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 1.1) * h
        r = rng.uniform(0.04, 0.3) * min(h, w)
        shape_kind = int(rng.integers(3))
        if shape_kind == 0:
            radii = r * np.ones_like(t)
        elif shape_kind == 1:
            radii = r / np.maximum(np.abs(np.cos(t)), np.abs(np.sin(t)))
        else:
            radii = r * (1 + 0.3 * np.sin(rng.integers(2, 6) * t + rng.uniform(0, 6)))
        aspect, rot = rng.uniform(0.4, 1.6), rng.uniform(0, np.pi)
        px, py = radii * np.cos(t) * aspect, radii * np.sin(t)
        poly = np.stack([cx + px * np.cos(rot) - py * np.sin(rot), cy + px * np.sin(rot) + py * np.cos(rot)], 1)
        sigma = float(rng.choice([0.0, 0.7, 2.0, 6.0])) * k
        # Work in the shape's bounding box (plus the blur's reach): shapes are mostly small.
        margin = 4 * sigma + 2
        x0, y0 = (max(int(np.floor(poly[:, i].min() - margin)), 0) for i in (0, 1))
        x1, y1 = (min(int(np.ceil(poly[:, i].max() + margin)), limit) for i, limit in ((0, w), (1, h)))
        colour_params = rng.uniform(0, 360), rng.uniform(0.05, 0.75), rng.uniform(0.2, 1.0), rng.uniform(3, 40)
        if x1 <= x0 or y1 <= y0:
            continue
        box = (y1 - y0, x1 - x0)
        mask = blur(fill_polygons(box, [poly - (x0, y0)]), sigma)[..., None]
        colour = textured(*colour_params, shape=box)
        region = image[y0:y1, x0:x1]
        image[y0:y1, x0:x1] = region * (1 - mask) + colour * mask

    # Thin dark structures: branches and wires.
    n = int(rng.integers(2, 7))
    roots = np.stack([rng.uniform(0, w, n), rng.uniform(0, h, n)], 1)
    curves = random_walk_curves(rng, roots, rng.uniform(0, 2 * np.pi, n), rng.uniform(0.2, 0.8, n) * max(h, w),
                                rng.normal(0, 1.0, n), n_points=24, jitter=0.05)
    lines = draw_polylines((h, w), curves, max(int(rng.uniform(1, 4) * k), 1))[..., None]
    image = image * (1 - 0.85 * lines) + 0.85 * lines * rng.uniform(0.02, 0.25, 3)

    image = image + rng.normal(0, rng.uniform(0.002, 0.01), (h, w, 1)).astype(np.float32)
    return np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8)


# Public-domain / CC0 photographs bundled in the scikit-image wheel (no download needed).
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field")


@lru_cache(maxsize=None)
def _photo(name: str) -> np.ndarray:
    import skimage.data

    return getattr(skimage.data, name)()


def make_photo_background(seed: int, size: tuple[int, int] = (480, 640), photo: str | None = None) -> np.ndarray:
    """A random crop (50-100% of the largest crop with the target aspect), flip and exposure/colour
    jitter of a bundled photograph (seeded choice unless `photo` names one of `PHOTOS`), resized
    to `size` = (H, W). uint8 HxWx3 RGB, deterministic per seed."""
    h, w, rng, photo = seeded_draw(seed, size, "photo", photo, PHOTOS)
    source = _photo(photo)
    ph, pw = source.shape[:2]
    ch, cw = (ph, ph * w / h) if pw / ph > w / h else (pw * h / w, pw)
    zoom = rng.uniform(0.5, 1.0)
    ch, cw = max(int(ch * zoom), 1), max(int(cw * zoom), 1)
    y0, x0 = int(rng.integers(ph - ch + 1)), int(rng.integers(pw - cw + 1))
    crop = source[y0 : y0 + ch, x0 : x0 + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    shrink = h * w < ch * cw
    image = cv2.resize(np.ascontiguousarray(crop), (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    image = image.astype(np.float32) / 255.0
    image = np.clip(image * rng.uniform(0.8, 1.2, 3).astype(np.float32), 0, 1) ** np.float32(rng.uniform(0.8, 1.25))
    return np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8)
