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

import numpy as np

from datagen.imageio import ImageError, read_alpha, read_image

TRIMAP_VALUES = (0, 128, 255)


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
               trimaps: tuple[int, ...] = (1, 2, 3)) -> list[Item]:
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


def read_trimap(path: str) -> np.ndarray:
    """HxW uint8 trimap; grey-as-colour files are accepted, other values are an error."""
    trimap = read_alpha(path)
    if trimap.dtype != np.uint8 or not np.isin(trimap, TRIMAP_VALUES).all():
        raise ImageError(path, f"trimap values must be {TRIMAP_VALUES}, found {np.unique(trimap)[:8].tolist()}")
    return trimap


def load(item: Item) -> dict:
    image = read_image(item.image)
    sample = {"id": item.id, "image": image, "trimap": read_trimap(item.trimap),
              "recipe": {"source": "alphamatting", "image": Path(item.image).name,
                         "trimap": f"{Path(item.trimap).parent.name}/{Path(item.trimap).name}"}}
    if item.alpha is not None:
        sample["alpha"] = read_alpha(item.alpha)
    for name in ("trimap", "alpha"):
        if name in sample and sample[name].shape != image.shape[:2]:
            path = item.trimap if name == "trimap" else item.alpha
            raise ImageError(path, f"{name} is {sample[name].shape[::-1]} but the image is {image.shape[1::-1]}")
    return sample
