"""Any COCO-format annotation file (polygons, uncompressed or compressed RLE) via pycocotools.

One sample per non-crowd annotation, id `<image stem>_<annotation id>`. Crowd annotations
(`iscrowd: 1`) mark groups the annotators did not separate; they never become samples, and
their pixels are set in the `ignore` field of every other instance of the same image (except
where that instance's own mask is), the way COCO's evaluation ignores crowd regions.
`min_area` filters on the annotation's `area` field.

Items carry their segmentations, so workers never reload the (possibly huge) JSON.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datagen.imageio import check_same_size, read_image
from datagen.importing import Importer, ImporterError, InstanceOptions, Plan


@dataclass(frozen=True)
class CocoOptions(InstanceOptions):
    """`root` is the image folder."""

    annotations: Path | None = None  # required; None only so that a missing flag gets a clear error


@dataclass(frozen=True)
class Annotation:
    id: str
    image: str
    height: int
    width: int
    annotation_id: int
    category: int
    segmentation: str            # JSON text of the annotation's segmentation
    crowd: tuple[str, ...] = ()  # JSON texts of the crowd segmentations of the same image


def list_items(annotations: Path, images: Path, min_area: int = 1) -> tuple[list[Annotation], dict]:
    """Items in image-id then annotation-id order, and counts for provenance."""
    from pycocotools.coco import COCO

    if not Path(annotations).is_file():
        raise FileNotFoundError(f"{annotations}: no such annotation file")
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress lines
        try:
            coco = COCO(str(annotations))
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"{annotations}: not a COCO annotation file ({type(exc).__name__}: {exc})") from None
    items, crowd_count, small = [], 0, 0
    for image_id in sorted(coco.imgs):
        info = coco.imgs[image_id]
        anns = sorted(coco.imgToAnns.get(image_id, []), key=lambda a: a["id"])
        crowd = tuple(json.dumps(a["segmentation"], sort_keys=True) for a in anns if a.get("iscrowd"))
        crowd_count += len(crowd)
        for a in anns:
            if a.get("iscrowd"):
                continue
            if a.get("area", 0) < min_area:
                small += 1
                continue
            items.append(Annotation(f"{Path(info['file_name']).stem}_{a['id']}", str(Path(images) / info["file_name"]),
                                    int(info["height"]), int(info["width"]), int(a["id"]), int(a["category_id"]),
                                    json.dumps(a["segmentation"], sort_keys=True), crowd))
    return items, {"images": len(coco.imgs), "crowd_annotations": crowd_count, "below_min_area": small}


def decode(segmentation, height: int, width: int) -> np.ndarray:
    """HxW uint8 {0,1} mask of a polygon list, uncompressed RLE or compressed RLE."""
    from pycocotools import mask as mask_utils

    with warnings.catch_warnings():  # pycocotools 2.0.x trips numpy 2's __array__(copy=) deprecation
        warnings.simplefilter("ignore", DeprecationWarning)
        if isinstance(segmentation, list):  # polygons: one RLE per polygon, merged
            rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
        elif isinstance(segmentation.get("counts"), list):  # uncompressed RLE
            rle = mask_utils.frPyObjects(segmentation, height, width)
        else:
            rle = segmentation
        return np.ascontiguousarray(mask_utils.decode(rle).astype(np.uint8))


def load(item: Annotation) -> dict:
    image = read_image(item.image)
    check_same_size(item.image, "image", image, "the annotated size", (item.height, item.width))
    mask = decode(json.loads(item.segmentation), item.height, item.width)
    if not mask.any():
        raise ValueError(f"{item.image}: annotation {item.annotation_id} decodes to an empty mask")
    ignore = np.zeros_like(mask)
    for crowd in item.crowd:
        ignore |= decode(json.loads(crowd), item.height, item.width)
    ignore[mask == 1] = 0
    return {"id": item.id, "image": image, "mask": mask, "ignore": ignore,
            "recipe": {"source": "coco", "image": Path(item.image).name, "annotation_id": item.annotation_id,
                       "category_id": item.category, "crowd_regions": len(item.crowd)}}


def plan(o: CocoOptions, check) -> Plan:
    """No manifest check: any COCO-format file is accepted, and its image list is checked here."""
    if o.annotations is None:
        raise ImporterError("coco needs --annotations FILE (a COCO-format JSON, e.g. annotations/instances_val2017.json)")
    try:
        items, summary = list_items(o.annotations, o.root, o.min_area)
    except (FileNotFoundError, ValueError) as error:
        raise ImporterError(str(error)) from None
    absent = sorted({item.image for item in items if not Path(item.image).is_file()})
    if absent:
        raise ImporterError(f"{len(absent)} images named in {o.annotations} are missing under {o.root}:\n"
                            + "\n".join(f"  missing: {path}" for path in absent))
    return Plan(items, load, {"min_area": o.min_area, **summary}, inputs=[o.annotations])


IMPORTER = Importer("coco", "build", "benchmark", CocoOptions, plan)
