"""What each dataset kind holds: field names, allowed dtypes and channel counts.

The schema is checked on write so that a reader (a training loop, an evaluator, a user's own
script) can rely on it without defensive code: an `objects` sample always has `fg` HxWx3 and
`alpha` HxW of the same size, masks are {0,1}, trimaps {0,128,255}.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SCHEMA_VERSION = 2  # 2: per-tile, recipe and id checksums checked on every read (1: none)
FORMAT_NAME = "matting-datagen-shards"


@dataclass(frozen=True)
class FieldSpec:
    """One field of a sample: an image-like array or, for `recipe`, a JSON document."""

    name: str
    dtypes: tuple[str, ...]  # allowed numpy dtypes; empty for JSON fields
    channels: int  # 1 -> HxW, 3 -> HxWx3, 0 -> JSON
    required: bool
    values: tuple[int, ...] = ()  # allowed values for label maps; empty = any
    doc: str = ""

    @property
    def is_json(self) -> bool:
        return self.channels == 0


_U8 = ("uint8",)
_U8_16 = ("uint8", "uint16")


def _rgb(name: str, required: bool, dtypes=_U8_16, doc: str = "") -> FieldSpec:
    return FieldSpec(name, dtypes, 3, required, doc=doc)


def _plane(name: str, required: bool, dtypes=_U8_16, values: tuple[int, ...] = (), doc: str = "") -> FieldSpec:
    return FieldSpec(name, dtypes, 1, required, values, doc)


_RECIPE = FieldSpec("recipe", (), 0, False, doc="JSON: how the sample was made (ids, crop, transforms, seeds)")
_MASK_DOC = "binary mask, 1 = object"
_TRIMAP_DOC = "0 background, 128 unknown, 255 foreground"

KINDS: dict[str, tuple[FieldSpec, ...]] = {
    "objects": (
        _rgb("fg", True, doc="foreground colours as shipped (valid where alpha > 0)"),
        _plane("alpha", True, doc="matte at source precision"),
        _rgb("fg_full", False, ("uint16",), "foreground re-estimated at every pixel, 0..65535"),
        _rgb("bg_full", False, ("uint16",), "background re-estimated at every pixel, 0..65535"),
        _RECIPE,
    ),
    "backgrounds": (_rgb("image", True, doc="RGB photograph to composite objects onto"), _RECIPE),
    "seg": (
        _rgb("image", True, _U8, doc="RGB composite: the primary object (and a distractor, maybe) over a background"),
        _plane("mask", True, _U8, (0, 1), "primary object's alpha > 0.5"),
        _plane("alpha", True, doc="primary object's soft alpha"),
        FieldSpec("recipe", (), 0, True, doc=_RECIPE.doc),
    ),
    "matting": (
        _rgb("image", True, _U8, doc="RGB composite alpha * fg + (1 - alpha) * bg"),
        _plane("alpha", True, doc="ground-truth matte of the composited object"),
        _rgb("fg", True, doc="foreground colours the image was composited from"),
        _rgb("bg", True, doc="background the image was composited onto"),
        _plane("trimap", False, _U8, (0, 128, 255), _TRIMAP_DOC),
        _RECIPE,
    ),
    "benchmark": (
        _rgb("image", True, doc="RGB input image as the benchmark ships or composes it"),
        _plane("mask", False, _U8, (0, 1), _MASK_DOC),
        _plane("alpha", False, doc="ground-truth matte at source precision"),
        _plane("trimap", False, _U8, (0, 128, 255), _TRIMAP_DOC + " (the benchmark's own)"),
        _plane("ignore", False, _U8, (0, 1), "1 = not scored (e.g. GrabCut's boundary band)"),
        _rgb("fg", False, doc="ground-truth foreground colours, for the alpha*F metrics"),
        _RECIPE,
    ),
}


def kind_fields(kind: str) -> dict[str, FieldSpec]:
    """The fields of a kind by name; raises a clear error for an unknown kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown dataset kind {kind!r}; known kinds: {', '.join(KINDS)}")
    return {spec.name: spec for spec in KINDS[kind]}


def field_meaning(kind: str, spec: dict) -> str:
    """What a manifest's field entry ``spec`` means: its own ``doc``, or, for datasets written
    before every field had one, the schema's (the same for every dataset of the kind)."""
    if spec.get("doc"):
        return spec["doc"]
    known = kind_fields(kind).get(spec["name"]) if kind in KINDS else None
    return known.doc if known is not None else ""


def validate_sample(kind: str, sample: dict) -> None:
    """Raise ValueError naming the problem if `sample` does not fit the kind's schema."""
    specs = kind_fields(kind)
    sample_id = sample.get("id")
    if not isinstance(sample_id, str) or not sample_id:
        raise ValueError(f"sample id must be a non-empty string, got {sample_id!r}")
    unknown = set(sample) - set(specs) - {"id"}
    if unknown:
        raise ValueError(f"{sample_id}: fields {sorted(unknown)} are not part of kind {kind!r} ({', '.join(specs)})")
    missing = [name for name, spec in specs.items() if spec.required and name not in sample]
    if missing:
        raise ValueError(f"{sample_id}: missing required fields {missing}")
    if kind == "benchmark" and not {"mask", "alpha", "trimap"} & set(sample):
        raise ValueError(f"{sample_id}: a benchmark sample needs a mask, an alpha or (test sets without ground truth) a trimap")
    size = None
    for name, value in sample.items():
        if name == "id" or specs[name].is_json:
            if name != "id" and not isinstance(value, dict):
                raise ValueError(f"{sample_id}: {name} must be a dict, got {type(value).__name__}")
            continue
        spec = specs[name]
        if not isinstance(value, np.ndarray):
            raise ValueError(f"{sample_id}: {name} must be a numpy array, got {type(value).__name__}")
        if value.dtype.name not in spec.dtypes:
            raise ValueError(f"{sample_id}: {name} has dtype {value.dtype}, expected one of {spec.dtypes}")
        expected_ndim = 2 if spec.channels == 1 else 3
        if value.ndim != expected_ndim or (spec.channels == 3 and value.shape[2] != 3):
            want = "HxW" if spec.channels == 1 else "HxWx3"
            raise ValueError(f"{sample_id}: {name} has shape {value.shape}, expected {want}")
        if value.shape[0] == 0 or value.shape[1] == 0:
            raise ValueError(f"{sample_id}: {name} is empty ({value.shape})")
        if size is None:
            size = value.shape[:2]
        elif value.shape[:2] != size:
            raise ValueError(f"{sample_id}: {name} is {value.shape[:2]} but other fields are {size}")
        if spec.values and not _holds_only(value, spec.values):
            raise ValueError(f"{sample_id}: {name} holds values outside {spec.values}")


def _holds_only(array: np.ndarray, values: tuple[int, ...]) -> bool:
    """Whether every element of a label map is one of `values`. A set 0..k (masks: 0, 1) is one
    max() (~10x faster than the table lookup, which matters at ~100 samples/s)."""
    if values == tuple(range(len(values))):
        return int(array.max()) < len(values)
    return bool(_allowed_values(values)[array].all())


@lru_cache(maxsize=None)
def _allowed_values(values: tuple[int, ...]) -> np.ndarray:
    """A uint8 lookup table of allowed label values (indexing is ~10x faster than np.isin)."""
    table = np.zeros(256, dtype=bool)
    table[list(values)] = True
    return table
