"""Pairing files of several folders by file-name stem (`GT01.png` with `GT01.jpg`).

Every importer that reads a folder per role (image, mask, alpha, trimap) pairs through here,
so they all follow one rule for the cases a pairing cannot decide:

- **Duplicate stems.** Two files of one folder with the same stem (`a.jpg`, `a.png`) are
  ambiguous: guessing would make the dataset depend on file order or suffix, so *no* file of
  that stem is paired, in any folder, and one failure names every file involved.
- **Unpaired files.** A file of a required folder whose stem is missing from another required
  folder is left out with one failure; a stem missing from an optional folder (an alpha file
  for an RGBA foreground) pairs with None instead.
- **Files of other types** (`.gif`, `.txt`, `.DS_Store`) are not read; each folder holding any
  gives one summary line naming them, so nothing a user put there disappears without a word.

Duplicates and unpaired files are failures: the caller records them in the manifest's
`failures` with the items that fail later, and the command exits 1 (refit: an error before any
work). Files of other types are only reported (and recorded in provenance): a README beside
the photos is not a failed input. Pairing happens up front, before any worker starts, so a
user sees every such problem at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagen.imageio import IMAGE_SUFFIXES, is_image_file
from datagen.importing import ImporterError
from datagen.shards.manifest import Failure

MAX_NAMES = 10  # files named in one summary line; the rest are counted


@dataclass(frozen=True)
class Folder:
    """One folder of a pairing: where it is, what its files are (for messages), and whether
    every item needs a file from it."""

    path: Path
    role: str
    required: bool = True


@dataclass
class Pairing:
    """Items `(stem, path or None per folder, ...)` sorted by stem, what could not be paired
    (failures), and one line per folder holding files of other types."""

    items: list[tuple[Any, ...]]  # (stem: str, then str per required folder, str | None per optional)
    duplicates: list[Failure] = field(default_factory=list)
    unpaired: list[Failure] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[Failure]:
        return self.duplicates + self.unpaired


def pair_by_stem(*folders: Folder) -> Pairing:
    """Pair the image files of `folders` by stem; items hold one path per folder, in order.

    A stem is an item when every required folder holds exactly one file of it; optional
    folders contribute their file or None. A stem duplicated in any folder is no item.
    One folder alone lists its files: items `(stem, path)`.
    Raises ImporterError if a folder is missing, not a folder, or holds no image files.
    """
    if not any(folder.required for folder in folders):
        raise ValueError("pair_by_stem needs at least one required folder")
    listings: list[dict[str, Path]] = []
    duplicates: list[Failure] = []
    unsupported: list[str] = []
    ambiguous: set[str] = set()
    for folder in folders:
        unique, repeated, others = _scan(Path(folder.path), folder.role)
        listings.append(unique)
        duplicates.extend(_duplicate(Path(folder.path), folder.role, stem, paths) for stem, paths in repeated.items())
        unsupported.extend([_unsupported_line(Path(folder.path), others)] if others else [])
        ambiguous |= set(repeated)
    stems = set.intersection(*(set(listing) for listing, folder in zip(listings, folders, strict=True) if folder.required)) - ambiguous
    unpaired = []
    for listing in listings:
        for stem in sorted(set(listing) - stems - ambiguous):
            missing = [other.role for other_listing, other in zip(listings, folders, strict=True) if other.required and stem not in other_listing]
            unpaired.append(Failure(str(listing[stem]), f"no matching {' or '.join(missing)} file (paired by file name stem); skipped"))
    items = [(stem, *(str(listing[stem]) if stem in listing else None for listing in listings)) for stem in sorted(stems)]
    return Pairing(items, duplicates, unpaired, unsupported)


def _scan(folder: Path, role: str) -> tuple[dict[str, Path], dict[str, list[Path]], list[Path]]:
    """(stem -> the one file of that stem, stem -> the files of a stem held more than once,
    the files that are not of an image type read here)."""
    if not folder.exists():
        raise ImporterError(f"{folder}: {role} folder does not exist")
    if not folder.is_dir():
        raise ImporterError(f"{folder}: {role} path is not a folder")
    entries = sorted(p for p in folder.iterdir() if p.is_file())
    files = [p for p in entries if is_image_file(p)]
    others = [p for p in entries if not is_image_file(p)]
    if not files:
        found = f"; it holds {_names(others)}" if others else ""
        raise ImporterError(f"{folder}: {role} folder holds no image files ({' '.join(IMAGE_SUFFIXES)}){found}")
    by_stem: dict[str, list[Path]] = {}
    for path in files:
        by_stem.setdefault(path.stem, []).append(path)
    unique = {stem: paths[0] for stem, paths in by_stem.items() if len(paths) == 1}
    return unique, {stem: paths for stem, paths in by_stem.items() if len(paths) > 1}, others


def _duplicate(folder: Path, role: str, stem: str, paths: list[Path]) -> Failure:
    return Failure(str(folder), f"{len(paths)} {role} files share the stem {stem!r} ({', '.join(p.name for p in paths)}); "
                                "none of them is used (rename or remove all but one)")


def _unsupported_line(folder: Path, others: list[Path]) -> str:
    count = f"{len(others)} file{'s' if len(others) > 1 else ''}"
    return f"{folder}: {count} not read, not of an image type read here ({' '.join(IMAGE_SUFFIXES)}): {_names(others)}"


def _names(paths: list[Path]) -> str:
    shown = ", ".join(p.name for p in paths[:MAX_NAMES])
    return shown + (f" and {len(paths) - MAX_NAMES} more" if len(paths) > MAX_NAMES else "")
