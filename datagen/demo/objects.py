"""Procedural foreground objects with real matting structure and exact ground truth.

Why: every later stage (foreground refit, compositing, benchmarks, training smoke runs) needs
objects whose true alpha, true foreground colour F *at every pixel* and original background B0
are known exactly. Real matting sets only ship `fg` valid where alpha > 0, so a demo object is
shipped the same way (`fg`), while `F` and `B0` stay available to measure how well refit recovers
F and how much colour spill an augmentation produces.

Each object is one of a few kinds, each exercising a different matting difficulty:
  fur     opaque body with holes and hundreds of thin, curved, sub-pixel soft hair strands;
  hair    head and shoulders cut by the frame edge, long strands falling under gravity;
  glass   opaque rim, semi-transparent body (alpha ~0.3-0.7), highlights, a handle enclosing a hole;
  motion  body with strands and holes, motion-blurred along a random direction (wide soft ramps);
  lace    semi-transparent veil (folds, alpha ~0.3-0.7) with a lattice of holes and a frayed fringe.
Fur and motion bodies vary between crisp and soft edges along the silhouette; every kind has
enclosed holes (for hair, between crossing strands). F is a smooth, textured colour field
defined over the whole frame (so it extends past the silhouette), with a hue far from B0's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .noise import blur, draw_polylines, fill_polygons, hsv_to_rgb, line_kernel, random_walk_curves, seeded_draw, value_noise

OBJECT_KINDS = ("fur", "hair", "glass", "motion", "lace")


@dataclass(frozen=True)
class DemoObject:
    """One demo object. Arrays are HxW(x3); `image = round(255 * (a F + (1 - a) B0))`, a = alpha/255.

    `fg` is `image` where alpha > 0 and black elsewhere (how matting datasets ship foregrounds);
    `F` (float32, [0, 1]) is the exact foreground colour everywhere, `B0` the original background.
    """

    name: str
    fg: np.ndarray
    alpha: np.ndarray
    F: np.ndarray
    B0: np.ndarray
    image: np.ndarray


def composite(alpha: np.ndarray, F: np.ndarray, B: np.ndarray) -> np.ndarray:
    """`round(255 * (a F + (1 - a) B))` in float64 with a = alpha/255 (uint8 alpha, float F/B in [0, 1])."""
    a = (alpha.astype(np.float64) / 255.0)[..., None]
    return np.rint(255.0 * (a * F + (1.0 - a) * B)).astype(np.uint8)


def make_object(seed: int, size: tuple[int, int] = (320, 320), kind: str | None = None) -> DemoObject:
    """Build the demo object of `seed` at `size` = (H, W); `kind` defaults to a seeded choice.

    Deterministic: the only randomness is `np.random.default_rng(seed)`.
    """
    h, w, rng, kind = seeded_draw(seed, size, "demo object kind", kind, OBJECT_KINDS)
    scene = _Scene.random(rng, (h, w), radius=0.3 if kind == "lace" else 0.26)
    alpha, F = _BUILDERS[kind](scene)
    F = _calm_outside(scene, alpha, F)
    B0 = _backdrop(scene)
    alpha_u8 = np.rint(np.clip(alpha, 0.0, 1.0) * 255.0).astype(np.uint8)
    image = composite(alpha_u8, F, B0)
    fg = np.where(alpha_u8[..., None] > 0, image, np.uint8(0))
    return DemoObject(kind, fg, alpha_u8, F.astype(np.float32), B0.astype(np.float32), image)


@dataclass(frozen=True)
class _Scene:
    """Frame, seeded generator and one blob outline r(theta) that every kind builds on."""

    rng: np.random.Generator
    shape: tuple[int, int]
    hue: float          # foreground hue in degrees; the backdrop sits on the far side of the wheel
    cx: float
    cy: float
    radius: float
    axes: tuple[float, float]
    rotation: float
    harmonics: np.ndarray   # (K, 3): order, amplitude, phase

    @property
    def scale(self) -> float:
        """Pixels per unit of a 320 px frame: sizes are written for 320x320 and scaled by this."""
        return min(self.shape) / 320.0

    @classmethod
    def random(cls, rng: np.random.Generator, shape: tuple[int, int], radius: float) -> "_Scene":
        h, w = shape
        s = min(h, w)
        orders = np.arange(2, 6)
        harmonics = np.stack([orders, rng.uniform(0, 0.14, len(orders)) / (orders - 1),
                              rng.uniform(0, 2 * np.pi, len(orders))], axis=1)
        a = rng.uniform(0.8, 1.2)
        return cls(rng=rng, shape=shape, hue=float(rng.uniform(0, 360)),
                   cx=w / 2 + rng.uniform(-0.05, 0.05) * s, cy=h / 2 + rng.uniform(-0.05, 0.05) * s,
                   radius=radius * s * rng.uniform(0.9, 1.1), axes=(a, 1.0 / a),
                   rotation=float(rng.uniform(0, np.pi)), harmonics=harmonics)

    def min_radius(self) -> float:
        """A lower bound of the outline's distance to the centre."""
        return self.radius * (1 - self.harmonics[:, 1].sum()) * min(self.axes)

    def outline(self, theta: np.ndarray, shrink: float = 1.0) -> np.ndarray:
        """Outline points (N, 2) in (x, y) at polar parameters `theta`, optionally shrunk."""
        k, amp, phase = self.harmonics[:, 0:1], self.harmonics[:, 1:2], self.harmonics[:, 2:3]
        r = self.radius * shrink * (1 + (amp * np.cos(k * theta[None] + phase)).sum(0))
        x, y = r * np.cos(theta) * self.axes[0], r * np.sin(theta) * self.axes[1]
        c, s = np.cos(self.rotation), np.sin(self.rotation)
        return np.stack([self.cx + c * x - s * y, self.cy + s * x + c * y], axis=1)

    def polygon(self, shrink: float = 1.0) -> np.ndarray:
        n = int(np.clip(self.radius * 2, 16, 720))
        return self.outline(np.linspace(0, 2 * np.pi, n, endpoint=False), shrink)

    def distance(self) -> np.ndarray:
        """Distance of every pixel to the centre in units of the radius (smooth everywhere)."""
        h, w = self.shape
        y, x = np.ogrid[:h, :w]
        return (np.hypot(x - self.cx, y - self.cy) / max(self.radius, 1e-6)).astype(np.float32)

    def noise(self, cell: float, octaves: int = 4) -> np.ndarray:
        """Value noise with `cell` given in 320-frame pixels."""
        return value_noise(self.rng, self.shape, max(cell * self.scale, 1.0), octaves)


def _calm_outside(sc: _Scene, alpha: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Fade F's fine texture away from the object into a blurred version of itself, so that F
    continues smoothly past the silhouette (as a refit estimate would) instead of carrying
    texture where nothing of the object is."""
    near = np.clip(3.0 * blur(alpha.astype(np.float32), 6.0 * sc.scale), 0.0, 1.0)[..., None]
    return near * F + (1.0 - near) * blur(F, 10.0 * sc.scale)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Coverage of two independent layers (the 'over' operator on alphas)."""
    return 1.0 - (1.0 - a) * (1.0 - b)


def _soft_body(sc: _Scene) -> np.ndarray:
    """Filled outline whose edge varies smoothly between crisp (0.5 px) and soft (~3 px)."""
    body = fill_polygons(sc.shape, [sc.polygon()])
    crisp = blur(body, 0.5 * sc.scale)
    soft = blur(body, 3.0 * sc.scale)
    mix = _smoothstep((sc.noise(90, 2) - 0.3) / 0.4)
    return mix * crisp + (1 - mix) * soft


def _holes(sc: _Scene, count: int, radius: tuple[float, float], at_least: float = 0.0) -> np.ndarray:
    """Coverage of `count` elliptic holes well inside the outline (radius as fraction of min radius,
    but `at_least` pixels so that a later blur cannot close them)."""
    rmin = sc.min_radius()
    polys = []
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    for _ in range(count):
        ax, rot = sc.rng.uniform(0.7, 1.0), sc.rng.uniform(0, np.pi)
        r = min(max(rmin * sc.rng.uniform(*radius), at_least / ax), 0.6 * rmin)
        ang, dist = sc.rng.uniform(0, 2 * np.pi), sc.rng.uniform(0, 0.85 * rmin - r) if rmin > r else 0
        x, y = r * np.cos(t), r * ax * np.sin(t)
        c, s = np.cos(rot), np.sin(rot)
        polys.append(np.stack([sc.cx + dist * np.cos(ang) + c * x - s * y,
                               sc.cy + dist * np.sin(ang) + s * x + c * y], axis=1))
    return blur(fill_polygons(sc.shape, polys), 0.5 * sc.scale)


def _strands(sc: _Scene, count: int, length: tuple[float, float], curl: float,
             opacity: tuple[float, ...] = (0.3, 0.5, 0.75, 1.0)) -> np.ndarray:
    """Hair strands rooted just inside the outline, pointing roughly outwards, curling by `curl`."""
    n = max(int(count * np.sqrt(max(sc.scale, 0.25))), 4)
    theta = sc.rng.uniform(0, 2 * np.pi, n)
    roots = sc.outline(theta, shrink=0.93)
    outward = np.arctan2(roots[:, 1] - sc.cy, roots[:, 0] - sc.cx)
    angles = outward + sc.rng.normal(0, 0.45, n)
    lengths = sc.radius * sc.rng.uniform(*length, n)
    curves = random_walk_curves(sc.rng, roots, angles, lengths, sc.rng.normal(0, curl, n))
    return _render_strands(sc, curves, sc.rng.choice(opacity, size=n))


def _render_strands(sc: _Scene, curves: np.ndarray, opacity: np.ndarray) -> np.ndarray:
    """Coverage of strands (N, P, 2) with per-strand opacity, fading over the outer half towards
    the tip (drawn in three segments), blurred by a fraction of a pixel: strands are thinner than
    a pixel. Overlaps take the maximum, like strands lying on top of each other."""
    p = curves.shape[1]
    segments = ((slice(0, p // 2 + 1), 1.0), (slice(p // 2, 3 * p // 4 + 1), 0.75), (slice(3 * p // 4, None), 0.45))
    thickness = max(int(round(sc.scale)), 1)
    cover = np.zeros(sc.shape, np.float32)
    for op in np.unique(opacity):
        chosen = curves[opacity == op]
        for seg, fade in segments:
            np.maximum(cover, draw_polylines(sc.shape, chosen[:, seg], thickness) * (op * fade), out=cover)
    return blur(cover, max(0.45 * sc.scale, 0.3))


def _texture_colour(sc: _Scene, sat: tuple[float, float], val: tuple[float, float],
                    streak: float = 0.0) -> np.ndarray:
    """Smooth colourful field around the scene hue, optionally with directional fur-like streaks."""
    hue = sc.hue + 40 * (sc.noise(120, 3) - 0.5)
    s = sat[0] + (sat[1] - sat[0]) * sc.noise(80, 3)
    v = val[0] + (val[1] - val[0]) * sc.noise(40, 4)
    if streak > 0:
        fine = sc.noise(3, 2)
        kernel = line_kernel(max(8 * sc.scale, 1.0), float(sc.rng.uniform(0, np.pi)))
        fine = cv2.filter2D(fine, -1, kernel, borderType=cv2.BORDER_REPLICATE)
        v = v * (1 - streak + streak * 1.6 * fine)
    return hsv_to_rgb(hue, s, v)


def _fur(sc: _Scene) -> tuple[np.ndarray, np.ndarray]:
    holes = _holes(sc, int(sc.rng.integers(1, 3)), (0.2, 0.3))
    alpha = _union(_soft_body(sc), _strands(sc, 420, (0.2, 0.65), 1.4)) * (1 - holes)
    F = _texture_colour(sc, (0.45, 0.9), (0.3, 0.85), streak=0.35)
    tips = _smoothstep((sc.distance() - 0.8) / 0.7)[..., None]
    tip_colour = hsv_to_rgb(np.array([[sc.hue + 25]]), np.array([[0.3]]), np.array([[0.95]]))
    return alpha, F * (1 - tips) + tip_colour * tips


def _hair(sc: _Scene) -> tuple[np.ndarray, np.ndarray]:
    """Head, neck and shoulders (cut by the frame's bottom edge) with long hair falling under gravity."""
    r = sc.radius
    hx, hy = sc.cx, sc.cy - 0.25 * r
    t = np.linspace(0, 2 * np.pi, max(int(r), 16), endpoint=False)
    head = sc.outline(t, shrink=0.62) - (0, 0.25 * r)
    neck = np.array([[hx - 0.22 * r, hy], [hx + 0.22 * r, hy], [hx + 0.26 * r, sc.cy + 0.6 * r],
                     [hx - 0.26 * r, sc.cy + 0.6 * r]])
    shoulders = np.stack([hx + 1.5 * r * np.cos(t), sc.cy + 1.4 * r + 0.9 * r * np.sin(t)], 1)
    body = _union(blur(fill_polygons(sc.shape, [head, neck]), 0.6 * sc.scale),
                  blur(fill_polygons(sc.shape, [shoulders]), 1.5 * sc.scale))
    # Strands rooted on the upper half of the head leave outwards and turn down (to +-pi/2 going
    # round the outside of the head on each side).
    theta = sc.rng.uniform(0, 2 * np.pi, 2 * max(int(600 * np.sqrt(max(sc.scale, 0.25))), 4))
    roots = sc.outline(theta, shrink=0.55) - (0, 0.25 * r)
    roots = roots[roots[:, 1] < hy + 0.1 * r]
    n = len(roots)
    angle = np.arctan2(roots[:, 1] - hy, roots[:, 0] - hx) + sc.rng.normal(0, 0.2, n)
    left = np.cos(angle) < 0
    angle = np.where(left & (angle > 0), angle - 2 * np.pi, angle)
    fall = np.where(left, -1.5 * np.pi, 0.5 * np.pi) - angle
    curves = random_walk_curves(sc.rng, roots, angle + 0.4 * fall, r * sc.rng.uniform(0.7, 1.7, n),
                                0.6 * fall * sc.rng.uniform(0.7, 1.1, n), n_points=16, jitter=0.06)
    hair = _render_strands(sc, curves, sc.rng.choice([0.35, 0.6, 0.85, 1.0], size=n))
    # Hair colour with streaks everywhere, blending smoothly into a lighter face tone.
    F = _texture_colour(sc, (0.4, 0.8), (0.25, 0.75), streak=0.4)
    y, x = np.ogrid[: sc.shape[0], : sc.shape[1]]
    face = np.exp(-((x - hx) ** 2 + (y - hy) ** 2) / (2 * (0.35 * r) ** 2 + 1e-6)).astype(np.float32)[..., None]
    skin = hsv_to_rgb(np.array([[sc.hue + 20]]), np.array([[0.35]]), np.array([[0.9]]))
    return _union(body, hair), F * (1 - face) + skin * face


def _glass(sc: _Scene) -> tuple[np.ndarray, np.ndarray]:
    outer = blur(fill_polygons(sc.shape, [sc.polygon()]), 0.5 * sc.scale)
    inner = blur(fill_polygons(sc.shape, [sc.polygon(0.84)]), 0.8 * sc.scale)
    body = (outer - inner) + inner * (0.3 + 0.4 * sc.noise(110, 3))
    # Highlights: a couple of broad curved streaks inside the body, nearly opaque and white.
    n = 2
    roots = sc.outline(sc.rng.uniform(0, 2 * np.pi, n), shrink=0.6)
    curves = random_walk_curves(sc.rng, roots, sc.rng.uniform(0, 2 * np.pi, n),
                                sc.radius * sc.rng.uniform(0.4, 0.7, n), sc.rng.normal(0, 0.8, n), jitter=0.02)
    shine = blur(draw_polylines(sc.shape, curves, max(int(7 * sc.scale), 1)), 2.0 * sc.scale) * inner
    # A handle: an elliptic ring on the side, its inside is a hole enclosed by ring and body.
    side = sc.rng.uniform(0, 2 * np.pi)
    anchor = sc.outline(np.array([side]))[0]
    d = np.array([anchor[0] - sc.cx, anchor[1] - sc.cy])
    centre = anchor + d / max(np.hypot(*d), 1e-6) * 0.2 * sc.radius
    t = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    ax = sc.radius * np.array([0.42, 0.32])
    ring = np.stack([centre[0] + ax[0] * np.cos(t) * np.cos(side) - ax[1] * np.sin(t) * np.sin(side),
                     centre[1] + ax[0] * np.cos(t) * np.sin(side) + ax[1] * np.sin(t) * np.cos(side)], 1)
    handle = blur(draw_polylines(sc.shape, ring[None], max(int(9 * sc.scale), 1), closed=True), 0.5 * sc.scale)
    alpha = _union(_union(body, 0.8 * shine), handle)
    F = _texture_colour(sc, (0.35, 0.65), (0.55, 0.9))
    glow = blur(shine, 6.0 * sc.scale)[..., None]
    return alpha, F * (1 - glow) + glow * 0.97


def _motion(sc: _Scene) -> tuple[np.ndarray, np.ndarray]:
    length = max(sc.rng.uniform(8, 16) * sc.scale, 1.0)
    holes = _holes(sc, int(sc.rng.integers(1, 3)), (0.25, 0.35), at_least=length + 3 * sc.scale)
    alpha = _union(_soft_body(sc), _strands(sc, 120, (0.15, 0.4), 1.0)) * (1 - holes)
    kernel = line_kernel(length, float(sc.rng.uniform(0, np.pi)))
    F = _texture_colour(sc, (0.5, 0.95), (0.35, 0.9), streak=0.2)
    smear = lambda x: cv2.filter2D(x, -1, kernel, borderType=cv2.BORDER_REPLICATE)  # noqa: E731
    return smear(alpha), np.clip(smear(F), 0.0, 1.0)


def _lace(sc: _Scene) -> tuple[np.ndarray, np.ndarray]:
    h, w = sc.shape
    body = blur(fill_polygons(sc.shape, [sc.polygon()]), 0.8 * sc.scale)
    y, x = np.mgrid[:h, :w].astype(np.float32)
    phi = sc.rng.uniform(0, np.pi)
    u = x * np.cos(phi) + y * np.sin(phi)
    folds = np.sin(2 * np.pi * u / (45 * sc.scale) + 3 * sc.noise(140, 2))
    fabric = 0.5 + 0.17 * folds
    # Lace band along the border: a lattice of round holes, each circled by an opaque thread.
    inside = (body > 0.5).astype(np.uint8)
    depth = cv2.distanceTransform(inside, cv2.DIST_L2, 3) if min(h, w) > 1 else inside.astype(np.float32)
    band = blur((depth < 0.4 * sc.radius).astype(np.float32), 0.7 * sc.scale)
    pitch = max(18 * sc.scale, 3.0)
    rot = sc.rng.uniform(0, np.pi / 2)
    lu = (x * np.cos(rot) + y * np.sin(rot)) / pitch
    lv = (-x * np.sin(rot) + y * np.cos(rot)) / pitch
    rr = np.hypot(lu - np.round(lu), lv - np.round(lv)) * pitch
    hole = np.clip(0.3 * pitch - rr + 0.5, 0.0, 1.0)
    thread = np.clip(1.0 - np.abs(rr - 0.36 * pitch) / (0.08 * pitch), 0.0, 1.0) * 0.9
    lace = np.maximum(fabric, thread) * (1 - hole)
    alpha = _union(body * (band * lace + (1 - band) * fabric), _strands(sc, 200, (0.05, 0.16), 0.8,
                                                                        (0.35, 0.55, 0.75)))
    hue = sc.hue + 30 * (sc.noise(120, 3) - 0.5)
    F = hsv_to_rgb(hue, 0.25 + 0.25 * sc.noise(90, 3), 0.82 + 0.1 * folds)
    return alpha, F


_BUILDERS = {"fur": _fur, "hair": _hair, "glass": _glass, "motion": _motion, "lace": _lace}


def _backdrop(sc: _Scene) -> np.ndarray:
    """The object's original background: a studio-like backdrop on the far side of the hue wheel."""
    h, w = sc.shape
    hue = sc.hue + 180 + sc.rng.uniform(-45, 45) + 20 * (sc.noise(200, 2) - 0.5)
    y = (np.arange(h, dtype=np.float32)[:, None] / max(h - 1, 1)) * np.ones((1, w), np.float32)
    top, bottom = sc.rng.uniform(0.35, 0.95, 2)
    val = top + (bottom - top) * y + 0.2 * (sc.noise(150, 3) - 0.5)
    return hsv_to_rgb(hue, 0.25 + 0.4 * sc.noise(160, 2), val)
