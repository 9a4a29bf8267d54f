"""`datagen import backgrounds`: a folder of photographs (corrupt files are reported and skipped)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datagen.imageio import read_image
from datagen.importing import Importer, Plan
from datagen.sources.pairing import list_images


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
    listing, problems = list_images(o.folder, "backgrounds")
    items = sorted((stem, str(path)) for stem, path in listing.items())
    return Plan(items, Background(), {}, inputs=[o.folder], problems=problems)


IMPORTER = Importer("backgrounds", "import", "backgrounds", BackgroundsOptions, plan)
