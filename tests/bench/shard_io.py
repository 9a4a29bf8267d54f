"""Shard store vs PNG and JPEG folders: random 320x320 crops, whole samples, writing, size;
and what `import datagen.shards` (a DataLoader worker's import) costs beside its own dependencies.

Samples are ~1-2 MP real portraits with their alpha (../shared/data/p3m500p_samples_predicted_alpha),
repeated to N samples; without the shared data, procedural demo backgrounds are used. Each layout
holds the same image + alpha pairs. Shard reads check every tile they decode (CRC-32, see
datagen/shards/tiles.py); the `verify=False` row is the zstd store read without the checks.
Run: `python tests/bench/shard_io.py [--n 48] [--crops 400]` (`--imports-only` for the import rows alone).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from datagen.runner import Execution
from datagen.shards.build import write_dataset
from datagen.imageio import read_alpha, read_image, write_png
from datagen.shards import open_dataset

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "p3m500p_samples_predicted_alpha"
CROP = 320


def load_sources() -> list[tuple[np.ndarray, np.ndarray]]:
    if DATA.is_dir():
        return [(read_image(p), read_alpha(DATA / "alpha" / f"{p.stem}.png")) for p in sorted((DATA / "original").iterdir())]
    from datagen.demo.backgrounds import make_background

    return [(make_background(seed, (1080, 1920)), make_background(seed + 99, (1080, 1920))[:, :, 0]) for seed in range(8)]


class Pair:
    """Picklable sample maker for the shard writer."""

    def __init__(self, sources):
        self.sources = sources

    def __call__(self, index: int) -> dict:
        image, alpha = self.sources[index % len(self.sources)]
        return {"id": f"s{index:04d}", "image": image, "alpha": alpha, "fg": image, "bg": image}


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def write_folder(root: Path, sources, n: int, suffix: str, params) -> float:
    root.mkdir(parents=True)
    start = time.perf_counter()
    for index in range(n):
        image, alpha = sources[index % len(sources)]
        cv2.imwrite(str(root / f"s{index:04d}{suffix}"), image[:, :, ::-1], params)
        write_png(root / f"s{index:04d}_alpha.png", alpha)
    return n / (time.perf_counter() - start)


def crop_windows(shapes, count, seed=0):
    rng = np.random.default_rng(seed)
    windows = []
    for _ in range(count):
        index = int(rng.integers(len(shapes)))
        height, width = shapes[index]
        windows.append((index, int(rng.integers(0, height - CROP + 1)), int(rng.integers(0, width - CROP + 1))))
    return windows


def rate(function, items, repeats=3) -> float:
    """Median items/s over `repeats` passes."""
    speeds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for item in items:
            function(item)
        speeds.append(len(items) / (time.perf_counter() - start))
    return statistics.median(speeds)


IMPORTS = (
    ("numpy", "h5py", "hdf5plugin"),  # what any reader of these HDF5 shards needs: the floor
    ("datagen.shards",),
    ("datagen.shards.build",),
)


def import_ms(modules: tuple[str, ...]) -> float:
    """Import time of `modules` and everything they load, in a fresh interpreter (`-X importtime`):
    the cumulative times of their own top-level rows, so interpreter start-up is left out."""
    statement = "import " + ", ".join(modules)
    log = subprocess.run([sys.executable, "-X", "importtime", "-c", statement], capture_output=True, text=True, check=True).stderr
    rows = re.findall(r"^import time:\s+\d+ \|\s+(\d+) \| (\S+)$", log, re.M)
    return sum(int(cumulative) for cumulative, name in rows if name in modules) / 1000


def import_rows(runs: int = 7) -> None:
    """Median over fresh interpreters, interleaved so that machine load hits every row alike."""
    times: dict[tuple[str, ...], list[float]] = {modules: [] for modules in IMPORTS}
    for _ in range(runs):
        for modules in IMPORTS:
            times[modules].append(import_ms(modules))
    floor = statistics.median(times[IMPORTS[0]])
    print(f"| import (median of {runs} fresh interpreters) | ms | x {' + '.join(IMPORTS[0])} |\n|---|---|---|")
    for modules in IMPORTS:
        value = statistics.median(times[modules])
        print(f"| {', '.join(modules)} | {value:.0f} | {value / floor:.2f} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=48)
    parser.add_argument("--crops", type=int, default=300)
    parser.add_argument("--imports-only", action="store_true", help="Print only the import-time rows.")
    args = parser.parse_args()
    import_rows()
    if args.imports_only:
        return
    sources = load_sources()
    shapes = [sources[i % len(sources)][0].shape[:2] for i in range(args.n)]
    megapixels = statistics.mean(h * w for h, w in shapes) / 1e6
    raw = sum(h * w * 4 for h, w in shapes)
    windows = crop_windows(shapes, args.crops)
    root = Path(tempfile.mkdtemp(prefix="shard_io_"))
    print(f"{args.n} samples of {megapixels:.2f} MP on average (image + alpha), {args.crops} random {CROP}x{CROP} crops\n")
    rows = []
    try:
        for suffix, params, name in ((".png", [cv2.IMWRITE_PNG_COMPRESSION, 3], "PNG folder"), (".jpg", [cv2.IMWRITE_JPEG_QUALITY, 95], "JPEG q95 folder (lossy)")):
            folder = root / name.split()[0]
            write_speed = write_folder(folder, sources, args.n, suffix, params)

            def read_whole(index, folder=folder, suffix=suffix):
                return read_image(folder / f"s{index:04d}{suffix}"), read_alpha(folder / f"s{index:04d}_alpha.png")

            def read_crop(window, read_whole=read_whole):
                index, y, x = window
                image, alpha = read_whole(index)
                return image[y : y + CROP, x : x + CROP], alpha[y : y + CROP, x : x + CROP]

            rows.append((name, folder_size(folder), rate(read_crop, windows[: args.crops // 4]), rate(read_whole, range(args.n), 1), write_speed))
        for codec in ("zstd", "gzip", "none"):
            out = root / f"shards-{codec}"
            start = time.perf_counter()
            maker = Pair(sources)
            write_dataset(out, "benchmark", list(range(args.n)), lambda i: {k: v for k, v in maker(i).items() if k in ("id", "image", "alpha")},
                          execution=Execution(progress=False), codec=codec, shard_size=16)
            write_speed = args.n / (time.perf_counter() - start)
            # Every read checks its tiles; the zstd store is also read unchecked (verify=False),
            # interleaved with the checked reads so that machine load hits both alike.
            readers = {f"shards ({codec})": open_dataset(out)}
            if codec == "zstd":
                readers[f"shards ({codec}), verify=False"] = open_dataset(out, verify=False)
            for dataset in readers.values():
                dataset.read(0)  # open the files once, as a long-lived loader does
            speeds = {name: ([], []) for name in readers}
            for _ in range(3):
                for name, dataset in readers.items():

                    def read_crop(window, dataset=dataset):
                        index, y, x = window
                        return dataset.read(index, fields=("image", "alpha"), crop=(y, x, CROP, CROP))

                    speeds[name][0].append(rate(read_crop, windows, 1))
                    speeds[name][1].append(rate(lambda i, dataset=dataset: dataset.read(i, fields=("image", "alpha")), range(args.n), 1))
            for name, (crops, wholes) in speeds.items():
                rows.append((name, folder_size(out), statistics.median(crops), statistics.median(wholes), write_speed))
    finally:
        shutil.rmtree(root)
    png_size, png_crops = rows[0][1], rows[0][2]
    print("| layout | size vs PNG | size vs raw | crops/s | x PNG crops/s | whole samples/s | written samples/s |")
    print("|---|---|---|---|---|---|---|")
    for name, size, crops, whole, write in rows:
        print(f"| {name} | {size / png_size:.2f} | {size / raw:.2f} | {crops:,.0f} | {crops / png_crops:.1f} | {whole:.1f} | {write:.1f} |")


if __name__ == "__main__":
    main()
