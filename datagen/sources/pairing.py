"""Pairing files of several folders by file-name stem (`GT01.png` with `GT01.jpg`).

Every importer that reads a folder per role (image, mask, alpha, trimap) pairs through here,
so they all follow one rule for the cases a pairing cannot decide:

- **Duplicate stems.** Two files of one folder with the same stem (`a.jpg`, `a.png`) are
  ambiguous: guessing would make the dataset depend on file order or suffix, so *no* file of
  that stem is paired, in any folder, and one problem line names every file involved. The
  caller records the line (import: printed as `failed:` and kept in the manifest's
  provenance; build: the same; refit: an error before any work).
- **Unpaired files.** A file of a required folder whose stem is missing from another required
  folder is left out with one problem line; a stem missing from an optional folder (an alpha
  file for an RGBA foreground) pairs with None instead.

Pairing happens up front, before any worker starts, so a user sees every such problem at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from datagen.imageio import is_image_file
from datagen.importing import ImporterError


@dataclass(frozen=True)
class Folder:
    """One folder of a pairing: where it is, what its files are (for messages), and whether
    every item needs a file from it."""

    path: Path
    role: str
    required: bool = True


@dataclass
class Pairing:
    """Items `(stem, path or None per folder, ...)` sorted by stem, and the problem lines."""

    items: list[tuple[str | None, ...]]
    duplicates: list[str] = field(default_factory=list)
    unpaired: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return self.duplicates + self.unpaired


def list_images(folder: str | os.PathLike, role: str) -> tuple[dict[str, Path], list[str]]:
    """The image files of a folder by stem, leaving out ambiguous stems, and one problem line
    per ambiguous stem (see the module docstring).

    Raises ImporterError if the folder is missing, not a folder, or holds no image files.
    """
    unique, repeated = _scan(Path(folder), role)
    return unique, [_duplicate_line(Path(folder), role, stem, paths) for stem, paths in repeated.items()]


def pair_by_stem(*folders: Folder) -> Pairing:
    """Pair the image files of `folders` by stem; items hold one path per folder, in order.

    A stem is an item when every required folder holds exactly one file of it; optional
    folders contribute their file or None. A stem duplicated in any folder is no item.
    """
    if not any(folder.required for folder in folders):
        raise ValueError("pair_by_stem needs at least one required folder")
    listings, duplicates, ambiguous = [], [], set()
    for folder in folders:
        unique, repeated = _scan(Path(folder.path), folder.role)
        listings.append(unique)
        duplicates.extend(_duplicate_line(Path(folder.path), folder.role, stem, paths) for stem, paths in repeated.items())
        ambiguous |= set(repeated)
    stems = set.intersection(*(set(listing) for listing, folder in zip(listings, folders) if folder.required)) - ambiguous
    unpaired = []
    for listing in listings:
        for stem in sorted(set(listing) - stems - ambiguous):
            missing = [other.role for other_listing, other in zip(listings, folders) if other.required and stem not in other_listing]
            unpaired.append(f"{listing[stem]}: no matching {' or '.join(missing)} file (paired by file name stem); skipped")
    items = [(stem, *(str(listing[stem]) if stem in listing else None for listing in listings)) for stem in sorted(stems)]
    return Pairing(items, duplicates, unpaired)


def _scan(folder: Path, role: str) -> tuple[dict[str, Path], dict[str, list[Path]]]:
    """(stem -> the one file of that stem, stem -> the files of a stem held more than once)."""
    if not folder.exists():
        raise ImporterError(f"{folder}: {role} folder does not exist")
    if not folder.is_dir():
        raise ImporterError(f"{folder}: {role} path is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p))
    if not files:
        raise ImporterError(f"{folder}: {role} folder holds no image files")
    by_stem: dict[str, list[Path]] = {}
    for path in files:
        by_stem.setdefault(path.stem, []).append(path)
    unique = {stem: paths[0] for stem, paths in by_stem.items() if len(paths) == 1}
    return unique, {stem: paths for stem, paths in by_stem.items() if len(paths) > 1}


def _duplicate_line(folder: Path, role: str, stem: str, paths: list[Path]) -> str:
    return (f"{folder}: {len(paths)} {role} files share the stem {stem!r} ({', '.join(p.name for p in paths)}); "
            "none of them is used (rename or remove all but one)")
