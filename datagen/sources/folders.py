"""Importing plain folders of images: pairing files by stem and turning pairs into samples.

Pairing is done up front so that every unpaired, duplicated or missing file is reported by
name before any work starts; reading and size checks happen per sample on the workers, where
a bad file fails only its own sample.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datagen.imageio import ImageError, is_image_file, read_alpha, read_image, read_rgba


class SourceError(ValueError):
    """An input folder that cannot be imported at all (missing, empty, not a folder)."""


def list_images(folder: str | os.PathLike, role: str) -> tuple[dict[str, Path], list[str]]:
    """Image files of a folder by stem, and one problem line per stem that occurs twice.

    Raises SourceError if the folder is missing or holds no images. Of two files with the same
    stem (`a.jpg`, `a.png`) the first in name order is used and the others are reported.
    """
    folder = Path(folder)
    if not folder.exists():
        raise SourceError(f"{folder}: {role} folder does not exist")
    if not folder.is_dir():
        raise SourceError(f"{folder}: {role} path is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p))
    if not files:
        raise SourceError(f"{folder}: {role} folder holds no image files")
    same_stem: dict[str, list[Path]] = {}
    for path in files:
        same_stem.setdefault(path.stem, []).append(path)
    problems = [
        f"{paths[0]}: same stem as {', '.join(p.name for p in paths[1:])}; using {paths[0].name}"
        for paths in same_stem.values()
        if len(paths) > 1
    ]
    return {stem: paths[0] for stem, paths in same_stem.items()}, problems


def pair_by_stem(*folders: tuple[str | os.PathLike, str]) -> tuple[list[tuple[str, ...]], list[str]]:
    """Pair image files of several folders by stem.

    `folders` are (path, role) pairs. Returns the items `(stem, path1, path2, ...)` sorted by
    stem, and one problem line per file that has no partner in every other folder.
    """
    listings, problems = [], []
    for path, role in folders:
        listing, duplicates = list_images(path, role)
        listings.append((listing, Path(path), role))
        problems.extend(duplicates)
    stems = set.intersection(*(set(listing) for listing, _, _ in listings))
    for listing, _, role in listings:
        for stem in sorted(set(listing) - stems):
            missing = [other_role for other, _, other_role in listings if stem not in other]
            problems.append(f"{listing[stem]}: no matching {' or '.join(missing)} file (paired by file name stem); skipped")
    items = [(stem, *(str(listing[stem]) for listing, _, _ in listings)) for stem in sorted(stems)]
    return items, problems


def _check_same_size(path: str, array: np.ndarray, reference_path: str, reference: np.ndarray) -> None:
    if array.shape[:2] != reference.shape[:2]:
        raise ImageError(
            path, f"size {array.shape[1]}x{array.shape[0]} differs from {Path(reference_path).name} "
            f"({reference.shape[1]}x{reference.shape[0]})"
        )


@dataclass(frozen=True)
class ObjectPair:
    """Make an `objects` sample from a foreground file and an alpha file."""

    def __call__(self, item: tuple[str, str, str]) -> dict:
        stem, fg_path, alpha_path = item
        fg = read_image(fg_path)
        alpha = read_alpha(alpha_path)
        _check_same_size(alpha_path, alpha, fg_path, fg)
        return {"id": stem, "fg": fg, "alpha": alpha}


@dataclass(frozen=True)
class RgbaObject:
    """Make an `objects` sample from one RGBA file (colour + alpha channel)."""

    def __call__(self, item: tuple[str, str]) -> dict:
        stem, path = item
        fg, alpha = read_rgba(path)
        return {"id": stem, "fg": fg, "alpha": alpha}


@dataclass(frozen=True)
class Background:
    """Make a `backgrounds` sample from a photo."""

    def __call__(self, item: tuple[str, str]) -> dict:
        stem, path = item
        return {"id": stem, "image": read_image(path)}


@dataclass(frozen=True)
class AnnotatedImage:
    """Make a `benchmark` sample from an image and a mask (nonzero > threshold) or an alpha."""

    annotation: str  # "mask" or "alpha"
    threshold: int = 0

    def __call__(self, item: tuple[str, ...]) -> dict:
        stem, image_path, annotation_path, *trimap_path = item
        image = read_image(image_path)
        annotation = read_alpha(annotation_path)
        _check_same_size(annotation_path, annotation, image_path, image)
        sample = {"id": stem, "image": image}
        if self.annotation == "mask":
            sample["mask"] = (annotation > self.threshold).astype(np.uint8)
        else:
            sample["alpha"] = annotation
        if trimap_path:
            trimap = read_alpha(trimap_path[0])
            _check_same_size(trimap_path[0], trimap, image_path, image)
            if not np.isin(trimap, (0, 128, 255)).all():
                raise ImageError(trimap_path[0], "trimap holds values other than 0, 128 and 255")
            sample["trimap"] = trimap
        return sample
