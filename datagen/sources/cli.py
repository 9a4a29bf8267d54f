"""`datagen import objects | backgrounds | images`: folders of files -> shard datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from datagen.cli_common import Progress, Scheduler, Workers, exit_on_failures, fail, report_skipped, report_written
from datagen.provenance import command_line

import_app = typer.Typer(help="Import folders of images as shard datasets (files paired by name stem).", no_args_is_help=True)
OutDir = Annotated[Path, typer.Option("--out", help="Output dataset folder (created; rerun to resume).")]


def _run(name: str, options, workers: int, scheduler: str | None, progress: bool, out: Path) -> None:
    """Import, then report files of other types, and the failures (files that could not be
    paired, then items that failed) with exit 1 if there are any."""
    from datagen.importing import ImporterError, NothingToImport, get_importer, run_import
    from datagen.runner import Execution
    from datagen.shards.build import DatasetExistsError

    importer = get_importer("import", name)
    try:
        outcome = run_import(importer, options, out, command=command_line(),
                             execution=Execution(workers, scheduler, progress))
    except NothingToImport as error:
        for problem in error.problems:
            typer.echo(f"failed: {problem}", err=True)
        fail(str(error))
    except (ImporterError, DatasetExistsError) as error:
        fail(str(error))
    report_written(outcome.result, importer.kind)
    report_skipped(outcome.skipped)
    exit_on_failures(outcome.result)


@import_app.command("objects")
def import_objects(
    out: OutDir,
    fg: Annotated[Optional[Path], typer.Option("--fg", help="Folder of foreground colour images.")] = None,
    alpha: Annotated[Optional[Path], typer.Option("--alpha", help="Folder of alpha mattes (8 or 16 bit; equal-channel RGB accepted); a foreground without one uses its own alpha channel (RGBA), one with both must agree.")] = None,
    rgba: Annotated[Optional[Path], typer.Option("--rgba", help="Folder of RGBA images (instead of --fg/--alpha).")] = None,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    progress: Progress = True,
) -> None:
    """Import foreground objects (colour + alpha) as an `objects` dataset."""
    from datagen.sources.objects import ObjectsOptions

    _run("objects", ObjectsOptions(fg=fg, alpha=alpha, rgba=rgba), workers, scheduler, progress, out)


@import_app.command("backgrounds")
def import_backgrounds(
    folder: Annotated[Path, typer.Argument(help="Folder of background photographs.")],
    out: OutDir,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    progress: Progress = True,
) -> None:
    """Import a folder of photographs as a `backgrounds` dataset (corrupt files reported and skipped)."""
    from datagen.sources.backgrounds import BackgroundsOptions

    _run("backgrounds", BackgroundsOptions(folder), workers, scheduler, progress, out)


@import_app.command("images")
def import_images(
    out: OutDir,
    images: Annotated[Path, typer.Option("--images", help="Folder of images.")],
    masks: Annotated[Optional[Path], typer.Option("--masks", help="Folder of masks (value > --threshold is object).")] = None,
    alphas: Annotated[Optional[Path], typer.Option("--alphas", help="Folder of alpha mattes (instead of --masks).")] = None,
    trimaps: Annotated[Optional[Path], typer.Option("--trimaps", help="Optional folder of trimaps (0/128/255).")] = None,
    threshold: Annotated[int, typer.Option("--threshold", help="Mask values above this are object.")] = 0,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    progress: Progress = True,
) -> None:
    """Import annotated images as a `benchmark` dataset (image + mask or alpha [+ trimap])."""
    from datagen.sources.images import ImagesOptions

    _run("images", ImagesOptions(images, masks, alphas, trimaps, threshold), workers, scheduler, progress, out)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
