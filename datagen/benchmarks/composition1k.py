"""Composition-1k and Interactive Composition-100 from the user's Deep Image Matting copy.

Pairing comes from the lists Adobe ships (`Test_set/test_fg_names.txt`, `test_bg_names.txt`):
the i-th foreground uses background lines 20i..20i+19, and composite k of foreground i is
`<fg stem>_<k>`. Interactive Composition-100 uses the first two of those twenty (k = 0, 1;
the thesis does not say which two, so we take the first two and record it), so its samples
are byte-identical to the matching Composition-1k samples, and it has no trimap.

Names: the DIM script saves composite k of foreground `<name>.png` as `<name>_<k>.png`; that
official file name is recorded in each sample's recipe (`name`), because ids are only
guaranteed unique, and tools that write files (`shards export --names official`,
`composites.sha256` with `--names official`) need the names a user's other copy carries.

Trimaps: the official one of each object when the copy has `Adobe-licensed images/trimaps/`
(one per object, valid for all its composites since the composite has the foreground's
size); otherwise generated from alpha with `datagen.compose.trimap.trimap_from_alpha` and the recipe says so.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datagen.benchmarks import dim_recipe
from datagen.imageio import check_same_size, checked_trimap
from datagen.importing import Importer, ImporterError, Plan

TEST_DIR = "Test_set"
OBJECTS_DIR = "Test_set/Adobe-licensed images"
BGS_PER_FG = 20
SHA_FILE = "composites.sha256"
NAMINGS = ("ids", "official")


@dataclass(frozen=True)
class CompositionOptions:
    root: Path
    backgrounds: Path | None = None   # required; None only so that a missing flag gets a clear error
    trimap_radius: int = 10
    names: str = "ids"                # what composites.sha256 lists: sample ids or official file names


@dataclass(frozen=True)
class Item:
    id: str
    name: str            # the file name the DIM script gives this composite
    fg: str
    alpha: str
    bg: str
    trimap: str | None   # official trimap file, or None (generate / no trimap)


@dataclass(frozen=True)
class MakeComposite:
    """Picklable sample maker: `with_trimap` False for icomp-100; `radius` for generated trimaps."""

    with_trimap: bool
    radius: int

    def __call__(self, item: Item) -> dict:
        fg = dim_recipe.read_foreground(item.fg)
        alpha = dim_recipe.read_first_channel(item.alpha)
        h, w = fg.shape[:2]
        reference = f"the foreground {Path(item.fg).name}"
        check_same_size(item.alpha, "alpha", alpha, reference, fg.shape)
        bg, resized = dim_recipe.prepare_background(dim_recipe.read_background(item.bg), w, h)
        recipe = {"recipe": "deep-image-matting", "name": item.name, "fg": Path(item.fg).name, "bg": Path(item.bg).name,
                  "bg_resized_to": list(resized) if resized else None, "crop": [0, 0, h, w],
                  "pillow": _pillow_version()}
        # fg is kept for the alpha*F colour metrics (metrics spec A.5).
        sample = {"id": item.id, "image": dim_recipe.blend_truncated(fg, bg, alpha), "alpha": alpha, "fg": fg}
        if self.with_trimap:
            if item.trimap is not None:
                trimap = checked_trimap(item.trimap, dim_recipe.read_first_channel(item.trimap, "trimap"), reference, fg.shape)
                recipe["trimap"] = "official"
            else:
                from datagen.compose.trimap import trimap_from_alpha  # OpenCV: loaded on the workers only

                trimap = trimap_from_alpha(alpha, self.radius)
                recipe["trimap"] = f"generated: unknown = dilate(alpha>0) - erode(alpha==255), disk radius {self.radius}"
            sample["trimap"] = trimap
        sample["recipe"] = recipe
        return sample


def _pillow_version() -> str:
    import PIL
    return PIL.__version__


def list_items(root: Path, backgrounds: Path, per_object: int) -> list[Item]:
    """Items in output order: object by object, background k = 0..per_object-1."""
    root = Path(root)
    fg_names, bg_names = dim_recipe.read_pairing(root / TEST_DIR, "test_fg_names.txt", "test_bg_names.txt", BGS_PER_FG)
    objects = root / OBJECTS_DIR
    trimaps = objects / "trimaps"
    items = []
    for i, name in enumerate(fg_names):
        stem = Path(name).stem
        trimap = trimaps / name
        for k in range(per_object):
            items.append(Item(f"{stem}_{k}", dim_recipe.composite_name(name, k), str(objects / "fg" / name), str(objects / "alpha" / name),
                              str(Path(backgrounds) / bg_names[BGS_PER_FG * i + k]),
                              str(trimap) if trimap.is_file() else None))
    return items


def write_sha256_list(out: Path, names: str = "ids") -> list[str]:
    """Write `composites.sha256` (pixel digests of every stored composite) and return a summary line.

    The digest is of the decoded pixels (HxWx3 uint8 RGB, row-major), not of a PNG file, so
    two users can compare copies whatever encoder wrote them. Each line names the composite by
    its sample id, or with `names="official"` by the file name the DIM script gives it, so a
    list can be diffed line by line with one computed over a folder of the script's outputs.
    """
    from datagen.files import write_atomic
    from datagen.shards import open_dataset

    ds = open_dataset(out)
    column = "the id" if names == "ids" else "the official file name"
    lines = [f"# sha256 of each composite's pixels: HxWx3 uint8 RGB, row-major bytes (numpy tobytes), then {column}"]
    overall = hashlib.sha256()
    for i, sample_id in enumerate(ds.ids):
        fields = ("image",) if names == "ids" else ("image", "recipe")
        sample = ds.read(i, fields=fields)
        digest = hashlib.sha256(np.ascontiguousarray(sample["image"], dtype=np.uint8).tobytes()).hexdigest()
        label = sample_id if names == "ids" else sample["recipe"]["name"]
        lines.append(f"{digest}  {label}")
        overall.update(f"{digest}  {label}\n".encode())
    write_atomic(out / SHA_FILE, ("\n".join(lines) + "\n").encode())
    return [f"{SHA_FILE}: {len(ds.ids)} composites, digest of the list {overall.hexdigest()[:16]}"]


def plan_test_set(name: str, o, check, per_object: int, trimap_radius: int | None) -> Plan:
    """The Plan of a DIM test-set build: the first `per_object` of each object's 20 backgrounds,
    with trimaps (official, else generated with `trimap_radius`) unless that is None."""
    if o.backgrounds is None:
        raise ImporterError(f"{name} needs --backgrounds: the folder holding the PASCAL VOC JPEGs named in test_bg_names.txt")
    if o.names not in NAMINGS:
        raise ImporterError(f"--names must be one of {', '.join(NAMINGS)}, not {o.names!r}")
    # Check before listing: listing reads the name lists this check validates.
    check("dim-test", ["test"], {"backgrounds": Path(o.backgrounds)})
    items = list_items(o.root, o.backgrounds, per_object)
    with_trimap = trimap_radius is not None
    has_official = all(item.trimap is not None for item in items)
    if with_trimap and not has_official and any(item.trimap is not None for item in items):
        missing = sorted({Path(item.fg).name for item in items if item.trimap is None})
        raise ImporterError(f"{o.root / OBJECTS_DIR / 'trimaps'} lacks trimaps for: {', '.join(missing)}")
    params = {"backgrounds_per_object": per_object,
              "pairing": "fg i uses test_bg_names lines 20i..20i+19" + ("" if per_object == BGS_PER_FG else f" (first {per_object} only)"),
              "trimap": ("official" if has_official else f"generated, radius {trimap_radius}") if with_trimap else None}
    return Plan(items, MakeComposite(with_trimap, trimap_radius or 0), params, inputs=[o.backgrounds],
                finish=functools.partial(write_sha256_list, names=o.names))


def plan(o: CompositionOptions, check) -> Plan:
    return plan_test_set("composition-1k", o, check, BGS_PER_FG, o.trimap_radius)


IMPORTER = Importer("composition-1k", "build", "benchmark", CompositionOptions, plan)
