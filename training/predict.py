"""What ``training predict`` reads and writes.

Input: the user's trimap, clicks JSON or FG/BG scribble images, exactly one of them, read once
here (:func:`read_user_input`) for every network; which of them a network takes is its entry's
``predict_inputs`` in :mod:`training.networks`.

Matting checkpoints: alpha, F, B and a composite of alpha x F onto a new background. The
composite shows the two things a matte is for at once: whether alpha is right (edges, hair)
and whether F is (no colour from the old background bleeding through), which alpha x the
original image would hide.

Interactive segmentation checkpoints: the mask, the probability it was thresholded from, and an
overlay of the image with the mask tinted and the clicks drawn (green positive, red negative),
the one picture that shows whether the clicks were read where the user meant them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from matplotlib.colors import to_rgb

from datagen.compose.convert import quantize_alpha, to_uint8
from datagen.imageio import checked_trimap, read_alpha, read_image, write_png
from datagen.shardtools.preview import checkerboard
from training.clicks import MASK_THRESHOLD, Click
from training.clicks.files import read_clicks, read_scribbles
from training.clicks.paint import CLICK_RADIUS_PX, click_trimap, scribble_trimap
from training.drawing import overlay
from training.inference.common import MattingPrediction, row_bands
from training.inference.iseg import check_replay

OUTPUTS = ("alpha.png", "fg.png", "bg.png", "composite.png")
ISEG_OUTPUTS = ("mask.png", "probability.png", "overlay.png")


FLAGS = {"trimap": "--trimap", "clicks": "--clicks", "scribbles": "--scribbles-fg with --scribbles-bg"}
WHAT = {"trimap": "a trimap", "clicks": "clicks", "scribbles": "scribbles"}


@dataclass(frozen=True)
class UserInput:
    """The one input given for an image of ``shape`` (H, W): a checked trimap, clicks in click
    order, or (FG, BG) scribble masks."""

    shape: tuple[int, int]
    trimap: np.ndarray | None = None
    clicks: list[Click] | None = None
    scribbles: tuple[np.ndarray, np.ndarray] | None = None

    def as_trimap(self, radius: int = CLICK_RADIUS_PX) -> np.ndarray:
        """The (sparse) trimap a matting network takes: clicks as disks of ``radius`` px."""
        if self.trimap is not None:
            return self.trimap
        if self.clicks is not None:
            return click_trimap(self.shape, self.clicks, radius)
        assert self.scribbles is not None
        return scribble_trimap(*self.scribbles)


def read_user_input(accepts: tuple[str, ...], described: str, shape: tuple[int, int], image_name: str, *,
                    trimap: str | Path | None = None, clicks: str | Path | None = None,
                    scribbles_fg: str | Path | None = None, scribbles_bg: str | Path | None = None,
                    takers: Mapping[str, Sequence[str]] | None = None) -> UserInput:
    """The input of ``training predict``, exactly one of ``accepts`` (a network entry's
    ``predict_inputs``; ``described`` names the checkpoint in the messages), checked against
    the image ``shape``; every mistake is one ValueError (or ImageError) line. An input the
    network does not take is refused before any file is read, naming what it takes and, from
    ``takers`` (input -> the networks that take it, :func:`training.networks.takers`), which
    checkpoints the given input is for."""
    given = {"trimap": trimap is not None, "clicks": clicks is not None,
             "scribbles": scribbles_fg is not None or scribbles_bg is not None}
    choices = _either(FLAGS[k] for k in accepts)
    for kind in given:
        if given[kind] and kind not in accepts:
            others = (takers or {}).get(kind, ())
            hint = f"; give {WHAT[kind]} to {_either(others)}" if others else ""
            raise ValueError(f"{FLAGS[kind].split()[0]}: {described} takes {choices}, not {WHAT[kind]}{hint}")
    if sum(given.values()) != 1:
        raise ValueError(f"{described} needs exactly one of {choices}")
    if trimap is not None:
        return UserInput(shape, trimap=checked_trimap(trimap, read_alpha(trimap), f"the image {image_name}", shape))
    if clicks is not None:
        return UserInput(shape, clicks=read_clicks(clicks, shape))
    if scribbles_fg is None or scribbles_bg is None:
        raise ValueError("scribbles need both --scribbles-fg and --scribbles-bg")
    return UserInput(shape, scribbles=read_scribbles(scribbles_fg, scribbles_bg, shape, image_name))


def _either(items: Iterable[str]) -> str:
    """'a', 'a or b', 'a, b, or c'."""
    return ", or ".join(", ".join(items).rsplit(", ", 1))


def background_for(spec: str | None, shape: tuple[int, int]) -> np.ndarray:
    """HxWx3 uint8: a checkerboard (``None``), an image file resized to cover ``shape`` and
    centre-cropped, or a colour (a name or ``#rrggbb``, as matplotlib reads them)."""
    h, w = shape
    if spec is None:
        return checkerboard((h, w), square=max(8, min(h, w) // 24))
    if Path(spec).is_file():
        image = to_uint8(read_image(spec))
        scale = max(h / image.shape[0], w / image.shape[1])
        size = (max(w, round(image.shape[1] * scale)), max(h, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        y, x = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
        return np.ascontiguousarray(image[y:y + h, x:x + w])
    try:
        colour = np.array(to_rgb(spec), np.float32)
    except ValueError:
        raise ValueError(f"--background {spec!r}: neither an image file nor a colour "
                         "(a name like 'white' or '#00ff00')") from None
    return np.broadcast_to(quantize_alpha(colour), (h, w, 3)).copy()


def composite(pred: MattingPrediction, background: np.ndarray) -> np.ndarray:
    """alpha F + (1 - alpha) background, uint8 (computed band by band of rows: per pixel, and
    a full-size float temporary of a 100 MP picture would be gigabytes)."""
    out: np.ndarray = np.empty(pred.fg.shape, np.uint8)
    for rows in row_bands(out.shape[0]):
        a = np.expand_dims(pred.alpha[rows], -1)
        out[rows] = quantize_alpha(a * pred.fg[rows] + (1 - a) * (background[rows].astype(np.float32) / 255))
    return out


def _quantized(plane: np.ndarray) -> np.ndarray:
    """quantize_alpha band by band of rows (it works in float64)."""
    out: np.ndarray = np.empty(plane.shape, np.uint8)
    for rows in row_bands(plane.shape[0]):
        out[rows] = quantize_alpha(plane[rows])
    return out


def write_prediction(out: str | Path, pred: MattingPrediction, background: np.ndarray) -> list[Path]:
    """The four PNGs of :data:`OUTPUTS` in ``out``, each array made just before it is written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    arrays = (lambda: _quantized(pred.alpha), lambda: _quantized(pred.fg), lambda: _quantized(pred.bg),
              lambda: composite(pred, background))
    paths = [out / name for name in OUTPUTS]
    for path, array in zip(paths, arrays, strict=True):
        write_png(path, array())
    return paths


def write_iseg_prediction(out: str | Path, image: np.ndarray, prob: np.ndarray, clicks: list[Click]) -> list[Path]:
    """The three PNGs of :data:`ISEG_OUTPUTS` in ``out``: mask (0/255, probability >= 0.5),
    probability (clipped to [0, 1], 8 bits) and the overlay of ``image``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    mask = prob >= MASK_THRESHOLD
    arrays = (mask.astype(np.uint8) * 255, quantize_alpha(np.clip(prob, 0.0, 1.0)), overlay(image, mask, clicks))
    paths = [out / name for name in ISEG_OUTPUTS]
    for path, array in zip(paths, arrays, strict=True):
        write_png(path, array)
    return paths


def predict_matting(out: str | Path, predictor, image: np.ndarray, user: UserInput,
                    background: str | None) -> list[Path]:
    """A matting network's files (:data:`OUTPUTS`): alpha, F, B from the user's (sparse) trimap,
    clicks painted at the predictor's trained radius, and the composite onto ``background``."""
    backdrop = background_for(background, image.shape[:2])
    trimap = user.as_trimap(getattr(predictor, "click_radius", CLICK_RADIUS_PX))
    return write_prediction(out, predictor.predict(image, trimap), backdrop)


def predict_iseg(out: str | Path, predictor, image: np.ndarray, user: UserInput, background: str | None) -> list[Path]:
    """An interactive segmentation network's files (:data:`ISEG_OUTPUTS`): clicks replayed one by
    one, or scribbles as one click per stroke with every scribbled pixel kept; at most
    :data:`~training.inference.iseg.MAX_REPLAYED_CLICKS` of either."""
    if background is not None:
        raise ValueError("--background: an interactive segmentation checkpoint writes a mask, no composite")
    if user.clicks is not None:
        check_replay(len(user.clicks), "--clicks")
        prob, clicks = predictor.predict_sequence(image, user.clicks)[-1], user.clicks
    else:
        assert user.scribbles is not None
        prob, clicks = predictor.predict_scribbles(image, *user.scribbles)
    return write_iseg_prediction(out, image, prob, clicks)
