"""Interactive segmentation checkpoints as models: clicks (or scribbles) in, foreground probability out.

:class:`IsegPredictor` implements the evaluation's ``IsegModel`` contract
(:mod:`training.evaluation.contracts`): ``predict_iseg(image, clicks, prev_mask)`` is one network
pass on the image, the click maps of every click so far and the previous prediction, with the
clicked pixels forced to their label, as :meth:`training.models.iseg.IsegNet.predict` does and as
the network was trained (thesis Ch. 3.2); a network that forces them before its guided filter
(the published one, ``docs/published.md``) answers with its output as it stands. The network is a two-stream late-fusion model whose
interaction stream reads the previous mask, so a prediction depends on the click *order*:
:meth:`IsegPredictor.predict_sequence` replays a list of clicks one by one, each prediction
becoming the next ``prev_mask``, which is how a user's session, the evaluation loop and a clicks
file given to ``training predict`` all reach their result.

Memory budget: an image above ``max_pixels`` is predicted at the largest scale under the budget
(clicks mapped to the scaled grid) and the probability is resized back (bilinear), then the
clicked pixels are forced at full resolution. Not tiled, for the reason given in
:mod:`training.inference`: the pyramid pooling needs the whole image.

Scribbles (:func:`scribble_clicks`): the network was trained on point clicks, so each 8-connected
stroke of an FG or BG scribble image becomes one click at its interior point (the pixel farthest
from the stroke's border, the robots' rule), replayed largest positive stroke first (a session's
first click is positive) and then by decreasing stroke size; every scribbled pixel is then forced
to its label, since the user marked all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy import ndimage

from datagen.imageio import check_same_size, read_alpha
from training.checkpoint import CheckpointError, restore_network
from training.data.clicks import check_clicks
from training.distributed import resolve_device
from training.evaluation.robots import Click, padded_edt
from training.inference import DEFAULT_MAX_PIXELS
from training.inference_imatting import read_clicks
from training.models.fba import OUTPUT_STRIDE
from training.models.iseg import IsegNet, IsegNetConfig, click_masks

MASK_THRESHOLD = 0.5
"""``probability >= 0.5`` is the mask: protocol L's rule, the one the thesis network trains with."""


class IsegPredictor:
    """A trained :class:`IsegNet` with its test-time procedure (see the module notes)."""

    def __init__(self, net: IsegNet, device: torch.device, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                 source: str = "") -> None:
        if max_pixels < OUTPUT_STRIDE ** 2:
            raise ValueError(f"max_pixels must be at least {OUTPUT_STRIDE ** 2}, got {max_pixels}")
        self.net = net.to(device).eval()
        # the published network forces the clicks before its guided filter and its output stands;
        # any other (also a module without our config) gets them forced after
        self.force_after = not getattr(getattr(net, "config", None), "force_clicks_before_filter", False)
        self.device = device
        self.max_pixels = max_pixels
        self.source = source

    def __repr__(self) -> str:
        return f"IsegPredictor(checkpoint={self.source!r}, max_pixels={self.max_pixels})"

    def predict_iseg(self, image: np.ndarray, clicks: Sequence[Click], prev_mask: np.ndarray) -> np.ndarray:
        """HxW float32 foreground probability in [0, 1] after ``clicks`` (clicked pixels exactly 0 or 1,
        except for a network that forces them before its guided filter: the published one).

        ``image`` HxWx3 uint8 or uint16; ``prev_mask`` HxW, this predictor's previous answer
        (zeros before the first click), clipped to [0, 1] before the network sees it.
        """
        rgb = _unit_rgb(image)
        h, w = rgb.shape[:2]
        prev = np.asarray(prev_mask, dtype=np.float32)
        if prev.shape != (h, w):
            raise ValueError(f"prev_mask is {prev.shape}, the image {(h, w)}")
        check_clicks(clicks, (h, w))
        scale = min(1.0, (self.max_pixels / (h * w)) ** 0.5)
        sh, sw = max(1, round(h * scale)), max(1, round(w * scale))
        if (sh, sw) != (h, w):
            rgb = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
            prev = cv2.resize(prev, (sw, sh), interpolation=cv2.INTER_AREA)
        small = [(min(sh - 1, int((y + 0.5) * sh / h)), min(sw - 1, int((x + 0.5) * sw / w)), p) for y, x, p in clicks]
        to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None].to(self.device)  # noqa: E731
        with torch.no_grad():
            out = self.net.predict(to_t(rgb.transpose(2, 0, 1)), to_t(click_masks((sh, sw), small)),
                                   to_t(np.clip(prev, 0.0, 1.0)[None]))
        prob = out[0, 0].float().cpu().numpy()
        if (sh, sw) != (h, w):
            prob = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
        if self.force_after:
            for y, x, positive in clicks:
                prob[y, x] = 1.0 if positive else 0.0
        return np.ascontiguousarray(prob, dtype=np.float32)

    def predict_sequence(self, image: np.ndarray, clicks: Sequence[Click]) -> list[np.ndarray]:
        """The probability after each click of ``clicks`` in turn (one network pass per click)."""
        prob = np.zeros(np.asarray(image).shape[:2], np.float32)
        out = []
        for k in range(1, len(clicks) + 1):
            prob = self.predict_iseg(image, clicks[:k], prob)
            out.append(prob)
        return out

    def predict_scribbles(self, image: np.ndarray, fg: np.ndarray, bg: np.ndarray) -> tuple[np.ndarray, list[Click]]:
        """(probability, the clicks it was replayed from) for FG/BG scribble masks (see the module
        notes); every scribbled pixel is forced to its label."""
        clicks = scribble_clicks(fg, bg)
        prob = self.predict_sequence(image, clicks)[-1].copy()
        prob[np.asarray(fg) > 0] = 1.0
        prob[np.asarray(bg) > 0] = 0.0
        return prob, clicks


def load_iseg_predictor(path: str | Path, state: dict, *, device: str = "auto", tta: bool = False,
                        max_pixels: int = DEFAULT_MAX_PIXELS) -> IsegPredictor:
    """The predictor of an ``iseg`` checkpoint ``state`` read from ``path`` (through
    :func:`training.inference.load_predictor`, which dispatches here)."""
    if tta:
        raise CheckpointError(f"checkpoint {path}: test-time augmentation is for matting networks; "
                              "this one holds an 'iseg' network, predicted without it")
    net = restore_network(path, state, IsegNet, IsegNetConfig)
    return IsegPredictor(net, resolve_device(device), max_pixels=max_pixels, source=str(path))


def _unit_rgb(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 or uint16 (benchmarks keep 16 bits) as float32 in [0, 1]."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"image must be HxWx3 uint8 or uint16, got {image.dtype} {image.shape}")
    return image.astype(np.float32) / np.float32(np.iinfo(image.dtype).max)


def scribble_clicks(fg: np.ndarray, bg: np.ndarray) -> list[Click]:
    """One click per 8-connected stroke of the FG (positive) and BG (negative) scribble masks, at
    the stroke's interior point; the largest FG stroke first, then the rest by decreasing size
    (ties: FG first, then row-major order of the stroke's first pixel)."""
    strokes = []
    for positive, mask in ((True, np.asarray(fg) > 0), (False, np.asarray(bg) > 0)):
        labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
        for label, box in enumerate(ndimage.find_objects(labels), start=1):
            stroke = labels[box] == label
            y, x = np.unravel_index(int(np.argmax(padded_edt(stroke))), stroke.shape)
            strokes.append((int(stroke.sum()), positive, (int(y) + box[0].start, int(x) + box[1].start, positive)))
    if not strokes:
        raise ValueError("the FG and BG scribbles are both empty")
    ordered = sorted(strokes, key=lambda s: (-s[0], not s[1]))        # stable: row-major order within ties
    first = next((s for s in ordered if s[1]), ordered[0])
    return [first[2]] + [s[2] for s in ordered if s is not first]


def predict_user_input(predictor: IsegPredictor, image: np.ndarray, image_name: str, *,
                       trimap: str | Path | None = None, clicks: str | Path | None = None,
                       scribbles_fg: str | Path | None = None,
                       scribbles_bg: str | Path | None = None) -> tuple[np.ndarray, list[Click]]:
    """``training predict``'s input for an iseg checkpoint: (probability, the clicks replayed) from
    a clicks JSON file (in click order) or a pair of FG/BG scribble images, exactly one of them."""
    if trimap is not None:
        raise ValueError("--trimap: an interactive segmentation checkpoint takes --clicks, or --scribbles-fg "
                         "with --scribbles-bg, not a trimap")
    scribbles = scribbles_fg is not None or scribbles_bg is not None
    if (clicks is not None) == scribbles:
        raise ValueError("an interactive segmentation checkpoint needs exactly one of --clicks, "
                         "or --scribbles-fg with --scribbles-bg")
    shape = np.asarray(image).shape[:2]
    if clicks is not None:
        points = read_clicks(clicks, shape)
        return predictor.predict_sequence(image, points)[-1], points
    if scribbles_fg is None or scribbles_bg is None:
        raise ValueError("scribbles need both --scribbles-fg and --scribbles-bg")
    return predictor.predict_scribbles(image, *read_scribbles(scribbles_fg, scribbles_bg, shape, image_name))


def read_scribbles(fg_path: str | Path, bg_path: str | Path, shape: tuple[int, int],
                   image_name: str) -> tuple[np.ndarray, np.ndarray]:
    """The FG and BG scribble images (non-zero = scribbled) as bool masks of the image's ``shape``;
    a file of another size is one ImageError naming it."""
    masks = []
    for name, path in (("FG scribble", fg_path), ("BG scribble", bg_path)):
        mask = read_alpha(path)
        check_same_size(path, name, mask, f"the image {image_name}", shape)
        masks.append(mask > 0)
    return masks[0], masks[1]
