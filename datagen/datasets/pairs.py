"""Benchmarks laid out as an image folder and an annotation folder matched by file stem.

GrabCut, Berkeley, DAVIS and COCO-MVal differ only in their folder names and in how a mask
file is read, so their importers are made here from those two things.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from datagen.importing import Importer, Plan, RootOptions
from datagen.shards.manifest import Failure
from datagen.sources.pairing import Folder, pair_by_stem


@dataclass(frozen=True)
class Pair:
    """One image and its annotation file; `id` is the shared stem."""

    id: str
    image: str
    target: str


def image_pairs(images: Path, targets: Path) -> tuple[list[Pair], list[Failure]]:
    """Images with an annotation of the same stem, sorted by stem, and the duplicate stems.

    Pairing follows `datagen.sources.pairing` (a duplicated stem pairs no file). Files without a
    partner, or of another type, are not reported here: the manifest check before a build
    already names them.
    """
    pairing = pair_by_stem(Folder(Path(images), "image"), Folder(Path(targets), "annotation"))
    return [Pair(*item) for item in pairing.items], pairing.duplicates


def pair_importer(name: str, images: str, targets: str, load: Callable[[Pair], dict]) -> Importer:
    """The `datagen build NAME` importer of a benchmark whose `--root` holds the folders `images`
    and `targets`, checked against part `test` of `manifests/NAME.json`; `load` (module-level,
    so that it pickles) makes a sample from a Pair."""

    def plan(o: RootOptions, check) -> Plan:
        check(name, ["test"])
        items, problems = image_pairs(o.root / images, o.root / targets)
        return Plan(items, load, {}, problems=problems)

    return Importer(name, "build", "benchmark", RootOptions, plan)
