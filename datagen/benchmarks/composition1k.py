"""Composition-1k and Interactive Composition-100 from the user's Deep Image Matting copy.

Pairing comes from the lists Adobe ships (`Test_set/test_fg_names.txt`, `test_bg_names.txt`):
the i-th foreground uses background lines 20i..20i+19, and composite k of foreground i is
`<fg stem>_<k>`. Interactive Composition-100 uses the first two of those twenty (k = 0, 1;
the thesis does not say which two, so we take the first two and record it), so its samples
are byte-identical to the matching Composition-1k samples, and it has no trimap.

Trimaps: the official one of each object when the copy has `Adobe-licensed images/trimaps/`
(one per object, valid for all its composites since the composite has the foreground's
size); otherwise generated from alpha with `datagen.compose.trimap.trimap_from_alpha` and the recipe says so.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datagen.benchmarks import dim_recipe
from datagen.compose.trimap import trimap_from_alpha
from datagen.imageio import ImageError

TEST_DIR = "Test_set"
OBJECTS_DIR = "Test_set/Adobe-licensed images"
BGS_PER_FG = 20
ICOMP_BGS = 2
SHA_FILE = "composites.sha256"


@dataclass(frozen=True)
class Item:
    id: str
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
        if alpha.shape != (h, w):
            raise ImageError(item.alpha, f"alpha is {alpha.shape[1]}x{alpha.shape[0]}, foreground {Path(item.fg).name} is {w}x{h}")
        bg, resized = dim_recipe.prepare_background(dim_recipe.read_background(item.bg), w, h)
        recipe = {"recipe": "deep-image-matting", "fg": Path(item.fg).name, "bg": Path(item.bg).name,
                  "bg_resized_to": list(resized) if resized else None, "crop": [0, 0, h, w],
                  "pillow": _pillow_version()}
        # fg is kept for the alpha*F colour metrics (metrics spec A.5).
        sample = {"id": item.id, "image": dim_recipe.blend(fg, bg, alpha), "alpha": alpha, "fg": fg}
        if self.with_trimap:
            if item.trimap is not None:
                trimap = dim_recipe.read_first_channel(item.trimap, "trimap")
                if trimap.shape != (h, w) or not np.isin(trimap, (0, 128, 255)).all():
                    raise ImageError(item.trimap, f"trimap must be {w}x{h} with values 0/128/255")
                recipe["trimap"] = "official"
            else:
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
            items.append(Item(f"{stem}_{k}", str(objects / "fg" / name), str(objects / "alpha" / name),
                              str(Path(backgrounds) / bg_names[BGS_PER_FG * i + k]),
                              str(trimap) if trimap.is_file() else None))
    return items


def write_sha256_list(out: Path) -> list[str]:
    """Write `composites.sha256` (pixel digests of every stored composite) and return a summary line.

    The digest is of the decoded pixels (HxWx3 uint8 RGB, row-major), not of a PNG file, so
    two users can compare copies whatever encoder wrote them.
    """
    from datagen.imageio import write_atomic
    from datagen.shards import open_dataset

    ds = open_dataset(out)
    lines = ["# sha256 of each composite's pixels: HxWx3 uint8 RGB, row-major bytes (numpy tobytes), then the id"]
    overall = hashlib.sha256()
    for i, sample_id in enumerate(ds.ids):
        image = ds.read(i, fields=("image",))["image"]
        digest = hashlib.sha256(np.ascontiguousarray(image, dtype=np.uint8).tobytes()).hexdigest()
        lines.append(f"{digest}  {sample_id}")
        overall.update(f"{digest}  {sample_id}\n".encode())
    write_atomic(out / SHA_FILE, ("\n".join(lines) + "\n").encode())
    return [f"{SHA_FILE}: {len(ds.ids)} composites, digest of the list {overall.hexdigest()[:16]}"]


def plan(name: str, o, check):
    """The Plan for `composition-1k` or `icomp-100` (see datagen.benchmarks.builders)."""
    from datagen.benchmarks.builders import BuildError, Plan

    if o.backgrounds is None:
        raise BuildError(f"{name} needs --backgrounds: the folder holding the PASCAL VOC JPEGs named in test_bg_names.txt")
    extra = {"backgrounds": Path(o.backgrounds)}
    # Check before listing: listing reads the name lists this check validates.
    check("dim-test", ["test"], extra)
    icomp = name == "icomp-100"
    items = list_items(o.root, o.backgrounds, ICOMP_BGS if icomp else BGS_PER_FG)
    has_official = all(item.trimap is not None for item in items)
    if not icomp and not has_official and any(item.trimap is not None for item in items):
        missing = sorted({Path(item.fg).name for item in items if item.trimap is None})
        raise BuildError(f"{o.root / OBJECTS_DIR / 'trimaps'} lacks trimaps for: {', '.join(missing)}")
    params = {"backgrounds_per_object": ICOMP_BGS if icomp else BGS_PER_FG,
              "pairing": "fg i uses test_bg_names lines 20i..20i+19" + (" (first 2 only)" if icomp else ""),
              "trimap": None if icomp else ("official" if has_official else f"generated, radius {o.trimap_radius}")}
    return Plan("benchmark", items, MakeComposite(not icomp, o.trimap_radius), params,
                extra_roots=extra, finish=write_sha256_list)
