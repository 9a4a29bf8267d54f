"""alphamatting.com benchmark archives (Rhemann et al. 2009), as extracted from the site's zips.

Training: `input_training_{res}/GTnn.png`, `gt_training_{res}/GTnn.png` (alpha stored as RGB
with R=G=B; one channel is taken), `trimap_training_{res}/Trimap{1,2}/GTnn.png` (palette
PNGs whose colours are grey 0/128/255). Test: `input_{res}/name.png` and
`trimap_{res}/Trimap{1,2,3}/name.png`, no ground truth.

One sample per (image, trimap), id `<stem>_trimap<k>`, because the benchmark scores every
trimap separately and averages; a consumer that wants one trimap filters on the id suffix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datagen.imageio import check_same_size, checked_trimap, read_alpha, read_image
from datagen.importing import Importer, ImporterError, Plan

SPLITS = ("training", "test")
TRIMAP_SETS = (1, 2, 3)           # the site's Trimap1..Trimap3 folders (training ships 1 and 2)


@dataclass(frozen=True)
class AlphamattingOptions:
    root: Path
    split: str | None = None          # default training
    resolution: str = "lowres"
    trimaps: tuple[int, ...] = TRIMAP_SETS


@dataclass(frozen=True)
class Item:
    id: str
    image: str
    alpha: str | None
    trimap: str


def folders(split: str, resolution: str) -> tuple[str, str | None, str]:
    """(input folder, ground-truth folder or None, trimap folder) relative to the root."""
    if split == "training":
        return (f"input_training_{resolution}", f"gt_training_{resolution}", f"trimap_training_{resolution}")
    if split == "test":
        return (f"input_{resolution}", None, f"trimap_{resolution}")
    raise ValueError(f"unknown alphamatting split {split!r} (training or test)")


def list_items(root: Path, split: str = "training", resolution: str = "lowres",
               trimaps: tuple[int, ...] = TRIMAP_SETS) -> list[Item]:
    """Every image x every requested trimap that exists, sorted by image then trimap."""
    root = Path(root)
    inputs, gt, trimap_dir = folders(split, resolution)
    items = []
    for image in sorted((root / inputs).glob("*.png")):
        for k in trimaps:
            trimap = root / trimap_dir / f"Trimap{k}" / image.name
            if trimap.is_file():
                alpha = str(root / gt / image.name) if gt else None
                items.append(Item(f"{image.stem}_trimap{k}", str(image), alpha, str(trimap)))
    return items


def load(item: Item) -> dict:
    image = read_image(item.image)
    reference = f"the image {Path(item.image).name}"
    sample = {"id": item.id, "image": image, "trimap": checked_trimap(item.trimap, read_alpha(item.trimap), reference, image.shape),
              "recipe": {"source": "alphamatting", "image": Path(item.image).name,
                         "trimap": f"{Path(item.trimap).parent.name}/{Path(item.trimap).name}"}}
    if item.alpha is not None:
        alpha = read_alpha(item.alpha)
        check_same_size(item.alpha, "alpha", alpha, reference, image.shape)
        sample["alpha"] = alpha
    return sample


def plan(o: AlphamattingOptions, check) -> Plan:
    split = o.split or "training"
    if split not in SPLITS:
        raise ImporterError(f"alphamatting --split must be training or test, not {split!r}")
    check("alphamatting", [f"{split}-{o.resolution}"])
    items = list_items(o.root, split, o.resolution, o.trimaps)
    return Plan(items, load, {"split": split, "resolution": o.resolution, "trimaps": list(o.trimaps)})


IMPORTER = Importer("alphamatting", "build", "benchmark", AlphamattingOptions, plan)
