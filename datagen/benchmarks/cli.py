"""`datagen build NAME`: benchmark and training sets from the user's copies of public datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from datagen.cli_common import Progress, Scheduler, Workers, command_line, exit_on_failures, fail, report_written

NAMES = ("composition-1k", "icomp-100", "dim-train", "grabcut", "berkeley", "sbd", "coco", "coco-mval",
         "davis", "alphamatting")


def build(
    name: Annotated[str, typer.Argument(help=f"What to build: {', '.join(NAMES)}.")],
    root: Annotated[Path, typer.Option("--root", help="The dataset's folder as published (DIM: the Combined_Dataset folder; "
                                                      "GrabCut: the folder with data_GT/ and boundary_GT/; see docs/benchmarks.md).")],
    out: Annotated[Path, typer.Option("--out", help="Output dataset folder (created; rerun to resume).")],
    backgrounds: Annotated[Optional[Path], typer.Option("--backgrounds", help="DIM builds: folder with the VOC (test) or COCO (train) JPEGs named in the DIM lists.")] = None,
    annotations: Annotated[Optional[Path], typer.Option("--annotations", help="coco: a COCO-format annotation JSON (polygons or RLE); --root is then its image folder.")] = None,
    split: Annotated[Optional[str], typer.Option("--split", help="sbd: train|val (default val); alphamatting: training|test (default training).")] = None,
    resolution: Annotated[str, typer.Option("--resolution", help="alphamatting: lowres|highres archives.")] = "lowres",
    trimaps: Annotated[str, typer.Option("--trimaps", help="alphamatting: which trimap sets, comma-separated (one sample per image and trimap).")] = "1,2,3",
    min_area: Annotated[int, typer.Option("--min-area", min=1, help="sbd/coco: drop instances with fewer pixels than this (default 1 keeps every non-empty instance).")] = 1,
    per_object: Annotated[Optional[int], typer.Option("--per-object", min=1, help="dim-train: only the first K of each object's 100 backgrounds.")] = None,
    objects: Annotated[Optional[Path], typer.Option("--objects", help="dim-train: take foregrounds from this objects dataset's fg_full (refit bank), matched by name stem.")] = None,
    trimap_radius: Annotated[int, typer.Option("--trimap-radius", min=1, help="composition-1k: radius of the unknown band when trimaps are generated from alpha (only if the copy has no trimaps).")] = 10,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    progress: Progress = True,
) -> None:
    """Build a benchmark or training set as shards, after checking the inputs against manifests/.

    Composition-1k, Interactive Composition-100 and DIM-train follow the Deep Image Matting compositing recipe byte for byte; Composition-1k also writes composites.sha256 so two copies can be compared. Every build lists exactly what is missing when the copy does not match (exit 2); a partial copy (fewer files than the dataset has) is built with a warning.
    """
    from datagen.benchmarks.builders import BuildError, Options
    from datagen.benchmarks.builders import build as run
    from datagen.datasets.manifests import InputsError, ManifestError
    from datagen.shards import DatasetExistsError

    try:
        wanted = tuple(int(k) for k in trimaps.split(",") if k.strip())
    except ValueError:
        fail(f"--trimaps takes comma-separated numbers, got {trimaps!r}")
    options = Options(root=root, backgrounds=backgrounds, annotations=annotations, split=split, resolution=resolution,
                      trimaps=wanted, min_area=min_area, per_object=per_object, objects=objects, trimap_radius=trimap_radius)
    try:
        result, lines = run(name, options, out, command=command_line(), workers=workers, scheduler=scheduler,
                            progress=progress, warn=lambda line: typer.echo(line, err=True))
    except InputsError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2)
    except (BuildError, ManifestError, DatasetExistsError) as error:
        fail(str(error))
    report_written(result, name)
    for line in lines:
        typer.echo(line)
    exit_on_failures(result)


def register(app: typer.Typer) -> None:
    """Add `datagen build` to the app."""
    app.command("build")(build)
