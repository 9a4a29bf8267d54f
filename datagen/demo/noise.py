"""Seeded procedural textures and drawing helpers shared by the demo objects and backgrounds.

Everything here is a pure function of a `numpy.random.Generator` and a shape, so a sample is a
function of its seed alone. Fields are built with OpenCV (resizing small random grids, AA drawing)
because that keeps a 320x320 object well under 50 ms and a 2 MP one well under a second.
"""

from __future__ import annotations

import cv2
import numpy as np


def value_noise(rng: np.random.Generator, shape: tuple[int, int], cell: float,
                octaves: int = 4, contrast: float = 1.8) -> np.ndarray:
    """Multi-octave value noise, float32 HxW in [0, 1].

    Octave o is a random grid with one knot per `cell / 2**o` pixels; octave weights halve.
    Octaves are summed coarse to fine at grid resolution (each partial sum is resized bicubically
    to the next grid), and only the sum is resized to the frame: one full-frame resize per call.
    Summing pulls values to the middle, so the sum is stretched by `contrast` around 0.5 and
    clipped: the fields then use the full range.
    """
    h, w = shape
    total: np.ndarray | None = None
    weight_sum = 0.0
    for o in range(octaves):
        c = max(cell / 2**o, 1.0)
        gh, gw = int(np.ceil(h / c)) + 2, int(np.ceil(w / c)) + 2
        grid = rng.random((gh, gw), dtype=np.float32) * np.float32(0.5**o)
        total = grid if total is None else cv2.resize(total, (gw, gh), interpolation=cv2.INTER_CUBIC) + grid
        weight_sum += 0.5**o
    assert total is not None, f"octaves must be >= 1, got {octaves}"
    field = cv2.resize(total, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip((field / np.float32(weight_sum) - 0.5) * contrast + 0.5, 0.0, 1.0)


def line_kernel(length: float, angle: float) -> np.ndarray:
    """Normalised anti-aliased line kernel (motion blur of `length` px along `angle` radians)."""
    n = int(np.ceil(length)) | 1
    canvas = np.zeros((n, n), np.uint8)
    c = (n - 1) / 2
    d = np.array([np.cos(angle), np.sin(angle)]) * (length - 1) / 2
    pts = np.array([[c - d[0], c - d[1]], [c + d[0], c + d[1]]])
    start, end = ((int(x), int(y)) for x, y in np.rint(pts * 16))
    cv2.line(canvas, start, end, 255, 1, cv2.LINE_AA, shift=4)
    kernel = canvas.astype(np.float32)
    return kernel / max(kernel.sum(), 1e-6)


def hsv_to_rgb(hue_deg: np.ndarray, sat: np.ndarray, val: np.ndarray) -> np.ndarray:
    """HSV fields (hue in degrees, any range; s, v in [0, 1]) -> float32 RGB HxWx3 in [0, 1]."""
    hsv = np.stack([np.mod(hue_deg, 360.0), np.clip(sat, 0, 1), np.clip(val, 0, 1)], axis=-1)
    rgb = cv2.cvtColor(hsv.astype(np.float32), cv2.COLOR_HSV2RGB)
    return np.clip(rgb, 0.0, 1.0)


def blur(field: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with replicated borders (works for any size, including 1xN).

    Wide blurs (sigma > 4 px) run on a copy shrunk so that sigma becomes ~2 px and are resized
    back: the result is as smooth, at a cost that does not grow with sigma (a 2 MP object
    blurred by 40 px would otherwise take seconds).
    """
    if sigma <= 0:
        return field
    factor = int(sigma / 2) if sigma > 4 else 1
    h, w = field.shape[:2]
    if factor == 1 or min(h, w) < 2 * factor:
        return cv2.GaussianBlur(field, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    small = cv2.resize(field, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def draw_polylines(shape: tuple[int, int], curves: np.ndarray, thickness: int,
                   closed: bool = False) -> np.ndarray:
    """Anti-aliased coverage (float32 in [0, 1]) of sub-pixel polylines, (N, P, 2) in (x, y) pixels."""
    canvas = np.zeros(shape, np.uint8)
    if len(curves):
        pts = list(np.rint(np.asarray(curves) * 16).astype(np.int32))
        cv2.polylines(canvas, pts, closed, 255, thickness, cv2.LINE_AA, shift=4)
    return canvas.astype(np.float32) / 255.0


def fill_polygons(shape: tuple[int, int], polygons: list[np.ndarray]) -> np.ndarray:
    """Anti-aliased filled coverage (float32 in [0, 1]) of the union of sub-pixel polygons in (x, y)
    pixels. One fillPoly call per polygon: a single call would leave overlaps empty (even-odd rule)."""
    canvas = np.zeros(shape, np.uint8)
    for p in polygons:
        cv2.fillPoly(canvas, [np.rint(p * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    return canvas.astype(np.float32) / 255.0


def random_walk_curves(rng: np.random.Generator, roots: np.ndarray, angles: np.ndarray,
                       lengths: np.ndarray, curl: np.ndarray, n_points: int = 12,
                       jitter: float = 0.08) -> np.ndarray:
    """Smooth curved strands, (N, n_points, 2) in (x, y): each starts at its root heading
    `angles` and turns by `curl` radians over its length plus a little random wiggle."""
    n = len(roots)
    steps = np.linspace(0.0, 1.0, n_points)
    turn = curl[:, None] * steps[None, :] + np.cumsum(rng.normal(0, jitter, (n, n_points)), axis=1)
    heading = angles[:, None] + turn
    step_len = (lengths / (n_points - 1))[:, None]
    dx = np.cos(heading) * step_len
    dy = np.sin(heading) * step_len
    dx[:, 0] = 0.0
    dy[:, 0] = 0.0
    return np.stack([roots[:, None, 0] + np.cumsum(dx, 1), roots[:, None, 1] + np.cumsum(dy, 1)], -1)


def seeded_draw(seed: int, size: tuple[int, int], what: str, choice: str | None,
                options: tuple[str, ...]) -> tuple[int, int, np.random.Generator, str]:
    """The start every demo generator shares: ``size`` = (H, W) checked, the seed's generator,
    and ``choice`` checked against ``options`` or, when None, drawn from the generator first
    (so one seed always gives one picture)."""
    h, w = int(size[0]), int(size[1])
    if h < 1 or w < 1:
        raise ValueError(f"{what}: size must be at least 1x1, got {h}x{w}")
    rng = np.random.default_rng(seed)
    if choice is None:
        choice = options[int(rng.integers(len(options)))]
    elif choice not in options:
        raise ValueError(f"unknown {what} {choice!r}; choose from {', '.join(options)}")
    return h, w, rng, choice
