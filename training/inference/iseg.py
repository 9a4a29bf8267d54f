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
:mod:`training.inference.fba`: the pyramid pooling needs the whole image.

Scribbles (:func:`training.clicks.paint.scribble_clicks`): the network was trained on point clicks, so each 8-connected
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

from training.checkpoint import CheckpointError
from training.clicks import Click, check_clicks
from training.clicks.paint import click_masks, scribble_clicks
from training.distributed import resolve_device
from training.export.runtime import ExportedNetwork
from training.inference.common import DEFAULT_MAX_PIXELS, PredictOptions, network_of, unit_rgb
from training.inference.heap import kept_memory
from training.models.fba import OUTPUT_STRIDE
from training.models.iseg import IsegNet, IsegNetConfig, pad_to_stride, predict_clicks

MAX_REPLAYED_CLICKS = 100
"""The most clicks a replay (a clicks file, scribble strokes) may hold: each is one network pass
over the whole image (seconds on a CPU at a few megapixels), and the published protocols stop at
20; a file of 10 000 clicks would run for hours before writing anything."""


def check_replay(n: int, what: str) -> None:
    """A ValueError if ``n`` clicks (``what``: how they were given) exceed :data:`MAX_REPLAYED_CLICKS`."""
    if n > MAX_REPLAYED_CLICKS:
        raise ValueError(f"{what}: {n} clicks, more than the {MAX_REPLAYED_CLICKS} an interactive segmentation "
                         "network replays (one pass over the image per click; the evaluation protocols use 20)")


class IsegPredictor:
    """A trained :class:`IsegNet` with its test-time procedure (see the module notes)."""

    uses_previous_mask = True      # the network's prev_mask input (mask-correction reports say so)

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
        rgb = unit_rgb(image)
        h, w = rgb.shape[:2]
        prev: np.ndarray = np.asarray(prev_mask, dtype=np.float32)
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
        with torch.no_grad(), kept_memory(isinstance(self.net, torch.nn.Module)):
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
        """The probability after each click of ``clicks`` in turn (one network pass per click; at
        most :data:`MAX_REPLAYED_CLICKS`, checked before the first)."""
        check_replay(len(clicks), "the clicks to replay")
        prob = np.zeros(np.asarray(image).shape[:2], np.float32)
        out = []
        for k in range(1, len(clicks) + 1):
            prob = self.predict_iseg(image, clicks[:k], prob)
            out.append(prob)
        return out

    def predict_scribbles(self, image: np.ndarray, fg: np.ndarray, bg: np.ndarray) -> tuple[np.ndarray, list[Click]]:
        """(probability, the clicks it was replayed from) for FG/BG scribble masks (see the module
        notes); every scribbled pixel is forced to its label. Overlapping FG and BG scribbles and more
        strokes than :data:`MAX_REPLAYED_CLICKS` are refused before any pass."""
        clicks = scribble_clicks(fg, bg)
        check_replay(len(clicks), "the scribbles' strokes")
        prob = self.predict_sequence(image, clicks)[-1].copy()
        prob[np.asarray(fg) > 0] = 1.0
        prob[np.asarray(bg) > 0] = 0.0
        return prob, clicks


class ExportedIseg:
    """An exported ``iseg`` network with :class:`IsegNet`'s ``predict``: the file holds the
    forward at multiples of 8 (the size the network's own padding gives), so the inputs are padded
    here exactly as :meth:`IsegNet.forward` pads them and the output is cropped back; click maps
    and forcing are the network's own functions (:func:`training.models.iseg.predict_clicks`)."""

    def __init__(self, exported: ExportedNetwork) -> None:
        self.exported = exported
        self.config = exported.config

    def to(self, device) -> ExportedIseg:
        return self

    def eval(self) -> ExportedIseg:
        return self

    def forward(self, image: torch.Tensor, maps: torch.Tensor, prev_mask: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        return self.exported(*pad_to_stride(image, maps, prev_mask))[..., :h, :w]

    def predict(self, image: torch.Tensor, masks: torch.Tensor, prev_mask: torch.Tensor) -> torch.Tensor:
        return predict_clicks(self.forward, self.config, image, masks, prev_mask)


def load_iseg_predictor(path: str | Path, state: dict, options: PredictOptions) -> IsegPredictor:
    """The predictor of an ``iseg`` checkpoint ``state`` read from ``path``, or of an exported
    file (see :func:`training.inference.common.network_of`)."""
    if options.tta:
        raise CheckpointError(f"checkpoint {path}: test-time augmentation is for matting networks; "
                              "this one holds an 'iseg' network, predicted without it")
    if options.tile:
        raise CheckpointError(f"{path}: --tile is for matting networks; an 'iseg' network sees the whole image "
                              "(its click maps and previous mask are global), scaled to the pixel budget")
    net = network_of(path, state, IsegNet, IsegNetConfig, options)
    if isinstance(net, ExportedNetwork):
        net = ExportedIseg(net)
    return IsegPredictor(net, resolve_device(options.device), max_pixels=options.max_pixels, source=str(path))
