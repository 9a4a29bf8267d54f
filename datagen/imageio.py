"""Reading and writing image files with exact precision and errors that name the file.

Everything in the toolkit reads pixels through here so that bit depth, channel order and
failure messages are the same everywhere: RGB channel order, 8-bit files as uint8 and
16-bit files as uint16 (never silently rescaled), and one `ImageError` naming the file
for anything unreadable or malformed.

OpenCV is imported by the functions that decode or encode, not by the module: importers
import this module for its checks, and the registry imports every importer when `datagen`
starts, which must not pay for image codecs.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from datagen.files import write_atomic

_HEADER_LOCK = threading.Lock()   # header_size lifts Pillow's global pixel limit for one call
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class ImageError(ValueError):
    """A file that cannot be used as the image it was asked to be; the message names it."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def is_image_file(path: str | os.PathLike) -> bool:
    """Whether the file name has an image suffix this module reads (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _decode(path: str | os.PathLike) -> np.ndarray:
    """Decode a file as stored: HxW or HxWxC, BGR(A) order, uint8/uint16."""
    path = Path(path)
    if not path.exists():
        raise ImageError(path, "no such file")
    if path.is_dir():
        raise ImageError(path, "is a directory, not an image")
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0:
        raise ImageError(path, "empty file")
    # IMREAD_UNCHANGED keeps 16-bit depth and the alpha channel and ignores EXIF rotation,
    # so pixels line up with annotation files that were drawn on the stored grid.
    import cv2

    try:
        array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as error:  # OpenCV asserts on sizes it refuses; its message is a C++ source line
        raise ImageError(path, _decode_refusal(error.err)) from None
    if array is None:
        raise ImageError(path, "not a readable image (corrupt or unsupported format)")
    if array.dtype not in (np.uint8, np.uint16):
        raise ImageError(path, f"unsupported sample type {array.dtype} (expected 8- or 16-bit)")
    return array


def _decode_refusal(assertion: str) -> str:
    """Why OpenCV refused to decode a file, from the assertion it failed, in words."""
    if "CV_IO_MAX_IMAGE" in assertion:
        return ("too large to decode: its header claims more pixels than OpenCV reads "
                "(at most 2^30 pixels and 2^20 per side); downscale or split it")
    return f"not a readable image (OpenCV refused it: {assertion})"


def check_same_size(path: str | os.PathLike, what: str, array: np.ndarray, reference: str, reference_shape: tuple[int, ...]) -> None:
    """Raise `ImageError(path, "<what> is WxH, <reference> is WxH")` unless the first two
    dimensions agree.

    Every importer pairs a file with an image it must line up with pixel for pixel; one
    message shape (sizes as WxH, as image tools print them) lets a user grep a failure list.
    `reference` says what the size is compared with: "the image GT01.png", "the annotations".
    """
    if tuple(array.shape[:2]) != tuple(reference_shape[:2]):
        raise ImageError(path, f"{what} is {array.shape[1]}x{array.shape[0]}, {reference} is "
                               f"{reference_shape[1]}x{reference_shape[0]}")


def checked_trimap(path: str | os.PathLike, trimap: np.ndarray, reference: str, reference_shape: tuple[int, ...]) -> np.ndarray:
    """A trimap read from `path`, as uint8 HxW of the reference size with values 0/128/255,
    or an `ImageError` naming the file (the value rule is `datagen.compose.trimap.check_trimap`)."""
    from datagen.compose.trimap import check_trimap

    check_same_size(path, "trimap", trimap, reference, reference_shape)
    if trimap.dtype != np.uint8:
        raise ImageError(path, f"trimap must be 8-bit, got {trimap.dtype}")
    try:
        return check_trimap(trimap, (reference_shape[0], reference_shape[1]))
    except ValueError as error:
        raise ImageError(path, str(error)) from None


def check_not_empty(path: str | os.PathLike, what: str, matte: np.ndarray) -> None:
    """Raise `ImageError(path, "<what> is all zero ...")` when no pixel of a matte or mask is
    above zero. Such an object covers nothing: it cannot be placed, composited or clicked on,
    and left in a dataset it fails later, far from the file (synth-seg's placement)."""
    if not matte.any():
        raise ImageError(path, f"{what} is all zero: nothing in it is object")


def read_colour_and_alpha(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read an image as (HxWx3 RGB, its own HxW alpha channel or None when it has none);
    grey is replicated. uint8, or uint16 for 16-bit files."""
    array = _decode(path)
    if array.ndim == 2:
        return np.repeat(array[:, :, None], 3, axis=2), None
    alpha = np.ascontiguousarray(array[:, :, 3]) if array.shape[2] == 4 else None
    return np.ascontiguousarray(array[:, :, 2::-1]), alpha


def read_image(path: str | os.PathLike, max_pixels: int | None = None) -> np.ndarray:
    """Read a photo as HxWx3 RGB (uint8, or uint16 for 16-bit files); grey is replicated, alpha dropped.
    With `max_pixels`, a file whose header declares more pixels is refused before decoding."""
    if max_pixels is not None:
        check_pixel_count(path, max_pixels)
    return read_colour_and_alpha(path)[0]


def header_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) from the file's header alone, without decoding a pixel.

    Why: a PNG of under 1 MB can declare 30000x30000 pixels, and decoding it takes gigabytes.
    Pillow reads only the header here; its own "decompression bomb" refusal is lifted for this
    call because the caller applies its own limit."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ImageError(path, "no such file" if not path.exists() else "is a directory, not an image")
    with _HEADER_LOCK:
        limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            with Image.open(path) as header:
                return header.size
        except (UnidentifiedImageError, OSError):
            raise ImageError(path, "not a readable image (corrupt or unsupported format)") from None
        finally:
            Image.MAX_IMAGE_PIXELS = limit


def check_pixel_count(path: str | os.PathLike, max_pixels: int, limit: str = "the limit", raise_with: str = "") -> None:
    """ImageError when the header of `path` declares more than `max_pixels` pixels; `limit` says
    whose limit it is, `raise_with` how to raise it (", or raise it with --max-input-megapixels")."""
    width, height = header_size(path)
    if width * height > max_pixels:
        raise ImageError(path, f"{width}x{height} is {width * height / 1e6:.3g} MP, above {limit} of "
                               f"{max_pixels / 1e6:g} MP; downscale it first{raise_with}")


def read_rgba(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read an image with an alpha channel as (HxWx3 RGB, HxW alpha); raises if there is none."""
    colour, alpha = read_colour_and_alpha(path)
    if alpha is None:
        raise ImageError(path, "has no alpha channel (expected an RGBA image)")
    return colour, alpha


def read_alpha(path: str | os.PathLike) -> np.ndarray:
    """Read a matte or mask as HxW at source precision.

    Mattes are often saved as 3-channel images with equal channels (alphamatting.com); those
    are accepted and one channel is taken. Channels that differ mean the file is not a matte,
    so it is rejected rather than guessed at.
    """
    array = _decode(path)
    if array.ndim == 2:
        return array
    colour = array[:, :, :3]
    if not (np.array_equal(colour[:, :, 0], colour[:, :, 1]) and np.array_equal(colour[:, :, 0], colour[:, :, 2])):
        raise ImageError(path, "alpha has colour channels that differ (expected a single-channel matte)")
    return np.ascontiguousarray(colour[:, :, 0])


def encode_png(array: np.ndarray) -> bytes:
    """Encode HxW, HxWx3 (RGB) or HxWx4 (RGBA) uint8/uint16 as PNG bytes."""
    if array.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG holds uint8 or uint16, got {array.dtype}")
    if array.ndim == 3:
        if array.shape[2] == 3:
            array = array[:, :, ::-1]
        elif array.shape[2] == 4:
            array = array[:, :, [2, 1, 0, 3]]
        else:
            raise ValueError(f"PNG holds 1, 3 or 4 channels, got {array.shape[2]}")
    import cv2

    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(array), [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise ValueError("PNG encoding failed")
    return buffer.tobytes()


def write_png(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write an RGB/grey uint8 or uint16 array as a PNG, atomically."""
    write_atomic(path, encode_png(array))
