"""`datagen import backgrounds`: a folder of photographs (corrupt files are reported and skipped)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datagen.imageio import read_image
from datagen.importing import Importer, Plan
from datagen.sources.pairing import Folder, pair_by_stem


@dataclass(frozen=True)
class BackgroundsOptions:
    folder: Path


@dataclass(frozen=True)
class Background:
    """Make a `backgrounds` sample from a photo."""

    def __call__(self, item: tuple[str, str]) -> dict:
        stem, path = item
        return {"id": stem, "image": read_image(path)}


def plan(o: BackgroundsOptions, check) -> Plan:
    listing = pair_by_stem(Folder(o.folder, "backgrounds"))
    return Plan(listing.items, Background(), {}, inputs=[o.folder], problems=listing.problems, skipped=listing.unsupported)


IMPORTER = Importer("backgrounds", "import", "backgrounds", BackgroundsOptions, plan)
