"""SBD (Hariharan et al. 2011) instance masks from MATLAB `.mat` files, and the struct reader.

SBD's `inst/<name>.mat` holds `GTinst`, a 1x1 struct whose `Segmentation` is an instance
label map (0 = background, 1..N = instances) and `Categories` the class of each instance.
BSDS500's `groundTruth` is the same MATLAB style one level deeper (a 1xK cell of structs),
so `read_struct_field` handles both; the BSDS files in ../shared/data test it.

One sample per instance, id `<name>_<instance>`. Instances smaller than `min_area` pixels
are dropped; the default 1 keeps every non-empty instance, as the RITM SBD evaluation
does, so counts are comparable with published ones. SBD labels every pixel: no `ignore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datagen.imageio import ImageError, check_same_size, read_image
from datagen.importing import Importer, ImporterError, InstanceOptions, Plan

SPLITS = ("train", "val")


@dataclass(frozen=True)
class SbdOptions(InstanceOptions):
    split: str | None = None    # default val


@dataclass(frozen=True)
class Instance:
    id: str
    image: str
    mat: str
    instance: int
    category: int


def read_struct_field(path: str | Path, variable: str, field: str, index: int = 0) -> np.ndarray:
    """`variable.field` of a MATLAB file; for a cell array of structs, of cell `index`."""
    import scipy.io

    try:
        data = scipy.io.loadmat(str(path))
    except Exception as exc:  # noqa: BLE001 - any reader failure names the file
        raise ImageError(path, f"not a readable MATLAB file ({type(exc).__name__}: {exc})") from None
    if variable not in data:
        raise ImageError(path, f"has no variable {variable!r}")
    value = data[variable]
    if value.dtype == object:  # a cell array: pick the cell
        cells = value.ravel()
        if index >= len(cells):
            raise ImageError(path, f"{variable} has {len(cells)} cells, asked for {index}")
        value = cells[index]
    if value.dtype.names is None or field not in value.dtype.names:
        raise ImageError(path, f"{variable} is not a struct with a field {field!r}")
    out = value.ravel()[0][field]
    while isinstance(out, np.ndarray) and out.dtype == object and out.size == 1:
        out = out.ravel()[0]
    return np.asarray(out)


def label_areas(labels: np.ndarray) -> dict[int, int]:
    """Pixel count of every non-zero label."""
    values, counts = np.unique(labels, return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts, strict=True) if v != 0}


def list_items(root: Path, split: str, min_area: int = 1) -> tuple[list[Instance], int]:
    """Instances of the names in `<split>.txt` with at least `min_area` pixels, and how many were dropped."""
    from datagen.datasets.layouts import read_namelist

    root = Path(root)
    names, _ = read_namelist(root / f"{split}.txt")
    items, dropped = [], 0
    for name in names:
        mat = root / "inst" / f"{name}.mat"
        labels = read_struct_field(mat, "GTinst", "Segmentation")
        categories = read_struct_field(mat, "GTinst", "Categories").ravel()
        for instance, area in label_areas(labels).items():
            if area < min_area:
                dropped += 1
                continue
            category = int(categories[instance - 1]) if instance <= len(categories) else 0
            items.append(Instance(f"{name}_{instance}", str(root / "img" / f"{name}.jpg"), str(mat), instance, category))
    return items, dropped


def load(item: Instance) -> dict:
    image = read_image(item.image)
    labels = read_struct_field(item.mat, "GTinst", "Segmentation")
    check_same_size(item.mat, "label map", labels, f"the image {Path(item.image).name}", image.shape)
    return {"id": item.id, "image": image, "mask": (labels == item.instance).astype(np.uint8),
            "recipe": {"source": "sbd", "image": Path(item.image).name, "mat": Path(item.mat).name,
                       "instance": item.instance, "category": item.category}}


def plan(o: SbdOptions, check) -> Plan:
    split = o.split or "val"
    if split not in SPLITS:
        raise ImporterError(f"sbd --split must be train or val, not {split!r}")
    check("sbd", [split])
    items, skipped = list_items(o.root, split, o.min_area)
    return Plan(items, load, {"split": split, "min_area": o.min_area, "instances_below_min_area": skipped})


IMPORTER = Importer("sbd", "build", "benchmark", SbdOptions, plan)
