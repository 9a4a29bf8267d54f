"""Throughput of `synth-seg` (samples/s on one core, compression and writing included) vs a naive baseline.

Inputs (``--banks``): ``real`` = the alphamatting.com training objects (~800x600, with a uint16
``fg_full`` made from the shipped colours so the intended fg_full code path is timed) and the
COCO background photos from ../shared/data; ``demo`` = the demo assets (320x320 objects, fg
only, 480x640 backgrounds). Both pipelines render the *same recipes*:

- ours: ``run_synth`` (bbox-windowed uint8 warps, fused exact integer blend, shards with the
  synthetic sets' default codec: image raw, mask and alpha zstd:1);
- baseline: whole-canvas warps, float64 ``a*F + (1-a)*B`` compositing, one PNG file per
  sample for the image and one for the mask (``cv2.imwrite``).

It then splits our per-sample time into stages. Run:
``python tests/bench/synth_seg.py [--banks real|demo] [--n 300] [--sizes 512 1024]``. Prints medians of ``--repeats``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import statistics
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from datagen.runner import Execution
from datagen.shards.build import write_dataset
from datagen.compose.placement import object_box, scale_for_area
from datagen.shards import open_dataset
from datagen.synth.recipe import Banks, SynthParams, plan
from datagen.synth.run import run_synth
from datagen.synth.storage import DEFAULT_CODECS

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def build_demo_banks(root: Path, codec: str | None = None) -> tuple[str, str]:
    """The demo assets: 24 procedural 320x320 objects (fg + alpha, no fg_full), 24 backgrounds 480x640."""
    from datagen.demo.banks import background_sample, object_sample

    return _write_banks(root, codec, range(24), partial(object_sample, seed=0, size=(320, 320)),
                        range(24), partial(background_sample, seed=0, size=(480, 640)))


def _write_banks(root, codec, obj_items, make_obj, bg_items, make_bg) -> tuple[str, str]:
    extra = {"codec": codec} if codec else {}
    write_dataset(root / "objects", "objects", obj_items, make_obj, execution=Execution(progress=False), **extra)
    write_dataset(root / "bgs", "backgrounds", bg_items, make_bg, execution=Execution(progress=False), **extra)
    return str(root / "objects"), str(root / "bgs")


def build_real_banks(root: Path, codec: str | None = None) -> tuple[str, str]:
    from datagen.imageio import read_alpha, read_image

    am = DATA / "alphamatting_training_lowres"
    names = sorted(p.name for p in (am / "gt_training_lowres").glob("*.png"))

    def obj(name):
        fg = read_image(am / "input_training_lowres" / name)
        return {"id": name[:-4], "fg": fg, "alpha": read_alpha(am / "gt_training_lowres" / name),
                "fg_full": fg.astype(np.uint16) * 257}

    bgs = [str(p) for p in sorted((DATA / "coco_backgrounds").glob("*.jpg"))]
    return _write_banks(root, codec, names, obj, bgs, lambda p: {"id": Path(p).stem, "image": read_image(p)})


def naive_sample(recipe: dict, banks: Banks, out_dir: Path) -> None:
    """The straightforward implementation: full-canvas warps, float64 blends, PNG files."""
    size = recipe["size"]
    y, x, h, w = recipe["background"]["crop"]
    bg = banks.backgrounds.get(recipe["background"]["id"])["image"][y:y + h, x:x + w]
    canvas = cv2.resize(bg, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float64) / 255
    for layer in recipe["layers"]:
        colour = "fg_full" if banks.has_fg_full else "fg"  # only the fields it uses, as ours
        obj = banks.objects.get(layer["id"], fields=(colour, "alpha"))
        fg = obj[colour].astype(np.float64) / (65535 if obj[colour].dtype == np.uint16 else 255)
        alpha = obj["alpha"].astype(np.float64) / 255
        y0, y1, x0, x1 = object_box(obj["alpha"])
        s = scale_for_area(y1 - y0, x1 - x0, size, layer["area"])
        m = cv2.getRotationMatrix2D(((x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2), layer["angle"], s)
        m[:, 2] += [layer["cx"] * size - (x0 + x1 - 1) / 2, layer["cy"] * size - (y0 + y1 - 1) / 2]
        if layer["flip"]:
            fg, alpha = fg[:, ::-1], alpha[:, ::-1]
        fw = cv2.warpAffine(fg, m, (size, size), flags=cv2.INTER_LINEAR)
        aw = cv2.warpAffine(alpha, m, (size, size), flags=cv2.INTER_LINEAR)[..., None]
        canvas = aw * fw + (1 - aw) * canvas
    mask = (aw[..., 0] > 0.5).astype(np.uint8) * 255
    stem = out_dir / f"{recipe['index']:07d}"
    cv2.imwrite(f"{stem}_image.png", (canvas * 255 + 0.5).astype(np.uint8)[..., ::-1])
    cv2.imwrite(f"{stem}_mask.png", mask)


def timed_run(objects: str, bgs: str, out: Path, n: int, seed: int, params: SynthParams, codec: str) -> tuple[float, int]:
    """One run of ours: (samples/s, bytes written); the output is deleted afterwards."""
    t0 = time.perf_counter()
    run_synth("seg", objects, bgs, out, n, seed=seed, params=params, execution=Execution(progress=False), codec=codec)
    rate = n / (time.perf_counter() - t0)
    nbytes = sum(p.stat().st_size for p in out.glob("*.h5"))
    shutil.rmtree(out)
    return rate, nbytes


def breakdown(objects: str, bgs: str, n: int, params: SynthParams, out: Path, codec: str) -> tuple[float, list[tuple[str, float]]]:
    """Profile one in-process run; ms per sample for each stage (cumulative times of the stage functions)."""
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    run_synth("seg", objects, bgs, out, n, seed=99, params=params, execution=Execution(progress=False), codec=codec)
    prof.disable()
    total = time.perf_counter() - t0
    stats = pstats.Stats(prof).stats

    def ct(name: str, caller: str | None = None) -> float:
        total_ct = 0.0
        for (_, _, func), (_, _, _, cum, callers) in stats.items():
            if func != name:
                continue
            if caller is None:
                total_ct += cum
            else:
                total_ct += sum(v[3] for (_, _, cf), v in callers.items() if cf == caller)
        return total_ct

    rows = [
        ("plan (recipe draw)", ct("plan")),
        ("read background crop", ct("get", "background")),
        ("resize background", ct("background") - ct("get", "background")),
        ("read objects", ct("get", "layer_patch")),
        ("warp objects", ct("warp_object")),
        ("photometric", ct("photometric")),
        ("blend (kernel)", ct("composite_over")),
        ("mask + realism", ct("apply_realism")),
        ("compress + write", ct("write_array")),
    ]
    rows.append(("other (python, HDF5 meta)", total - sum(v for _, v in rows)))
    return 1000 * total / n, [(k, 1000 * v / n) for k, v in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300, help="samples per run at 512 (a quarter of that at 1024)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--banks", choices=["real", "demo"], default="real",
                        help="real: alphamatting objects ~800x600 with uint16 fg_full + COCO photos; demo: demo assets")
    parser.add_argument("--codec", default=DEFAULT_CODECS["seg"],
                        help="shard codec spec for our output, e.g. zstd:1, zstd:-3, zstd:1,image=none (the default)")
    parser.add_argument("--alt-codec", default="zstd:1", help="a second codec spec timed in the same run, for comparison")
    args = parser.parse_args()
    cv2.setNumThreads(1)  # per-core figures: one process, one thread
    root = Path(tempfile.mkdtemp(prefix="synth_bench_"))
    try:
        build = build_real_banks if args.banks == "real" else build_demo_banks
        objects, bgs = build(root)
        raw_objects, raw_bgs = build(root / "raw", codec="none")
        banks = Banks(open_dataset(objects), open_dataset(bgs))
        print(f"banks ({args.banks}): {len(banks.objects)} objects {banks.objects.shape(0, 'alpha')}, fields "
              f"{banks.objects.fields}; {len(banks.backgrounds)} backgrounds")
        warnings.simplefilter("ignore")  # the demo bank has no fg_full: warned once per run otherwise
        run_synth("seg", objects, bgs, root / "warmup", 4, params=SynthParams(size=64),
                  execution=Execution(progress=False))  # JIT cache, opens
        for size in args.sizes:
            n = args.n if size <= 512 else max(args.n // 4, 10)
            params = SynthParams(size=size)
            ours, naive, raw, alt = [], [], [], []
            for r in range(args.repeats):
                rate, nbytes = timed_run(objects, bgs, root / f"ours_{size}_{r}", n, r, params, args.codec)
                ours.append(rate)
                recipes = [plan("seg", params, r, i, banks) for i in range(n)]
                png = root / f"naive_{size}_{r}"
                png.mkdir()
                t0 = time.perf_counter()
                for recipe in recipes:
                    naive_sample(recipe, banks, png)
                naive.append(n / (time.perf_counter() - t0))
                pbytes = sum(p.stat().st_size for p in png.glob("*.png"))
                shutil.rmtree(png)
                rate, abytes = timed_run(objects, bgs, root / f"alt_{size}_{r}", n, r, params, args.alt_codec)
                alt.append(rate)
                raw.append(timed_run(raw_objects, raw_bgs, root / f"raw_{size}_{r}", n, r, params, "none")[0])
            o, b, u, a = (statistics.median(v) for v in (ours, naive, raw, alt))
            print(f"\n{size}x{size}, n={n}, median of {args.repeats}:\n"
                  f"  ours, codec {args.codec}: {o:.1f} samples/s/core ({nbytes / n / 1024:.0f} KiB/sample), "
                  f"ratio {o / b:.2f}x\n"
                  f"  naive baseline: {b:.1f} samples/s/core ({pbytes / n / 1024:.0f} KiB/sample)\n"
                  f"  ours, codec {args.alt_codec}: {a:.1f} samples/s/core ({abytes / n / 1024:.0f} KiB/sample), "
                  f"ratio {a / b:.2f}x\n"
                  f"  ours with banks and output uncompressed (codec 'none'; the bound without the codec): "
                  f"{u:.1f} samples/s/core, {u / b:.2f}x baseline")
            total_ms, rows = breakdown(objects, bgs, n, params, root / f"profile_{size}", args.codec)
            print(f"  where one sample's {total_ms:.1f} ms go (ours, profiled run):")
            for k, v in rows:
                print(f"    {k:<28}{v:7.2f} ms  {100 * v / total_ms:5.1f}%")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
