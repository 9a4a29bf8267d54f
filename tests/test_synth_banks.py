"""Tiny synthetic banks for the synth tests (imported by the other test_synth_* files).

Objects are opaque-centred soft discs of one distinct colour each, so every pixel of a
composite can be traced back to the layer it came from: the independent truth the
segmentation tests check against.
"""

from __future__ import annotations

import numpy as np
from datagen.runner import Execution
from datagen.shards.build import write_dataset
from datagen.shards import open_dataset

COLOURS = [(250, 20, 20), (20, 250, 20), (20, 20, 250), (250, 250, 20), (20, 250, 250), (250, 20, 250)]


def object_sample(index: int) -> dict:
    h, w = 40 + 7 * index, 70 - 5 * index
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot((yy - (h - 1) / 2) / (h / 2 - 3), (xx - (w - 1) / 2) / (w / 2 - 3))
    alpha = np.clip((1.0 - r) * 4 * 255, 0, 255).round().astype(np.uint8)  # opaque core, soft rim
    colour = np.array(COLOURS[index], np.uint8)
    fg = np.where(alpha[..., None] > 0, colour, 0).astype(np.uint8)
    fg_full = np.broadcast_to(colour.astype(np.uint16) * 257, (h, w, 3)).copy()
    return {"id": f"obj{index}", "fg": fg, "alpha": alpha, "fg_full": fg_full}


def background_sample(index: int) -> dict:
    h, w = [(90, 120), (130, 100), (100, 100), (70, 160)][index]
    rng = np.random.default_rng(index)
    grey = rng.integers(90, 160, (h, w, 1))
    image = np.repeat(grey, 3, axis=2)  # grey: never mistaken for a (saturated) object colour
    if index == 3:  # a 16-bit photo in the bank
        return {"id": f"bg{index}", "image": (image * 257).astype(np.uint16)}
    return {"id": f"bg{index}", "image": image.astype(np.uint8)}


def build_banks(root, n_objects: int = 6, with_fg_full: bool = True) -> tuple[str, str]:
    def obj(i):
        sample = object_sample(i)
        if not with_fg_full:
            sample.pop("fg_full")
        return sample

    objects, backgrounds = str(root / "objects"), str(root / "backgrounds")
    write_dataset(objects, "objects", range(n_objects), obj, execution=Execution(progress=False), provenance={"command": "test"})
    write_dataset(backgrounds, "backgrounds", range(4), background_sample,
                  execution=Execution(progress=False), provenance={"command": "test"})
    return objects, backgrounds


def test_tiny_banks_round_trip(tmp_path):
    objects, backgrounds = build_banks(tmp_path)
    obj = open_dataset(objects)
    assert len(obj) == 6 and "fg_full" in obj.fields
    first = obj[0]
    assert first["alpha"].max() == 255 and first["alpha"].min() == 0
    assert open_dataset(backgrounds)[3]["image"].dtype == np.uint16
