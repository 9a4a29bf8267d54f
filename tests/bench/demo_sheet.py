"""Render the demo-object contact sheet `docs/demo_objects.png` (timings: `demo_assets.py`).

One row per object kind: image (object on its original background B0), alpha, the exact
foreground F (valid everywhere), the shipped `fg` (black where alpha == 0), and a background
(procedural; a bundled-photo crop in the last row).
Run: `python tests/bench/demo_sheet.py [--out docs/demo_objects.png]`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from datagen.demo.backgrounds import make_background, make_photo_background
from datagen.demo.objects import OBJECT_KINDS, make_object


def contact_sheet(tile: int = 160, seed: int = 0) -> np.ndarray:
    rows = []
    for i, kind in enumerate(OBJECT_KINDS):
        obj = make_object(seed + i, (2 * tile, 2 * tile), kind=kind)
        f = np.rint(obj.F * 255).astype(np.uint8)
        alpha = np.repeat(obj.alpha[..., None], 3, axis=2)
        make_bg = make_photo_background if i == len(OBJECT_KINDS) - 1 else make_background
        bg = make_bg(seed + i, (2 * tile, 2 * tile))
        row = [obj.image, alpha, f, obj.fg, bg]
        rows.append(np.concatenate([cv2.resize(t, (tile, tile), interpolation=cv2.INTER_AREA)
                                    for t in row], axis=1))
    return np.concatenate(rows, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "docs" / "demo_objects.png")
    args = parser.parse_args()
    sheet = contact_sheet()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # A 256-colour palette keeps the sheet small enough for the repository (< 300 KB).
    Image.fromarray(sheet).quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KB, {sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
