"""FBA matting checkpoints as predictors: image and trimap in, alpha, F and B out.

An FBA checkpoint becomes an :class:`FBAPredictor` whose ``predict_matting(image, trimap)``
returns alpha (the evaluation's matting Protocol) and whose ``predict`` also returns F and B.

Test time follows the thesis (Ch. 4.3.4, 4.3.7): the network sees the full-resolution image
(padded to a multiple of 8 by mirroring, then cropped back); with ``tta`` every combination of
horizontal flip, the four 90-degree rotations and the ``tta_scales`` is predicted and the
(alpha, F, B) triples, mapped back, are averaged; then one fusion step (Eq. 4.3-4.5) makes the
triple agree with the image (not for a network that fuses in its forward, as the published one
does), and, as the published code does, alpha is set to 1 / 0 on the trimap's definite
foreground / background, then F = image wherever alpha is 1 and B = image wherever it is 0.
An image whose sides are multiples of 8 and which fits the pixel budget is seen as it is.

Memory budget: an image above ``max_pixels`` is predicted at the largest scale under the budget
and the triple is resized back (bilinear), by default rather than tiled: the pyramid pooling
module sees the whole image for global context, which tiles cut apart. Where the scaling would
drop detail the user needs (a 24 MP photo under a 4 MP budget loses every hair finer than
2.4 px), ``tile`` predicts at full resolution in ``tile`` x ``tile`` windows overlapping by a
quarter, blended with linear ramps across the overlaps: each window's pooling then sees only its
window, and its distance maps only the trimap inside it (an FG region just outside a window is
unknown to it), which the overlap and blending soften; ``docs/export.md`` has the measured
difference. Fusion and the trimap's regions are per-pixel steps, done band by band of rows at full size, so
their temporaries stay small (``tests/bench/predict_memory.py`` measures the peak).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from datagen.compose.trimap import check_trimap, trimap_masks
from training.checkpoint import CheckpointError
from training.data import distance_maps
from training.distributed import resolve_device
from training.fusion import fuse_fba
from training.inference.common import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_TTA_SCALES,
    MattingPrediction,
    PredictOptions,
    network_of,
    row_bands,
    unit_rgb,
)
from training.inference.heap import kept_memory
from training.models import FBAConfig, FBANet
from training.models.fba import OUTPUT_STRIDE


class FBAPredictor:
    """A trained FBA network with its test-time procedure (see the module notes)."""

    def __init__(self, net: FBANet, sigmas: tuple[float, ...], device: torch.device, *, tta: bool = False,
                 tta_scales: tuple[float, ...] = DEFAULT_TTA_SCALES, max_pixels: int = DEFAULT_MAX_PIXELS,
                 tile: int = 0, source: str = "") -> None:
        if max_pixels < OUTPUT_STRIDE ** 2:
            raise ValueError(f"max_pixels must be at least {OUTPUT_STRIDE ** 2}, got {max_pixels}")
        if tile and (tile < 4 * OUTPUT_STRIDE or tile % OUTPUT_STRIDE or tile * tile > max_pixels):
            raise ValueError(f"--tile must be a multiple of {OUTPUT_STRIDE}, at least {4 * OUTPUT_STRIDE}, whose "
                             f"square fits the pixel budget ({max_pixels} px), got {tile}")
        self.tile = tile
        self.net = net.to(device).eval()
        # a network that fuses in its forward (the published one) is not fused again; a module
        # without our config (a stand-in, a user's network) is fused here
        self.fused_by_net = bool(getattr(getattr(net, "config", None), "fusion_in_forward", False))
        self.sigmas = tuple(sigmas)
        self.device = device
        self.tta = tta
        self.tta_scales = tuple(tta_scales) if tta else (1.0,)
        self.max_pixels = max_pixels
        self.source = source

    def __repr__(self) -> str:
        return (f"FBAPredictor(checkpoint={self.source!r}, tta={self.tta}, tta_scales={self.tta_scales}, "
                f"max_pixels={self.max_pixels}" + (f", tile={self.tile})" if self.tile else ")"))

    def predict_matting(self, image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
        """HxW float32 alpha in [0, 1] for an HxWx3 uint8 or uint16 image and its {0, 128, 255} trimap."""
        return self.predict(image, trimap).alpha

    def predict(self, image: np.ndarray, trimap: np.ndarray) -> MattingPrediction:
        """alpha, F and B for ``image`` (HxWx3 uint8 or uint16 RGB) and ``trimap`` (same size, 0/128/255)."""
        rgb = unit_rgb(image)
        trimap = check_trimap(trimap, rgb.shape[:2])
        h, w = trimap.shape
        cap = float("inf") if self.tile else (self.max_pixels / (h * w)) ** 0.5
        views = [(min(s * min(1.0, cap), cap), flip, k) for s in self.tta_scales for flip in ((False, True) if self.tta else (False,))
                 for k in (range(4) if self.tta else (0,))]
        total = self._view(rgb, trimap, *views[0])
        for scale, flip, k in views[1:]:
            total += self._view(rgb, trimap, scale, flip, k)
        total /= len(views)
        del rgb                                          # the bands below read the image again
        alpha = np.empty((h, w), np.float32)
        fg, bg = np.empty((h, w, 3), np.float32), np.empty((h, w, 3), np.float32)
        for rows in row_bands(h):
            alpha[rows], fg[rows], bg[rows] = self._finish(unit_rgb(image[rows]), trimap[rows], total[rows])
        return MattingPrediction(alpha, fg, bg)

    def _finish(self, rgb: np.ndarray, trimap: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, ...]:
        """Fusion and the trimap's definite regions on a band of rows: every step is per pixel, so
        doing it band by band gives the same numbers while the full-size temporaries (tensors of
        the fusion, masks) exist for one band only."""
        out = torch.from_numpy(np.ascontiguousarray(mean)).permute(2, 0, 1)[None]
        alpha, fg, bg = out[:, :1], out[:, 1:4], out[:, 4:7]
        if not self.fused_by_net:
            alpha, fg, bg = fuse_fba(torch.from_numpy(rgb).permute(2, 0, 1)[None], alpha, fg, bg)
        a, f, b = alpha[0, 0].numpy(), fg[0].permute(1, 2, 0).numpy(), bg[0].permute(1, 2, 0).numpy()
        is_fg, is_bg = trimap_masks(trimap)
        a = np.where(is_fg, 1.0, np.where(is_bg, 0.0, a)).astype(np.float32)
        f = np.where((a == 1)[..., None], rgb, f).astype(np.float32)
        b = np.where((a == 0)[..., None], rgb, b).astype(np.float32)
        return a, f, b

    def _view(self, rgb: np.ndarray, trimap: np.ndarray, scale: float, flip: bool, k: int) -> np.ndarray:
        """The network's HxWx7 output for one transformed view, mapped back to the input grid."""
        h, w = trimap.shape
        img, tri = (np.rot90(a[:, ::-1] if flip else a, k) for a in (rgb, trimap))
        th, tw = tri.shape
        sh, sw = max(1, round(th * scale)), max(1, round(tw * scale))
        if (sh, sw) != (th, tw):
            img = cv2.resize(np.ascontiguousarray(img), (sw, sh), interpolation=cv2.INTER_AREA if scale < 1
                             else cv2.INTER_LINEAR)
            tri = cv2.resize(np.ascontiguousarray(tri), (sw, sh), interpolation=cv2.INTER_NEAREST)
        out = self._tiled(np.ascontiguousarray(img), np.ascontiguousarray(tri))
        if (sh, sw) != (th, tw):
            out = cv2.resize(out, (tw, th), interpolation=cv2.INTER_LINEAR)
        out = np.rot90(out, -k)
        return out[:, ::-1] if flip else out

    def _tiled(self, rgb: np.ndarray, trimap: np.ndarray) -> np.ndarray:
        """:meth:`_forward` on the whole image, or with ``tile`` on overlapping windows blended by
        linear ramps across each overlap (weight 1 inside, falling towards a window's inner edges)."""
        h, w = trimap.shape
        if not self.tile or (h <= self.tile and w <= self.tile):
            return self._forward(rgb, trimap)
        overlap = self.tile // 4
        total = np.zeros((h, w, 7), np.float32)
        weight = np.zeros((h, w, 1), np.float32)
        for y0, th in _windows(h, self.tile, overlap):
            for x0, tw in _windows(w, self.tile, overlap):
                window = (slice(y0, y0 + th), slice(x0, x0 + tw))
                ramp = np.outer(_ramp(y0, th, h, overlap), _ramp(x0, tw, w, overlap))[..., None]
                total[window] += self._forward(rgb[window], trimap[window]) * ramp
                weight[window] += ramp
        return total / weight

    def _forward(self, rgb: np.ndarray, trimap: np.ndarray) -> np.ndarray:
        """One network pass: pad to a multiple of the output stride by mirroring, crop back."""
        h, w = trimap.shape
        ph, pw = -h % OUTPUT_STRIDE, -w % OUTPUT_STRIDE
        rgb = np.pad(rgb, ((0, ph), (0, pw), (0, 0)), mode="symmetric")
        trimap = np.pad(trimap, ((0, ph), (0, pw)), mode="symmetric")
        is_fg, is_bg = trimap_masks(trimap)
        maps = distance_maps(is_fg, is_bg, self.sigmas)
        to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None].to(self.device)  # noqa: E731
        with torch.no_grad(), kept_memory(isinstance(self.net, torch.nn.Module)):
            out = self.net(to_t(rgb.transpose(2, 0, 1)), to_t(np.stack([is_fg, is_bg])), to_t(maps))
        return out[0, :, :h, :w].permute(1, 2, 0).float().cpu().numpy()


def _windows(n: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """(start, length) of the windows covering ``n`` positions, ``tile`` long, overlapping by at least ``overlap``."""
    if n <= tile:
        return [(0, n)]
    return [(start, tile) for start in range(0, n - tile, tile - overlap)] + [(n - tile, tile)]


def _ramp(start: int, length: int, n: int, overlap: int) -> np.ndarray:
    """Blending weights along one axis of a window: rising over its first ``overlap`` positions
    unless it starts at the image's edge, falling over its last unless it ends there; always > 0."""
    i = np.arange(length, dtype=np.float32)
    rise = (i + 1) / (overlap + 1) if start > 0 else np.ones(length, np.float32)
    fall = (length - i) / (overlap + 1) if start + length < n else np.ones(length, np.float32)
    return np.minimum(1.0, np.minimum(rise, fall))


def load_fba_predictor(path: str | Path, state: dict, options: PredictOptions) -> FBAPredictor:
    """The predictor of an FBA-network checkpoint ``state`` read from ``path`` (``fba``, and
    ``imatting`` through :func:`training.inference.imatting.load_imatting_predictor`), or of an
    exported file (see :func:`training.inference.common.network_of`)."""
    net = network_of(path, state, FBANet, FBAConfig, options)
    sigmas = state.get("config", {}).get("data", {}).get("distance_sigmas")
    if sigmas is None:
        raise CheckpointError(f"checkpoint {path}: no data.distance_sigmas in its config")
    return FBAPredictor(net, tuple(sigmas), resolve_device(options.device), tta=options.tta,
                        tta_scales=options.tta_scales, max_pixels=options.max_pixels, tile=options.tile,
                        source=str(path))
