"""`datagen build NAME`: benchmark and training sets from the user's copies of public datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from datagen.cli_common import Progress, Scheduler, Workers, comma_list, exit_on_failures, fail, report_skipped, report_written
from datagen.importing import importers
from datagen.provenance import command_line

NAMES = tuple(importers("build"))


def build(
    name: Annotated[str, typer.Argument(help=f"What to build: {', '.join(NAMES)}.")],
    root: Annotated[Path, typer.Option("--root", help="The dataset's folder as published (DIM: the Combined_Dataset folder; "
                                                      "GrabCut: the folder with data_GT/ and boundary_GT/; see docs/benchmarks.md).")],
    out: Annotated[Path, typer.Option("--out", help="Output dataset folder (created; rerun to resume).")],
    backgrounds: Annotated[Optional[Path], typer.Option("--backgrounds", help="DIM builds: folder with the VOC (test) or COCO (train) JPEGs named in the DIM lists.")] = None,
    annotations: Annotated[Optional[Path], typer.Option("--annotations", help="coco: a COCO-format annotation JSON (polygons or RLE); --root is then its image folder.")] = None,
    split: Annotated[Optional[str], typer.Option("--split", help="sbd: train|val (default val); alphamatting: training|test (default training).")] = None,
    resolution: Annotated[str, typer.Option("--resolution", help="alphamatting: lowres|highres archives.")] = "lowres",
    trimaps: Annotated[Optional[list[str]], typer.Option("--trimaps", callback=comma_list, help="alphamatting: which trimap sets, comma-separated or repeated (one sample per image and trimap; default 1,2,3).")] = None,
    min_area: Annotated[int, typer.Option("--min-area", min=1, help="sbd/coco: drop instances with fewer pixels than this (default 1 keeps every non-empty instance).")] = 1,
    per_object: Annotated[Optional[int], typer.Option("--per-object", min=1, help="dim-train: only the first K of each object's 100 backgrounds.")] = None,
    objects: Annotated[Optional[Path], typer.Option("--objects", help="dim-train: take foregrounds from this objects dataset's fg_full (refit bank), matched by name stem.")] = None,
    trimap_radius: Annotated[int, typer.Option("--trimap-radius", min=1, help="composition-1k: radius of the unknown band when trimaps are generated from alpha (only if the copy has no trimaps).")] = 10,
    names: Annotated[str, typer.Option("--names", help="composition-1k/icomp-100: name composites in composites.sha256 by sample id (ids) or by the file name the DIM script writes (official).")] = "ids",
    workers: Workers = 1,
    scheduler: Scheduler = None,
    progress: Progress = True,
) -> None:
    """Build a benchmark or training set as shards, after checking the inputs against manifests/.

    Composition-1k, Interactive Composition-100 and DIM-train follow the Deep Image Matting compositing recipe byte for byte; Composition-1k also writes composites.sha256 so two copies can be compared. Every build lists exactly what is missing when the copy does not match (exit 2); a partial copy (fewer files than the dataset has) is built with a warning.
    """
    import inspect
    from dataclasses import fields

    from datagen.datasets.alphamatting import TRIMAP_SETS
    from datagen.datasets.layouts import InputsError, LayoutError
    from datagen.importing import ImporterError, get_importer, run_import
    from datagen.runner import Execution
    from datagen.shards.build import DatasetExistsError
    from datagen.shardtools.datasheet import write_datasheet

    unknown = [k for k in trimaps or () if k not in {str(n) for n in TRIMAP_SETS}]
    if unknown:
        fail(f"--trimaps takes the trimap sets {', '.join(map(str, TRIMAP_SETS))} (comma-separated or repeated), "
             f"got {', '.join(map(repr, unknown))}")
    wanted = tuple(int(k) for k in trimaps) if trimaps else TRIMAP_SETS
    given = {"root": root, "backgrounds": backgrounds, "annotations": annotations, "split": split, "resolution": resolution,
             "trimaps": trimaps, "min_area": min_area, "per_object": per_object, "objects": objects,
             "trimap_radius": trimap_radius, "names": names}
    try:
        importer = get_importer("build", name)
        taken = {f.name for f in fields(importer.options)}
        # An option the importer does not take is an error when set, never silently ignored.
        defaults = inspect.signature(build).parameters
        stray = [key for key, value in given.items() if key not in taken and value != defaults[key].default]
        if stray:
            fail(f"{name} does not take {', '.join('--' + key.replace('_', '-') for key in stray)}")
        options = importer.options(**{key: wanted if key == "trimaps" else given[key] for key in taken})
        outcome = run_import(importer, options, out, command=command_line(),
                             execution=Execution(workers, scheduler, progress), warn=lambda line: typer.echo(line, err=True))
    except InputsError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    except (ImporterError, LayoutError, DatasetExistsError) as error:
        fail(str(error))
    report_written(outcome.result, name)
    typer.echo(f"datasheet: {write_datasheet(outcome.result.path)}")
    for line in outcome.lines:
        typer.echo(line)
    report_skipped(outcome.skipped)
    exit_on_failures(outcome.result)  # files the pairing could not use come first


def register(app: typer.Typer) -> None:
    """Add `datagen build` to the app."""
    app.command("build")(build)
