"""DIM training set: 431 objects x 100 MS-COCO backgrounds, with the Composition-1k recipe.

Pairing comes from the lists in the user's copy (`Training_set/training_fg_names.txt`,
`training_bg_names.txt`): object i uses background lines 100i..100i+99; `--per-object K`
keeps the first K. Objects live in `Training_set/Adobe-licensed images/{fg,alpha}` or
`Training_set/Other/{fg,alpha}`. Background names are COCO 2014 (`COCO_train2014_<id>.jpg`);
a train2017 folder (`<id>.jpg`, same pixels) is accepted too.

With `--objects BANK` (an `objects` dataset with `fg_full` from refit, ids = object stems)
the stored `fg` is the re-estimated uint16 foreground, valid at every pixel, as in FBA
training; the composite then blends the 8-bit rounding of it (``datagen.compose.convert.to_uint8``) with
the same truncating recipe so that `image` and `fg` describe the same object.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datagen.benchmarks import dim_recipe
from datagen.compose.convert import to_uint8
from datagen.imageio import check_same_size
from datagen.importing import Importer, ImporterError, Plan

TRAIN_DIR = "Training_set"
GROUPS = ("Adobe-licensed images", "Other")
BGS_PER_FG = 100
COCO2014_PREFIX = "COCO_train2014_"


@dataclass(frozen=True)
class DimTrainOptions:
    root: Path
    backgrounds: Path | None = None   # required; None only so that a missing flag gets a clear error
    per_object: int | None = None     # default: all 100
    objects: Path | None = None       # refit bank whose fg_full replaces the shipped foregrounds


@dataclass(frozen=True)
class Item:
    id: str
    fg: str
    alpha: str
    bg: str
    bank: str | None = None   # objects dataset holding fg_full for this object
    bank_index: int = -1


@dataclass(frozen=True)
class MakeTrainingSample:
    def __call__(self, item: Item) -> dict:
        if item.bank is None:
            fg = dim_recipe.read_foreground(item.fg)
            alpha = dim_recipe.read_first_channel(item.alpha)
            stored_fg, blend_fg = fg, fg
        else:
            from datagen.shards import open_dataset
            obj = open_dataset(item.bank).read(item.bank_index, fields=("alpha", "fg_full"))
            alpha = obj["alpha"]
            alpha = to_uint8(alpha)
            stored_fg = obj["fg_full"]
            blend_fg = to_uint8(stored_fg)
        h, w = alpha.shape
        check_same_size(item.alpha, "alpha", alpha, f"the foreground {Path(item.fg).name}", blend_fg.shape)
        bg, resized = dim_recipe.prepare_background(dim_recipe.read_background(item.bg), w, h)
        return {"id": item.id, "image": dim_recipe.blend_truncated(blend_fg, bg, alpha), "alpha": alpha,
                "fg": stored_fg, "bg": bg,
                "recipe": {"recipe": "deep-image-matting", "fg": Path(item.fg).name, "bg": Path(item.bg).name,
                           "bg_resized_to": list(resized) if resized else None, "crop": [0, 0, h, w],
                           "fg_source": "refit fg_full" if item.bank else "as shipped"}}


def _find(root: Path, name: str, sub: str) -> Path:
    for group in GROUPS:
        path = root / TRAIN_DIR / group / sub / name
        if path.is_file():
            return path
    return root / TRAIN_DIR / GROUPS[0] / sub / name  # missing: reported by the manifest check


def _background(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file() and name.startswith(COCO2014_PREFIX):
        alias = folder / name[len(COCO2014_PREFIX):]
        if alias.is_file():
            return alias
    return path


def list_items(root: Path, backgrounds: Path, per_object: int, bank: Path | None = None) -> list[Item]:
    root = Path(root)
    fg_names, bg_names = dim_recipe.read_pairing(
        root / TRAIN_DIR, "training_fg_names.txt", "training_bg_names.txt", BGS_PER_FG
    )
    index: dict[str, int] = {}
    if bank is not None:
        from datagen.shards import open_dataset
        ds = open_dataset(bank)
        if ds.kind != "objects" or "fg_full" not in ds.fields:
            raise ImporterError(f"--objects {bank}: need an objects dataset with fg_full (run refit first)")
        index = {sample_id: i for i, sample_id in enumerate(ds.ids)}
        absent = [Path(n).stem for n in fg_names if Path(n).stem not in index]
        if absent:
            raise ImporterError(f"--objects {bank} lacks {len(absent)} objects: {', '.join(absent[:20])}"
                             + (" ..." if len(absent) > 20 else ""))
    items = []
    for i, name in enumerate(fg_names):
        stem = Path(name).stem
        fg, alpha = _find(root, name, "fg"), _find(root, name, "alpha")
        for k in range(per_object):
            items.append(Item(f"{stem}_{k}", str(fg), str(alpha), str(_background(Path(backgrounds), bg_names[BGS_PER_FG * i + k])),
                              str(bank) if bank else None, index.get(stem, -1)))
    return items


def plan(o: DimTrainOptions, check) -> Plan:
    if o.backgrounds is None:
        raise ImporterError("dim-train needs --backgrounds: the folder holding the MS-COCO train2014 (or train2017) JPEGs")
    per_object = o.per_object or BGS_PER_FG
    if per_object > BGS_PER_FG:
        raise ImporterError(f"--per-object is at most {BGS_PER_FG}")
    check("dim-train", ["train"], {"backgrounds": Path(o.backgrounds)})
    items = list_items(o.root, o.backgrounds, per_object, o.objects)
    params = {"backgrounds_per_object": per_object, "pairing": "fg i uses training_bg_names lines 100i..100i+99",
              "objects": str(o.objects) if o.objects else None}
    return Plan(items, MakeTrainingSample(), params, inputs=[o.backgrounds, *([o.objects] if o.objects else [])])


IMPORTER = Importer("dim-train", "build", "matting", DimTrainOptions, plan)
