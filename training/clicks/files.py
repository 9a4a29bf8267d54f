"""Clicks and scribbles as a user hands them over: a clicks JSON file, two scribble images.

Every failure is one ``ValueError`` (or :class:`datagen.imageio.ImageError`) naming the file, the
form ``training predict`` prints as its one error line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from datagen.imageio import check_same_size, read_alpha
from training.clicks import Click


def read_clicks(path: str | Path, shape: tuple[int, int]) -> list[Click]:
    """Clicks from a JSON file ``[[y, x, is_positive], ...]`` (the evaluation reports' form),
    checked against the image ``shape``; anything else is one ``ValueError`` naming the file."""
    try:
        raw = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"--clicks {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"--clicks {path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    ok = isinstance(raw, list) and raw and all(
        isinstance(c, list) and len(c) == 3 and all(isinstance(v, int) and not isinstance(v, bool) for v in c[:2])
        and isinstance(c[2], bool) for c in raw)
    if not ok:
        raise ValueError(f"--clicks {path}: expected a non-empty list of [y, x, is_positive] (ints, ints, true/false)")
    h, w = shape
    for y, x, _ in raw:
        if not (0 <= y < h and 0 <= x < w):
            raise ValueError(f"--clicks {path}: click [{y}, {x}] lies outside the {w}x{h} image")
    return [(y, x, p) for y, x, p in raw]


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
