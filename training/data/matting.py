"""FBA matting training samples from the shard store (thesis Ch. 4.3.5-4.3.6).

Two sources, both read only through ``datagen.shards`` (crops through the tile reader):

* an ``objects`` bank + a ``backgrounds`` bank, composited online. Unit ``u`` (one composite)
  uses object ``u mod n_objects``, so an epoch shows every object ``composites_per_object``
  times (the Deep Image Matting set is 431 objects x 100 backgrounds). ``fg_full`` (the
  re-estimated, everywhere-valid foreground) is used when the bank has it, else ``fg``
  resized premultiplied (``training.data.layers``);
* ``matting`` shards (``image``, ``alpha``, ``fg``, ``bg``): already composited, so only the
  geometry (crops, flips, 2x) and the trimap are drawn here; their colour changes and second
  foregrounds were drawn when the shards were made.

One unit, at the output size ``out_size`` (320 in the thesis):

1. a square crop of a side drawn from ``crop_sizes`` (640/480/320, clipped to the object's
   shorter side), centred on an unknown pixel of the object's matte (any pixel of its 1 px
   trimap band, so hard edges count too) and kept inside the image;
2. with ``second_fg_p`` a second object (its own crop, centred on its own unknown pixel) merged
   *under* the first into one foreground layer, as in [144];
3. a background window: the background scaled to cover the object image (the DIM recipe: only
   enlarged) at a random position, the crop's side in its pixels;
4. every layer resized to the output size, mirrored/flipped, gamma and brightness (foreground
   and background independently, thesis: "flip, mirroring, gamma, and brightness");
5. ``composite = alpha * fg + (1 - alpha) * bg`` in float32 (the clean target) and ``image``
   (the network input; equal to the composite for online compositing, the stored, possibly
   degraded, image for matting shards);
6. a trimap by random erosion/dilation of ``trimap_radius`` px at the output size, its two masks
   and their 6 Gaussian distance maps (``training.data.encodings``).

With ``rescale_every_second`` the dataset has two indices per unit: ``2u`` is the unit at 1x and
``2u + 1`` the same composite (same draws) zoomed 2x about the crop centre: "every second
mini-batch is sampled from the 2x image of the previous image". An epoch then shows each unit
at both scales, so its length is ``2 x units``. Each index is a pure function of (seed, epoch,
index), never of a worker or of what was read before (``training.data.sampling``).

``fb_valid`` (where the F/B ground truth may be trusted, for the F/B losses over the whole
image): everywhere for ``fg_full`` objects and for matting shards declared ``matting_fg_full``;
otherwise where alpha > 0 (the background is a real photograph, valid everywhere, but the mask
is one map for both).
"""

from __future__ import annotations

import dataclasses
import os
from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from datagen.compose.trimap import UNKNOWN, random_trimap, trimap_from_alpha
from datagen.shards import DatasetError, open_dataset
from training.data.encodings import FBA_SIGMAS_PX, distance_maps
from training.data.layers import composite, merge_over, resize_colour, resize_layer
from training.data.sampling import DRAWS, TRIMAP_1X, TRIMAP_2X, Draws, Layer, draw, sample_rng
from training.data.windows import Window, centred_window, cover_side, placed_window, window_slices, zoom_window

CENTRE_CANDIDATES = 4096
"""At most this many unknown pixels are kept per object as crop centres (evenly spread): enough
for variety, and small (32 KB) enough to keep for every object of a bank in each worker."""
SAMPLE_CHANNELS = 22
"""Channels of one sample: image, composite, fg, bg (3 each), alpha, fb_valid (1 each), the trimap's
two masks and its six distance maps."""
CENTRE_CACHE = 1024
"""Objects whose centres a process keeps (least recently used dropped): all of a DIM-sized bank
(431), ~32 MB at most, bounded for matting shards of 10^5 samples."""


@dataclass(frozen=True)
class MattingDataConfig:
    """The ``[data]`` table of an FBA run: defaults are the thesis recipe (Ch. 4.3.6)."""

    crop_sizes: tuple[int, ...] = (640, 480, 320)
    out_size: int = 320
    trimap_radius: tuple[int, int] = (3, 25)
    second_fg_p: float = 0.5
    rescale_every_second: bool = True
    composites_per_object: int = 100
    mirror_p: float = 0.5
    flip_p: float = 0.5
    gamma: tuple[float, float] = (0.75, 1.33)
    brightness: tuple[float, float] = (0.8, 1.2)
    distance_sigmas: tuple[float, ...] = FBA_SIGMAS_PX
    matting_fg_full: bool = False

    def __post_init__(self) -> None:
        if not self.crop_sizes or min(self.crop_sizes) < 1:
            raise ValueError(f"data.crop_sizes must be positive sides, got {list(self.crop_sizes)}")
        if self.out_size < 8 or self.out_size % 8:
            raise ValueError(f"data.out_size must be a positive multiple of 8 (the network's stride), got {self.out_size}")
        low, high = self.trimap_radius
        if not 0 <= low <= high:
            raise ValueError(f"data.trimap_radius must be [min, max] with 0 <= min <= max, got {list(self.trimap_radius)}")
        for name in ("second_fg_p", "mirror_p", "flip_p"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"data.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.composites_per_object < 1:
            raise ValueError(f"data.composites_per_object must be >= 1, got {self.composites_per_object}")
        for name in ("gamma", "brightness"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"data.{name} must be [min, max] with 0 < min <= max, got {list(getattr(self, name))}")
        if not self.distance_sigmas or min(self.distance_sigmas) <= 0:
            raise ValueError(f"data.distance_sigmas must be positive, got {list(self.distance_sigmas)}")


def _open(path: str | os.PathLike, role: str, kind: str, needs: tuple[str, ...]):
    """Open a dataset for ``role`` and check its kind, size and fields: one line naming it."""
    try:
        ds = open_dataset(path)
    except DatasetError as error:
        raise DatasetError(f"{role}: {error}") from None
    if ds.kind != kind:
        raise DatasetError(f"{role} {ds.path}: a dataset of kind {kind!r} is needed, this one is {ds.kind!r}")
    if len(ds) == 0:
        raise DatasetError(f"{role} {ds.path}: the dataset is empty")
    missing = [name for name in needs if name not in ds.fields]
    if missing:
        raise DatasetError(f"{role} {ds.path}: missing fields {', '.join(missing)} (has {', '.join(ds.fields)})")
    return ds


class MattingData(TorchDataset):
    """FBA training samples; see the module notes. ``data[i]`` is a dict of float32 CxHxW tensors
    (``image``, ``composite``, ``alpha``, ``fg``, ``bg``, ``trimap2``, ``trimap_maps``,
    ``fb_valid``) and ``index``."""

    def __init__(self, config: MattingDataConfig, *, objects: str | os.PathLike | None = None,
                 backgrounds: str | os.PathLike | None = None, matting: str | os.PathLike | None = None,
                 seed: int = 0) -> None:
        self.config = config
        self.seed = int(seed)
        self.epoch = 0
        self._centres: OrderedDict[int, np.ndarray] = OrderedDict()
        if matting is not None:
            if objects is not None or backgrounds is not None:
                raise ValueError("give either matting shards or an objects + backgrounds bank pair, not both")
            self.source = _open(matting, "matting shards", "matting", ("image", "alpha", "fg", "bg"))
            self.objects = self.backgrounds = None
            self.usable: list[int] = []
            self.skipped: list[str] = []
            self.units = len(self.source)
        else:
            if objects is None or backgrounds is None:
                raise ValueError("online compositing needs both an objects bank and a backgrounds bank")
            self.objects = _open(objects, "objects bank", "objects", ("fg", "alpha"))
            self.backgrounds = _open(backgrounds, "backgrounds bank", "backgrounds", ("image",))
            self.source = None
            self.usable, self.skipped = self._usable_objects()
            self.units = len(self.usable) * config.composites_per_object
        self.fg_full = self.objects is not None and "fg_full" in self.objects.fields

    def __len__(self) -> int:
        return self.units * (2 if self.config.rescale_every_second else 1)

    def __repr__(self) -> str:
        banks = (self.objects, self.backgrounds)
        source = f"matting={str(self.source.path)!r}" if self.source is not None else (
            ", ".join(f"{name}={str(bank.path)!r}" for name, bank in zip(("objects", "backgrounds"), banks, strict=True)
                      if bank is not None))
        return f"MattingData({source}, samples={len(self)}, seed={self.seed}, epoch={self.epoch})"

    def _usable_objects(self) -> tuple[list[int], list[str]]:
        """The bank's objects a crop can be centred on, and the ids of those it cannot (no unknown
        pixel: an alpha empty or opaque everywhere, nothing to learn matting from). Such an object
        passes import and verify; found here, at the start, it is skipped instead of stopping the
        run when it is first drawn. Every alpha is read once (its centres stay cached)."""
        bank = self.objects
        assert bank is not None
        usable: list[int] = []
        skipped: list[str] = []
        first = ""
        for index in range(len(bank)):
            try:
                self._centres_of(bank, index)
                usable.append(index)
            except DatasetError as error:
                skipped.append(str(bank.ids[index]))
                first = first or str(error)
        if not usable:
            raise DatasetError(f"{first}; no object of the bank has one")
        return usable, skipped

    @property
    def skip_note(self) -> str | None:
        """The one line to report when objects are skipped (None when none is)."""
        if not self.skipped or self.objects is None:
            return None
        shown = ", ".join(self.skipped[:5]) + (", ..." if len(self.skipped) > 5 else "")
        return (f"objects bank {self.objects.path}: skipping {len(self.skipped)} of {len(self.objects)} objects with "
                f"no unknown pixel (alpha empty or opaque everywhere, nothing to learn matting from): {shown}")

    def sample_bytes(self) -> int:
        """Bytes of one sample's float32 tensors (22 channels at the output size)."""
        return SAMPLE_CHANNELS * 4 * self.config.out_size ** 2

    def sources(self) -> dict:
        """The shard datasets read, by role (what a resumed run must find unchanged)."""
        if self.source is not None:
            return {"matting shards": self.source}
        return {"objects bank": self.objects, "backgrounds bank": self.backgrounds}

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch: every random choice is drawn from (seed, epoch, index)."""
        self.epoch = int(epoch)

    # -- one sample -------------------------------------------------------------
    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(f"sample index {index} out of range for {len(self)} samples")
        if torch.utils.data.get_worker_info() is not None:
            cv2.setNumThreads(1)  # a loader worker is one core's worth of work; threads would oversubscribe
        unit, zoomed = divmod(index, 2) if self.config.rescale_every_second else (index, 0)
        zoomed = bool(zoomed)
        if self.source is not None:
            layers = self._matting_unit(unit, zoomed)
        else:
            layers = self._composite_unit(unit, zoomed)
        rng = sample_rng(self.seed, self.epoch, unit, TRIMAP_2X if zoomed else TRIMAP_1X)
        return self._finish(index, rng, *layers)

    def _composite_unit(self, unit: int, zoomed: bool):
        """Online compositing: (image, composite, alpha, fg, bg, fb_valid) of one unit."""
        cfg, size = self.config, self.config.out_size
        assert self.objects is not None and self.backgrounds is not None, "online compositing has both banks"
        d = self._in_bank(draw(sample_rng(self.seed, self.epoch, unit, DRAWS), cfg, unit % len(self.usable),
                               len(self.usable), len(self.backgrounds)))
        primary = d.primary.index
        window = self._object_window(self.objects, d.primary)
        fg, alpha = self._object_layer(d.primary, window, zoomed)
        if d.second is not None:
            fg2, alpha2 = self._object_layer(d.second, self._object_window(self.objects, d.second), zoomed)
            fg, alpha = merge_over(fg, alpha, fg2, alpha2)
        bg_shape = self.backgrounds.shape(d.background, "image")
        bg_side = cover_side(window[2], self.objects.shape(primary, "alpha"), bg_shape)
        bg_window = placed_window(bg_shape, bg_side, d.bg_y, d.bg_x)
        if zoomed:
            bg_window = zoom_window(bg_window)
        bg = self.backgrounds.read(d.background, fields=("image",), crop=window_slices(bg_window))["image"]
        bg = _orient(resize_colour(bg, size, d.bg_gamma, d.bg_brightness), d.primary)
        clean = composite(alpha, fg, bg)
        fb_valid = np.ones_like(alpha) if self.fg_full else (alpha > 0).astype(np.float32)
        return clean, clean, alpha, fg, bg, fb_valid

    def _in_bank(self, d: Draws) -> Draws:
        """``d`` with its layers' positions among the usable objects turned into bank indices
        (the identity when no object is skipped, so such a bank's samples are unchanged)."""
        def at(layer: Layer) -> Layer:
            return dataclasses.replace(layer, index=self.usable[layer.index])

        return dataclasses.replace(d, primary=at(d.primary), second=None if d.second is None else at(d.second))

    def _object_layer(self, layer: Layer, window: Window, zoomed: bool) -> tuple[np.ndarray, np.ndarray]:
        """One object's (F, alpha) at the output size: read, resize, orient, colour."""
        if zoomed:
            window = zoom_window(window)
        assert self.objects is not None, "online compositing has an objects bank"
        colour_field = "fg_full" if self.fg_full else "fg"
        crop = self.objects.read(layer.index, fields=(colour_field, "alpha"), crop=window_slices(window))
        if colour_field not in crop:
            raise DatasetError(f"{self.objects.path}: sample {crop['id']} has no {colour_field} while other samples "
                               "have one; refit the whole bank")
        fg, alpha = resize_layer(crop[colour_field], crop["alpha"], self.config.out_size, self.fg_full,
                                 layer.gamma, layer.brightness)
        return _orient(fg, layer), _orient(alpha, layer)

    def _matting_unit(self, unit: int, zoomed: bool):
        """Matting shards: the same six arrays, from stored sample ``unit``."""
        cfg, size = self.config, self.config.out_size
        d = draw(sample_rng(self.seed, self.epoch, unit, DRAWS), cfg, unit, len(self.source), 1)
        window = self._object_window(self.source, d.primary)
        if zoomed:
            window = zoom_window(window)
        crop = self.source.read(unit, fields=("image", "alpha", "fg", "bg"), crop=window_slices(window))
        fg, alpha = resize_layer(crop["fg"], crop["alpha"], size, cfg.matting_fg_full)
        image, bg = resize_colour(crop["image"], size), resize_colour(crop["bg"], size)
        image, fg, alpha, bg = (_orient(a, d.primary) for a in (image, fg, alpha, bg))
        fb_valid = np.ones_like(alpha) if cfg.matting_fg_full else (alpha > 0).astype(np.float32)
        return image, composite(alpha, fg, bg), alpha, fg, bg, fb_valid

    def _finish(self, index: int, rng: np.random.Generator, image, composite, alpha, fg, bg, fb_valid) -> dict:
        """Trimap, its encodings, and the tensors."""
        trimap = random_trimap(alpha, rng, *self.config.trimap_radius)
        is_fg, is_bg = trimap == 255, trimap == 0
        maps = distance_maps(is_fg, is_bg, self.config.distance_sigmas)
        tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
        clean = tensor(composite)
        return {
            # online, the input is the clean composite itself: one tensor (collation copies each key)
            "image": clean if image is composite else tensor(image), "composite": clean,
            "alpha": tensor(alpha)[None], "fg": tensor(fg), "bg": tensor(bg),
            "trimap2": torch.from_numpy(np.stack([is_fg, is_bg]).astype(np.float32)),
            "trimap_maps": torch.from_numpy(maps), "fb_valid": tensor(fb_valid)[None], "index": index,
        }

    # -- crop centres -----------------------------------------------------------
    def _object_window(self, ds, layer: Layer) -> Window:
        """The 1x crop window of ``layer``: centred on one of the object's unknown pixels."""
        centres = self._centres_of(ds, layer.index)
        cy, cx = centres[min(int(layer.centre * len(centres)), len(centres) - 1)]
        return centred_window(ds.shape(layer.index, "alpha"), layer.crop, (int(cy), int(cx)))

    def _centres_of(self, ds, index: int) -> np.ndarray:
        """The object's unknown pixels (its 1 px trimap band) as Kx2 (y, x), at most
        ``CENTRE_CANDIDATES``, evenly spread; computed once per object and process (a pure
        function of the object, so the cache never changes a sample)."""
        if index in self._centres:
            self._centres.move_to_end(index)
        else:
            sample = ds.read(index, fields=("alpha",))
            band = np.argwhere(trimap_from_alpha(sample["alpha"], 1) == UNKNOWN).astype(np.int32)
            if len(band) == 0:
                raise DatasetError(f"{ds.path}: sample {sample['id']} has no unknown pixel (its alpha is "
                                   "empty or opaque everywhere), nothing to learn matting from")
            if len(band) > CENTRE_CANDIDATES:
                band = band[np.linspace(0, len(band) - 1, CENTRE_CANDIDATES).astype(np.int64)]
            self._centres[index] = band
            if len(self._centres) > CENTRE_CACHE:
                self._centres.popitem(last=False)
        return self._centres[index]


def _orient(array: np.ndarray, layer: Layer) -> np.ndarray:
    """Mirror (left-right) and flip (up-down) an HxW or CxHxW array as the layer drew."""
    if layer.mirror:
        array = array[..., ::-1]
    if layer.flip:
        array = array[..., ::-1, :]
    return np.ascontiguousarray(array)
