"""Natural-image matting test sets shipped as folders: photos, alpha mattes and, for some, trimaps.

AIM-500, AM-2K, P3M-500-P/NP, PPM-100 and Distinctions-646 differ only in folder names and in
whether they ship trimaps, so each importer module is one `Layout` and this file does the work:
pair the folders by file stem (`datagen.sources.pairing`), check sizes, and record how the set
is scored.

The papers of these sets score trimap-free methods over the whole image (SAD, MSE, MAD; see
docs/evaluation.md "MAD and the trimap-free protocol"), and trimap methods over the shipped
trimap where there is one. Every sample's recipe and the dataset's provenance params say so:
`trimap_free` is true when the set ships no trimap (only whole-image scoring is possible) and
`scoring` names the protocol its papers report, so an evaluation can pick the metrics without
knowing the set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datagen.imageio import check_same_size, checked_trimap, read_alpha, read_image
from datagen.importing import Importer, Plan, RootOptions
from datagen.sources.pairing import Folder, pair_by_stem

WHOLE_IMAGE = "whole image: SAD, MSE, MAD over every pixel (trimap-free methods)"
WITH_TRIMAP = WHOLE_IMAGE + "; trimap methods over trimap == 128 with the shipped trimap"


@dataclass(frozen=True)
class Layout:
    """Where one set keeps its files, relative to `--root`, and which manifest part checks them."""

    name: str                  # `datagen build NAME`
    manifest: str              # manifests/<manifest>.json
    part: str
    image: str
    alpha: str
    trimap: str | None = None  # None: the set ships no trimap (trimap-free)
    fg: str | None = None      # foreground colours, where shipped (alpha*F metrics)

    @property
    def scoring(self) -> str:
        return WITH_TRIMAP if self.trimap else WHOLE_IMAGE


@dataclass(frozen=True)
class Item:
    id: str
    source: str
    image: str
    alpha: str
    trimap: str | None
    fg: str | None
    scoring: str


def load(item: Item) -> dict:
    """A benchmark sample: image, alpha [, trimap][, fg], with the scoring recorded in the recipe."""
    image = read_image(item.image)
    reference = f"the image {Path(item.image).name}"
    alpha = read_alpha(item.alpha)
    check_same_size(item.alpha, "alpha", alpha, reference, image.shape)
    recipe = {"source": item.source, "image": Path(item.image).name, "alpha": Path(item.alpha).name,
              "trimap": Path(item.trimap).name if item.trimap else None, "trimap_free": item.trimap is None,
              "scoring": item.scoring}
    sample: dict[str, object] = {"id": item.id, "image": image, "alpha": alpha}
    if item.trimap:
        sample["trimap"] = checked_trimap(item.trimap, read_alpha(item.trimap), reference, image.shape)
    if item.fg:
        fg = read_image(item.fg)
        check_same_size(item.fg, "foreground", fg, reference, image.shape)
        sample["fg"] = fg
        recipe["fg"] = Path(item.fg).name
    sample["recipe"] = recipe
    return sample


def plan_layout(layout: Layout, o: RootOptions, check) -> Plan:
    """Check the copy against the manifest part, then pair the layout's folders by stem."""
    check(layout.manifest, [layout.part])
    root = Path(o.root)
    folders = [Folder(root / layout.image, "image"), Folder(root / layout.alpha, "alpha")]
    if layout.trimap:
        folders.append(Folder(root / layout.trimap, "trimap"))
    if layout.fg:
        folders.append(Folder(root / layout.fg, "foreground", required=False))
    pairing = pair_by_stem(*folders)
    items = []
    for stem, image, alpha, *rest in pairing.items:
        trimap = rest.pop(0) if layout.trimap else None
        fg = rest.pop(0) if layout.fg else None
        items.append(Item(stem, layout.name, str(image), str(alpha), str(trimap) if trimap else None,
                          str(fg) if fg else None, layout.scoring))
    params = {"part": layout.part, "trimap_free": layout.trimap is None, "scoring": layout.scoring}
    # Unpaired files are named by the manifest check (missing/extra); ambiguous stems only here.
    return Plan(items, load, params, problems=pairing.duplicates, skipped=pairing.unsupported)


def layout_importer(layout: Layout) -> Importer:
    """The `datagen build <layout.name> --root PATH` importer of a layout (kind `benchmark`)."""

    def plan(o: RootOptions, check) -> Plan:
        return plan_layout(layout, o, check)

    return Importer(layout.name, "build", "benchmark", RootOptions, plan)
