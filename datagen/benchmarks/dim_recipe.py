"""The Deep Image Matting compositing recipe, byte for byte (Composition-1k, Comp-100, DIM-train).

Published Composition-1k scores move by several SAD points between copies of the test set,
because every group re-composited it slightly differently (OpenCV vs PIL resizing, rounding
vs truncation, random vs top-left crops, RGBA fg handling). This module reproduces Adobe's
released script exactly:

- the background is decoded with PIL and converted to RGB;
- it is upscaled only when smaller than the foreground: ratio = max(w/bw, h/bh), new size
  = (ceil(bw*ratio), ceil(bh*ratio)) in Python float arithmetic, PIL bicubic; never
  downscaled;
- it is cropped at the top-left corner to the foreground size;
- per pixel with a = alpha/255 (float64): a == 1 copies the foreground, a == 0 keeps the
  background, otherwise int(a*fg + (1-a)*bg) per channel (truncation, not rounding);
- alpha is the first channel of the alpha file; the foreground is converted to RGB unless
  it is RGB or RGBA (whose colour channels are used as stored, not premultiplied).

The vectorised blend is exact, not approximately equal: numpy float64 division,
multiplication and addition are the same IEEE operations, in the same order, as the
script's Python floats (numpy does not fuse multiply-adds).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from datagen.imageio import ImageError

if TYPE_CHECKING:  # PIL is imported where images are opened, so that `datagen` starts fast
    from PIL import Image


def upscaled_size(fg_w: int, fg_h: int, bg_w: int, bg_h: int) -> tuple[int, int] | None:
    """The size the background is resized to, or None when it already covers the foreground."""
    wratio = fg_w / bg_w
    hratio = fg_h / bg_h
    ratio = wratio if wratio > hratio else hratio
    if ratio > 1:
        return math.ceil(bg_w * ratio), math.ceil(bg_h * ratio)
    return None


def composite_name(fg_name: str, k: int) -> str:
    """The file name Adobe's script saves composite `k` of foreground `fg_name` under:
    `fg_name` minus its last four characters (`.png`), then `_<k>.png`."""
    return f"{fg_name[:-4]}_{k}.png"


def prepare_background(bg: Image.Image, fg_w: int, fg_h: int) -> tuple[np.ndarray, tuple[int, int] | None]:
    """RGB background covering the foreground, cropped at the top-left: (HxWx3 uint8, resized-to size)."""
    if bg.mode != "RGB":
        bg = bg.convert("RGB")
    size = upscaled_size(fg_w, fg_h, *bg.size)
    if size is not None:
        from PIL import Image

        bg = bg.resize(size, Image.Resampling.BICUBIC)
    array = np.asarray(bg)[:fg_h, :fg_w]
    return np.ascontiguousarray(array), size


def blend_truncated(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """DIM's composite: HxWx3 uint8 fg and bg, HxW uint8 alpha -> HxWx3 uint8, truncated like
    Adobe's ``int()`` (not rounded as `datagen.compose.blend.blend_rounded` is)."""
    if alpha.dtype != np.uint8 or fg.dtype != np.uint8 or bg.dtype != np.uint8:
        raise ValueError("blend_truncated works on 8-bit fg, bg and alpha")
    if fg.shape != bg.shape or fg.shape[:2] != alpha.shape:
        raise ValueError(f"shape mismatch: fg {fg.shape}, bg {bg.shape}, alpha {alpha.shape}")
    a = (alpha.astype(np.float64) / 255.0)[:, :, None]
    mixed = (a * fg + (1.0 - a) * bg).astype(np.uint8)  # values are >= 0: astype truncates like int()
    out = np.where(a >= 1.0, fg, np.where(a > 0.0, mixed, bg))
    return out.astype(np.uint8)


def _open(path: str | Path) -> Image.Image:
    from PIL import Image

    try:
        image = Image.open(path)
        image.load()
    except FileNotFoundError:
        raise ImageError(path, "no such file") from None
    except Exception as exc:  # noqa: BLE001 - any decoder error: name the file
        raise ImageError(path, f"not a readable image ({exc})") from None
    return image


def read_foreground(path: str | Path) -> np.ndarray:
    """HxWx3 uint8 colour of a DIM foreground file, as the script sees it."""
    image = _open(path)
    if image.mode not in ("RGB", "RGBA"):
        if image.mode.startswith("I") or image.mode == "F":
            raise ImageError(path, f"foreground mode {image.mode} is not 8-bit")
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image)[:, :, :3])


def read_first_channel(path: str | Path, what: str = "alpha") -> np.ndarray:
    """HxW uint8: the first channel of an 8-bit alpha/trimap file (grey: itself; palette: decoded)."""
    image = _open(path)
    if image.mode in ("P", "PA", "1"):
        image = image.convert("RGB")
    if image.mode.startswith("I") or image.mode == "F":
        raise ImageError(path, f"{what} mode {image.mode} is not 8-bit")
    array = np.asarray(image)
    return np.ascontiguousarray(array if array.ndim == 2 else array[:, :, 0])


def read_background(path: str | Path) -> Image.Image:
    """A background as a loaded PIL image (the recipe resizes with PIL, so it stays PIL)."""
    return _open(path)


def read_pairing(folder: Path, fg_list: str, bg_list: str, per_object: int) -> tuple[list[str], list[str]]:
    """The DIM name lists of one split: foreground i pairs with background lines
    per_object*i .. per_object*i + per_object - 1, so the counts must agree exactly."""
    from datagen.datasets.layouts import read_namelist
    from datagen.importing import ImporterError

    fg_names, _ = read_namelist(folder / fg_list)
    bg_names, _ = read_namelist(folder / bg_list)
    if len(bg_names) != per_object * len(fg_names):
        raise ImporterError(f"{folder}: {len(fg_names)} foregrounds need {per_object * len(fg_names)} "
                         f"background names, {bg_list} has {len(bg_names)}")
    return fg_names, bg_names
