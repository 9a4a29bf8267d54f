"""`datagen synth-seg` and `datagen synth-matting`: synthetic composites from object and background banks."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer

from datagen.cli_common import Codec, Progress, Scheduler, Seed, Workers, exit_on_failures, fail, report_written
from datagen.provenance import command_line
from datagen.synth.storage import DEFAULT_CODECS, estimated_bytes

Objects = Annotated[Optional[Path], typer.Option("--objects", help="Object bank (`objects` dataset: fg + alpha [+ fg_full]).")]
Backgrounds = Annotated[Optional[Path], typer.Option("--backgrounds", help="Background bank (`backgrounds` dataset, e.g. from `datagen import backgrounds`).")]
Out = Annotated[Optional[Path], typer.Option("--out", help="Output dataset folder (rerun to resume). With --regenerate: folder for the sample's PNGs.")]
N = Annotated[int, typer.Option("--n", min=1, help="Number of samples; objects take turns as primary, so n = bank size uses each once.")]
Size = Annotated[int, typer.Option("--size", min=16, help="Side of the square output images, pixels.")]
MinArea = Annotated[float, typer.Option("--min-area", help="Smallest object size: its alpha box as a fraction of the canvas area.")]
MaxArea = Annotated[float, typer.Option("--max-area", help="Largest object size (same unit as --min-area).")]
MaxAngle = Annotated[float, typer.Option("--max-angle", help="Rotation drawn uniformly in [-a, a] degrees.")]
JpegP = Annotated[float, typer.Option("--jpeg-p", help="Probability of re-encoding the image as JPEG (quality 60-95).")]
BlurP = Annotated[float, typer.Option("--blur-p", help="Probability of a Gaussian blur (sigma 0.4-1.2 px).")]
NoiseP = Annotated[float, typer.Option("--noise-p", help="Probability of Gaussian noise (sigma 1-4 grey levels).")]
Regenerate = Annotated[Optional[str], typer.Option("--regenerate", help="Rebuild sample ID of --from from its stored recipe and check it is byte-identical.")]
From = Annotated[Optional[Path], typer.Option("--from", help="Dataset to regenerate from (its provenance names the banks).")]


def _synth_command(kind: str, extra_flag: str, extra_help: str, doc: str):
    """The command of one kind: the two differ only in what the extra object is for and in the
    default codec (typer reads both from the defaults, evaluated here per kind)."""

    def command(
        objects: Objects = None,
        backgrounds: Backgrounds = None,
        out: Out = None,
        n: N = 1000,
        size: Size = 512,
        seed: Seed = 0,
        extra_p: float = typer.Option(0.5, extra_flag, help=extra_help),
        min_area: MinArea = 0.08,
        max_area: MaxArea = 0.45,
        max_angle: MaxAngle = 20.0,
        jpeg_p: JpegP = 0.0,
        blur_p: BlurP = 0.0,
        noise_p: NoiseP = 0.0,
        regenerate: Regenerate = None,
        from_: From = None,
        codec: Codec = DEFAULT_CODECS[kind],
        workers: Workers = 1,
        scheduler: Scheduler = None,
        progress: Progress = True,
    ) -> None:
        _command(kind, objects, backgrounds, out, n, seed, regenerate, from_, codec, workers, scheduler, progress,
                 size=size, extra_p=extra_p, area=(min_area, max_area), max_angle=max_angle,
                 jpeg_p=jpeg_p, blur_p=blur_p, noise_p=noise_p)

    command.__doc__ = doc
    return command


synth_seg = _synth_command(
    "seg", "--distractor-p", "Probability of a distractor object under the primary (in the image, never in the mask).",
    """Synthetic interactive-segmentation set: background crop, optional distractor, primary object on top;
    stores image, mask (primary alpha > 0.5), the primary's soft alpha and the recipe (thesis Ch. 3.4.1).""")
synth_matting = _synth_command(
    "matting", "--second-p", "Probability of merging a second foreground under the primary (FBA training: 0.5).",
    """Synthetic matting set: image, alpha, fg, bg composites (optionally two foregrounds, as in FBA training).""")


def _command(kind, objects, backgrounds, out, n, seed, regenerate, from_, codec, workers, scheduler, progress, **params) -> None:
    from datagen.runner import Execution
    from datagen.shards import DatasetError
    from datagen.shards.build import DatasetExistsError
    from datagen.shardtools.datasheet import write_datasheet
    from datagen.synth.recipe import SynthParams
    from datagen.synth.run import run_synth

    if regenerate is not None:
        return _regenerate(regenerate, from_, objects, backgrounds, out)
    if objects is None or backgrounds is None or out is None:
        fail("give --objects, --backgrounds and --out (or --regenerate ID --from DATASET)")
    for name in ("extra_p", "jpeg_p", "blur_p", "noise_p"):
        if not 0.0 <= params[name] <= 1.0:
            fail(f"probabilities must be in [0, 1], got {params[name]}")
    if not 0.0 < params["area"][0] <= params["area"][1]:
        fail(f"need 0 < --min-area <= --max-area, got {params['area']}")
    if codec == DEFAULT_CODECS[kind]:
        size = estimated_bytes(kind, n, params["size"])
        typer.echo(f"synth-{kind}: {n} samples at {params['size']} px, about {_human(size)} on disk", err=True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = run_synth(kind, objects, backgrounds, out, n, seed, replace(SynthParams(), **params),
                               execution=Execution(workers, scheduler, progress), command=command_line(), codec=codec)
        for warning in caught:
            typer.echo(f"warning: {warning.message}", err=True)
    except (DatasetError, DatasetExistsError, ValueError) as error:
        fail(str(error))
    report_written(result, f"synth-{kind}")
    typer.echo(f"datasheet: {write_datasheet(result.path)}")
    exit_on_failures(result)


def _human(n_bytes: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes / 1e3:.0f} kB"


def _regenerate(sample: str, dataset, objects, backgrounds, out) -> None:
    import numpy as np

    from datagen.imageio import write_png
    from datagen.shards import DatasetError
    from datagen.synth.run import regenerate

    if dataset is None:
        fail("--regenerate needs --from DATASET")
    try:
        fresh, stored = regenerate(dataset, sample, objects, backgrounds)
    except (DatasetError, KeyError, ValueError) as error:
        fail(str(error).strip("'\""))
    fields = [name for name, value in stored.items() if isinstance(value, np.ndarray)]
    differ = [name for name in fields if not np.array_equal(fresh[name], stored[name]) or fresh[name].dtype != stored[name].dtype]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name in fields:
            write_png(out / f"{sample}_{name}.png", fresh[name] * 255 if name == "mask" else fresh[name])
    if differ:
        typer.echo(f"error: sample {sample} regenerated with different {', '.join(differ)}", err=True)
        raise typer.Exit(1)
    typer.echo(f"sample {sample}: regenerated byte-identical ({', '.join(fields)})" + (f"; PNGs in {out}" if out else ""))


def register(app: typer.Typer) -> None:
    """Add `synth-seg` and `synth-matting` to the `datagen` app."""
    app.command("synth-seg")(synth_seg)
    app.command("synth-matting")(synth_matting)
