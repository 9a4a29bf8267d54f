"""What the click-to-select demo does, without the web page: a pure, testable core.

A `Session` holds one uploaded picture, the model's working copy of it (scaled down when it is
larger than `max_pixels`, because classic baselines and networks alike are slow or run out of
memory on a 20 MP photo), the clicks in the working copy's coordinates, and the result after
each click, so that undo costs nothing and every click costs exactly one model call. Results
are scaled back to the upload's size for the downloads.

The task follows the model: `predict_iseg` (clicks -> mask), `predict_imatting` (clicks ->
alpha) or `predict_matting` (trimap -> alpha), as training/evaluation/contracts.py states them;
what the page does with each is its protocol record's `demo` (training/evaluation/protocols.py).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import cv2
import numpy as np

from datagen.compose.convert import to_uint8
from datagen.imageio import ImageError, check_pixel_count, check_same_size, read_image
from training.clicks import MASK_THRESHOLD
from training.drawing import overlay
from training.evaluation.models import build_model
from training.evaluation.protocols import PROTOCOLS, implements

TASKS = tuple(PROTOCOLS)                      # tried in this order when a model offers several
MAX_UPLOAD_PIXELS = 40_000_000                # refused above: decoding alone would take seconds
MAX_MODEL_PIXELS = 1_000_000                  # scaled for the model above this


class DemoInputError(ValueError):
    """A user's upload or model spec the demo cannot use; the message is shown on the page."""


def load_demo_model(spec: str) -> tuple[object, str]:
    """Build the model named by `spec` (any spec `training evaluate` accepts) once and pick its
    task: the first of TASKS it implements. Any failure -> DemoInputError (shown on the page: a
    factory that raises must not take the server down)."""
    try:
        model = build_model(spec)
    except Exception as error:  # noqa: BLE001 - user factories may raise anything
        raise DemoInputError(str(error) or type(error).__name__) from None
    task = next((name for name in TASKS if implements(model, name)), None)
    if task is None:
        methods = ", ".join(f"{PROTOCOLS[name].method}()" for name in TASKS)
        raise DemoInputError(f"model {spec!r} ({type(model).__name__}) has none of {methods}")
    return model, task


def read_upload(path: str, max_pixels: int = MAX_UPLOAD_PIXELS) -> np.ndarray:
    """Decode an uploaded file as HxWx3 uint8 RGB, checking its size from the header first (a
    50 MP photo is refused before its pixels are decoded); DemoInputError names the file."""
    name = os.path.basename(path)
    try:
        check_pixel_count(path, max_pixels, limit="the demo's limit")
        image = read_image(path)
    except ImageError as error:
        if "not a readable image" in error.reason:
            raise DemoInputError(f"{name}: not a picture this demo can read (PNG, JPEG, BMP, TIFF, WebP)") from None
        raise DemoInputError(f"{name}: {error.reason}") from None
    return to_uint8(image)


def parse_colour(value: str | None) -> tuple[int, int, int]:
    """The colour picker's value ('#rrggbb', or 'rgb(a)(r, g, b[, a])') as an RGB triple; green if unset."""
    value = (value or "#00ff00").strip()
    if value.startswith("rgb"):
        r, g, b = (round(float(n)) for n in value[value.index("(") + 1 : value.index(")")].split(",")[:3])
        return r, g, b
    digits = value.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    try:
        return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
    except ValueError:
        raise DemoInputError(f"not a colour: {value!r}") from None


def working_scale(shape: tuple[int, ...], max_pixels: int) -> float:
    """Factor (<= 1) that brings an image of `shape` to at most `max_pixels` pixels."""
    pixels = shape[0] * shape[1]
    return 1.0 if pixels <= max_pixels else math.sqrt(max_pixels / pixels)


def resize_to(plane: np.ndarray, shape: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """`plane` resized to (h, w): area averaging down, bilinear up, nearest for label maps."""
    if plane.shape[:2] == tuple(shape):
        return plane
    down = shape[0] * shape[1] < plane.shape[0] * plane.shape[1]
    method = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA if down else cv2.INTER_LINEAR
    return cv2.resize(plane, (shape[1], shape[0]), interpolation=method)


def as_float(result: np.ndarray) -> np.ndarray:
    """A model output (uint8 0..255 or float) as float32, not clipped: iseg models get their own
    previous output back as `prev_mask` (training/evaluation/contracts.py)."""
    result = np.asarray(result)
    return result.astype(np.float32) / 255.0 if result.dtype == np.uint8 else result.astype(np.float32)


@dataclass
class Session:
    """One picture being worked on: clicks and the result after each (index k: after k+1 clicks)."""

    image: np.ndarray                       # the upload, HxWx3 uint8
    max_pixels: int = MAX_MODEL_PIXELS
    work: np.ndarray = field(init=False)    # the model's copy
    clicks: list[tuple[int, int, bool]] = field(default_factory=list)   # (y, x, positive) in `work`
    results: list[np.ndarray] = field(default_factory=list)             # float [0,1] at `work` size
    trimap: np.ndarray | None = None        # matting: the trimap at `work` size

    def __post_init__(self) -> None:
        scale = working_scale(self.image.shape, self.max_pixels)
        h, w = self.image.shape[:2]
        self.work = resize_to(self.image, (max(1, round(h * scale)), max(1, round(w * scale))))

    @property
    def scaled(self) -> bool:
        return self.work.shape[:2] != self.image.shape[:2]

    def note(self) -> str:
        """What the page says about the size the model sees."""
        h, w = self.image.shape[:2]
        if not self.scaled:
            return f"{w}x{h} image; the model sees it at full size."
        sh, sw = self.work.shape[:2]
        return (f"{w}x{h} image ({h * w / 1e6:.1f} MP) scaled to {sw}x{sh} for the model "
                f"(limit {self.max_pixels / 1e6:.1f} MP); results are scaled back to {w}x{h}.")

    @property
    def current(self) -> np.ndarray:
        """The latest model output at `work` size, as returned (all zero before the first click)."""
        return self.results[-1] if self.results else np.zeros(self.work.shape[:2], np.float32)

    @property
    def shown(self) -> np.ndarray:
        """The latest result clipped to [0, 1]: what the page shows and the downloads hold."""
        return np.clip(self.current, 0.0, 1.0)

    def click(self, model, task: str, y: int, x: int, positive: bool) -> np.ndarray:
        """Add a click at (y, x) of the working copy and run the model once; returns the result."""
        h, w = self.work.shape[:2]
        if not (0 <= y < h and 0 <= x < w):
            raise DemoInputError(f"click at ({x}, {y}) is outside the {w}x{h} picture")
        protocol = PROTOCOLS[task]
        if protocol.demo.takes != "clicks":
            raise DemoInputError(f"this model takes a {protocol.demo.takes}, not clicks: upload a {protocol.demo.takes}")
        clicks = [*self.clicks, (int(y), int(x), bool(positive))]
        previous = np.rint(self.shown * 255) / 255 if protocol.demo.previous_as_scored else self.current
        method = getattr(model, protocol.method)
        result = as_float(method(self.work, list(clicks), previous.astype(np.float32)))
        if result.shape != (h, w):
            raise DemoInputError(f"the model returned shape {result.shape}, expected {(h, w)}")
        self.clicks, self.results = clicks, [*self.results, result]
        return result

    def set_trimap(self, model, trimap: np.ndarray) -> np.ndarray:
        """Matting models: run once on `trimap` (any size, {0, 128, 255} after rounding) -> alpha."""
        if trimap.ndim == 3:
            trimap = trimap[..., 0]
        try:
            check_same_size("trimap", "the trimap", trimap, "the image", self.image.shape)
        except ImageError as error:  # an upload has no path worth naming: the page shows the sizes
            raise DemoInputError(error.reason) from None
        levels = np.where(trimap < 64, 0, np.where(trimap > 191, 255, 128)).astype(np.uint8)
        self.trimap = resize_to(levels, self.work.shape[:2], nearest=True)
        result = as_float(model.predict_matting(self.work, self.trimap))
        self.clicks, self.results = [], [result]
        return result

    def undo(self) -> None:
        """Drop the last click and its result (no model call: the previous result is kept)."""
        if self.clicks:
            self.clicks, self.results = self.clicks[:-1], self.results[:-1]

    def reset(self) -> None:
        self.clicks, self.results, self.trimap = [], [], None

    # -- what the page shows and offers for download --------------------------------------
    def overlay(self, task: str) -> np.ndarray:
        """The working copy with the result tinted (a mask: by the mask; an alpha: by opacity) and the clicks."""
        weight = (self.current >= MASK_THRESHOLD).astype(np.float32) if PROTOCOLS[task].demo.binary else self.shown
        return overlay(self.work, weight, self.clicks)

    def result_view(self, task: str) -> np.ndarray:
        """The result at `work` size as uint8: the mask (prob >= MASK_THRESHOLD) or the alpha."""
        if PROTOCOLS[task].demo.binary:
            return (self.current >= MASK_THRESHOLD).astype(np.uint8) * 255
        return np.rint(self.shown * 255).astype(np.uint8)

    def full_result(self) -> np.ndarray:
        """The latest result at the upload's size, float [0, 1]."""
        return resize_to(self.shown, self.image.shape[:2])

    def exports(self, task: str, colour: tuple[int, int, int]) -> dict[str, np.ndarray]:
        """Arrays to download at the upload's size: mask (0/255), alpha, foreground RGBA, composite."""
        alpha = self.full_result()
        mask = alpha >= MASK_THRESHOLD
        matte = mask.astype(np.float32) if PROTOCOLS[task].demo.binary else alpha
        a8 = np.rint(matte * 255).astype(np.uint8)
        composite = self.image.astype(np.float32) * matte[..., None] + np.asarray(colour, np.float32) * (1 - matte[..., None])
        return {
            "mask": (mask * 255).astype(np.uint8),
            "alpha": np.rint(alpha * 255).astype(np.uint8),
            "foreground": np.dstack([self.image, a8]),
            "composite": np.rint(composite).astype(np.uint8),
        }
