"""`datagen import images`: annotated images (image + mask or alpha [+ trimap]) as a benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datagen.imageio import check_not_empty, check_same_size, checked_trimap, read_alpha, read_image
from datagen.importing import Importer, ImporterError, Plan
from datagen.sources.pairing import Folder, pair_by_stem


@dataclass(frozen=True)
class ImagesOptions:
    images: Path
    masks: Path | None = None
    alphas: Path | None = None
    trimaps: Path | None = None
    threshold: int = 0


@dataclass(frozen=True)
class AnnotatedImage:
    """Make a `benchmark` sample from an image and a mask (nonzero > threshold) or an alpha;
    an annotation with no object pixel is refused (it cannot be clicked on or scored)."""

    annotation: str  # "mask" or "alpha"
    threshold: int = 0

    def __call__(self, item: tuple[str, ...]) -> dict:
        stem, image_path, annotation_path, *trimap_path = item
        image = read_image(image_path)
        reference = f"the image {Path(image_path).name}"
        annotation = read_alpha(annotation_path)
        check_same_size(annotation_path, self.annotation, annotation, reference, image.shape)
        sample = {"id": stem, "image": image}
        if self.annotation == "mask":
            mask = (annotation > self.threshold).astype(np.uint8)
            check_not_empty(annotation_path, f"mask (values above --threshold {self.threshold})", mask)
            sample["mask"] = mask
        else:
            sample["alpha"] = annotation
            check_not_empty(annotation_path, "alpha", annotation)
        if trimap_path:
            sample["trimap"] = checked_trimap(trimap_path[0], read_alpha(trimap_path[0]), reference, image.shape)
        return sample


def plan(o: ImagesOptions, check) -> Plan:
    if (o.masks is None) == (o.alphas is None):
        raise ImporterError("give exactly one of --masks or --alphas")
    annotation, annotations = ("mask", o.masks) if o.masks is not None else ("alpha", o.alphas)
    assert annotations is not None  # exactly one of the two is given
    folders = [Folder(o.images, "image"), Folder(annotations, annotation)]
    folders += [Folder(o.trimaps, "trimap")] if o.trimaps else []
    pairing = pair_by_stem(*folders)
    params = {"annotation": annotation, "threshold": o.threshold, "trimaps": o.trimaps is not None}
    return Plan(pairing.items, AnnotatedImage(annotation, o.threshold), params,
                inputs=[folder.path for folder in folders], problems=pairing.problems, skipped=pairing.unsupported)


IMPORTER = Importer("images", "import", "benchmark", ImagesOptions, plan)
