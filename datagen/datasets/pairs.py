"""Pairing an image folder with an annotation folder by file stem (extensions may differ)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datagen.imageio import is_image_file


@dataclass(frozen=True)
class Pair:
    """One image and its annotation file; `id` is the shared stem."""

    id: str
    image: str
    target: str


def pair_by_stem(images: Path, targets: Path) -> list[Pair]:
    """Images that have an annotation with the same stem, sorted by stem.

    Unpaired files are left out here; the manifest check before a build names them.
    Two files with one stem in the same folder are ambiguous and rejected.
    """
    def by_stem(folder: Path) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for path in sorted(folder.iterdir()):
            if path.is_file() and is_image_file(path):
                if path.stem in found:
                    raise ValueError(f"{path}: two files share the stem {path.stem!r} ({found[path.stem].name})")
                found[path.stem] = path
        return found

    image_files, target_files = by_stem(images), by_stem(targets)
    return [Pair(stem, str(image_files[stem]), str(target_files[stem]))
            for stem in sorted(image_files) if stem in target_files]
