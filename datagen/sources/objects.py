"""`datagen import objects`: foreground objects (colour + alpha) from plain folders.

Either two folders paired by file stem (`--fg`, `--alpha`; 8- or 16-bit alphas, equal-channel
RGB accepted) or one folder of RGBA files (`--rgba`).

A foreground file may carry an alpha channel of its own (an RGBA PNG); it is never dropped
without a word:
- with no alpha file of its stem, the foreground's own channel is the alpha (as refit does);
- with an alpha file too, the two must agree (equal values; an 8-bit one is compared with a
  16-bit one scaled by 257), or the object is refused naming both files: picking one would
  hide a mistake. A channel that is fully opaque everywhere says nothing about the object
  (editors often save one) and is ignored.
An alpha with no pixel above zero is refused: the object would be invisible.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datagen.imageio import ImageError, check_not_empty, check_same_size, read_alpha, read_colour_and_alpha, read_rgba
from datagen.importing import Importer, ImporterError, Plan
from datagen.sources.pairing import Folder, pair_by_stem


@dataclass(frozen=True)
class ObjectsOptions:
    fg: Path | None = None
    alpha: Path | None = None
    rgba: Path | None = None


def alphas_agree(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether two alphas of one size hold the same values; when one is 8-bit and the other
    16-bit, the 8-bit one is scaled by 257 (255 -> 65535) first."""
    if first.dtype != second.dtype:
        first, second = (a.astype(np.uint16) * 257 if a.dtype == np.uint8 else a for a in (first, second))
    return np.array_equal(first, second)


@dataclass(frozen=True)
class ObjectPair:
    """Make an `objects` sample from a foreground file and its alpha file, or its own alpha
    channel when no alpha file has its stem (see the module notes)."""

    def __call__(self, item: tuple[str, str, str | None]) -> dict:
        stem, fg_path, alpha_path = item
        fg, own = read_colour_and_alpha(fg_path)
        if alpha_path is None:
            if own is None:
                raise ImageError(fg_path, "no matching alpha file (paired by file name stem) and no alpha channel of its own")
            alpha, alpha_file, what = own, fg_path, "alpha channel"
        else:
            alpha, alpha_file, what = read_alpha(alpha_path), alpha_path, "alpha"
            check_same_size(alpha_path, "alpha", alpha, f"the foreground {Path(fg_path).name}", fg.shape)
            if own is not None and own.min() < np.iinfo(own.dtype).max and not alphas_agree(own, alpha):
                raise ImageError(fg_path, f"its own alpha channel differs from the alpha file {alpha_path}; "
                                          "keep one of them (drop the channel or remove the file)")
        check_not_empty(alpha_file, what, alpha)
        return {"id": stem, "fg": fg, "alpha": alpha}


@dataclass(frozen=True)
class RgbaObject:
    """Make an `objects` sample from one RGBA file (colour + alpha channel)."""

    def __call__(self, item: tuple[str, str]) -> dict:
        stem, path = item
        fg, alpha = read_rgba(path)
        check_not_empty(path, "alpha channel", alpha)
        return {"id": stem, "fg": fg, "alpha": alpha}


def plan(o: ObjectsOptions, check) -> Plan:
    if o.rgba is not None:
        if o.fg is not None or o.alpha is not None:
            raise ImporterError("give either --rgba or --fg with --alpha, not both")
        listing = pair_by_stem(Folder(o.rgba, "RGBA"))
        return Plan(listing.items, RgbaObject(), {"source": "rgba"}, inputs=[o.rgba], problems=listing.problems,
                    skipped=listing.unsupported)
    if o.fg is None or o.alpha is None:
        raise ImporterError("give --fg and --alpha folders, or an --rgba folder")
    # Alpha files are optional per stem: a foreground without one may carry its own channel.
    pairing = pair_by_stem(Folder(o.fg, "foreground"), Folder(o.alpha, "alpha", required=False))
    return Plan(pairing.items, ObjectPair(), {"source": "fg+alpha"}, inputs=[o.fg, o.alpha], problems=pairing.problems,
                skipped=pairing.unsupported)


IMPORTER = Importer("objects", "import", "objects", ObjectsOptions, plan)
