"""Where the objects to refit come from: an `objects` dataset, or a folder of foregrounds with a
folder of alphas. A reference is small and picklable, so it travels to dask workers and is
read there; read errors name the files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ObjectRef:
    """Where one object comes from: a dataset index, or an fg file with an alpha file (or none: RGBA)."""

    id: str
    dataset: str | None = None
    index: int = -1
    fg_path: str | None = None
    alpha_path: str | None = None

    def __str__(self) -> str:
        if self.dataset is not None:
            return f"{self.id} ({self.dataset}#{self.index})"
        return f"{self.id} ({self.fg_path})"


def read_object(ref: ObjectRef) -> tuple[np.ndarray, np.ndarray, dict, list[str]]:
    """(fg, alpha, source recipe, notes) of one object; errors name the file (a size mismatch is
    `datagen.imageio.check_same_size`'s error, as every importer reports it)."""
    from datagen import imageio

    notes: list[str] = []
    if ref.dataset is not None:
        from datagen.shards import open_dataset

        sample = open_dataset(ref.dataset).read(ref.index, fields=("fg", "alpha", "recipe"))
        fg, alpha, recipe = sample["fg"], sample["alpha"], sample.get("recipe") or {}
        where, reference = f"{ref.dataset} sample {ref.id}", "its fg"
    elif ref.fg_path is None:
        raise ValueError(f"object {ref.id}: neither a dataset sample nor a foreground file")
    else:
        if ref.alpha_path is None:
            fg, alpha = imageio.read_rgba(ref.fg_path)
            notes.append(f"no alpha file: used the alpha channel of {ref.fg_path}")
        else:
            fg, alpha = imageio.read_image(ref.fg_path), imageio.read_alpha(ref.alpha_path)
        recipe = {}
        where, reference = ref.alpha_path or ref.fg_path, f"the foreground {ref.fg_path}"
    imageio.check_same_size(where, "alpha", alpha, reference, fg.shape)
    return fg, alpha, recipe, notes


def dataset_refs(src: str | os.PathLike) -> list[ObjectRef]:
    """One reference per object of an `objects` dataset."""
    from datagen.shards import open_dataset

    dataset = open_dataset(src)
    if dataset.kind != "objects":
        raise ValueError(f"{src} is a {dataset.kind!r} dataset; refit needs an 'objects' dataset")
    return [ObjectRef(sample_id, dataset=str(src), index=i) for i, sample_id in enumerate(dataset.ids)]


def folder_refs(fg_dir: str | os.PathLike, alpha_dir: str | os.PathLike | None) -> list[ObjectRef]:
    """Pair foregrounds and alphas by file stem (`datagen.sources.pairing`, sorted by stem); an fg
    without an alpha file relies on its own alpha channel. A stem held by two files of a folder
    is an error naming them: refit must not pick one by file order."""
    from datagen.importing import ImporterError
    from datagen.sources.pairing import Folder, pair_by_stem

    folders = [Folder(Path(fg_dir), "foreground")] + ([Folder(Path(alpha_dir), "alpha", required=False)] if alpha_dir else [])
    pairing = pair_by_stem(*folders)
    if pairing.duplicates:
        raise ImporterError("\n".join(map(str, pairing.duplicates)))
    return [ObjectRef(stem, fg_path=fg, alpha_path=alpha[0] if alpha else None) for stem, fg, *alpha in pairing.items]
