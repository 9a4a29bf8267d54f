"""`datagen import objects`: foreground objects (colour + alpha) from plain folders.

Either two folders paired by file stem (`--fg`, `--alpha`; 8- or 16-bit alphas, equal-channel
RGB accepted) or one folder of RGBA files (`--rgba`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datagen.imageio import check_same_size, read_alpha, read_image, read_rgba
from datagen.importing import Importer, ImporterError, Plan
from datagen.sources.pairing import Folder, list_images, pair_by_stem


@dataclass(frozen=True)
class ObjectsOptions:
    fg: Path | None = None
    alpha: Path | None = None
    rgba: Path | None = None


@dataclass(frozen=True)
class ObjectPair:
    """Make an `objects` sample from a foreground file and an alpha file."""

    def __call__(self, item: tuple[str, str, str]) -> dict:
        stem, fg_path, alpha_path = item
        fg = read_image(fg_path)
        alpha = read_alpha(alpha_path)
        check_same_size(alpha_path, "alpha", alpha, f"the foreground {Path(fg_path).name}", fg.shape)
        return {"id": stem, "fg": fg, "alpha": alpha}


@dataclass(frozen=True)
class RgbaObject:
    """Make an `objects` sample from one RGBA file (colour + alpha channel)."""

    def __call__(self, item: tuple[str, str]) -> dict:
        stem, path = item
        fg, alpha = read_rgba(path)
        return {"id": stem, "fg": fg, "alpha": alpha}


def plan(o: ObjectsOptions, check) -> Plan:
    if o.rgba is not None:
        if o.fg is not None or o.alpha is not None:
            raise ImporterError("give either --rgba or --fg with --alpha, not both")
        listing, problems = list_images(o.rgba, "RGBA")
        items = sorted((stem, str(path)) for stem, path in listing.items())
        return Plan(items, RgbaObject(), {"source": "rgba"}, inputs=[o.rgba], problems=problems)
    if o.fg is None or o.alpha is None:
        raise ImporterError("give --fg and --alpha folders, or an --rgba folder")
    pairing = pair_by_stem(Folder(o.fg, "foreground"), Folder(o.alpha, "alpha"))
    return Plan(pairing.items, ObjectPair(), {"source": "fg+alpha"}, inputs=[o.fg, o.alpha], problems=pairing.problems)


IMPORTER = Importer("objects", "import", "objects", ObjectsOptions, plan)
