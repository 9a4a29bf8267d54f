"""`datagen import objects | backgrounds | images`: folders of files -> shard datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from datagen.cli_common import Progress, Scheduler, Workers, command_line, describe_input, fail, report_written

import_app = typer.Typer(help="Import folders of images as shard datasets (files paired by name stem).", no_args_is_help=True)
OutDir = Annotated[Path, typer.Option("--out", help="Output dataset folder (created; rerun to resume).")]


def _run(kind: str, out: Path, items: list, make, problems: list[str], inputs: list[Path], params: dict, workers: int, scheduler, progress: bool) -> None:
    """Write the dataset, then report pairing problems and failed items together."""
    from datagen.shards import DatasetExistsError, write_dataset

    if not items:
        for problem in problems:
            typer.echo(f"failed: {problem}", err=True)
        fail("nothing to import: no file could be paired")
    provenance = {"command": command_line(), "params": params, "inputs": [describe_input(p) for p in inputs]}
    try:
        result = write_dataset(out, kind, items, make, provenance=provenance, workers=workers, scheduler=scheduler, progress=progress, desc=f"importing {kind}")
    except DatasetExistsError as error:
        fail(str(error))
    report_written(result, kind)
    lines = problems + [str(failure) for failure in result.failures]
    for line in lines:
        typer.echo(f"failed: {line}", err=True)
    if lines:
        typer.echo(f"{len(lines)} file(s) skipped", err=True)
        raise typer.Exit(1)


@import_app.command("objects")
def import_objects(
    out: OutDir,
    fg: Annotated[Optional[Path], typer.Option("--fg", help="Folder of foreground colour images.")] = None,
    alpha: Annotated[Optional[Path], typer.Option("--alpha", help="Folder of alpha mattes (8 or 16 bit; equal-channel RGB accepted).")] = None,
    rgba: Annotated[Optional[Path], typer.Option("--rgba", help="Folder of RGBA images (instead of --fg/--alpha).")] = None,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    progress: Progress = True,
) -> None:
    """Import foreground objects (colour + alpha) as an `objects` dataset."""
    from datagen.sources.folders import ObjectPair, RgbaObject, SourceError, list_images, pair_by_stem

    try:
        if rgba is not None:
            if fg is not None or alpha is not None:
                fail("give either --rgba or --fg with --alpha, not both")
            listing, problems = list_images(rgba, "RGBA")
            items = sorted((stem, str(path)) for stem, path in listing.items())
            make, inputs = RgbaObject(), [rgba]
        elif fg is not None and alpha is not None:
            items, problems = pair_by_stem((fg, "foreground"), (alpha, "alpha"))
            make, inputs = ObjectPair(), [fg, alpha]
        else:
            fail("give --fg and --alpha folders, or an --rgba folder")
    except SourceError as error:
        fail(str(error))
    _run("objects", out, items, make, problems, inputs, {"source": "rgba" if rgba else "fg+alpha"}, workers, scheduler, progress)


@import_app.command("backgrounds")
def import_backgrounds(
    folder: Annotated[Path, typer.Argument(help="Folder of background photographs.")],
    out: OutDir,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    progress: Progress = True,
) -> None:
    """Import a folder of photographs as a `backgrounds` dataset (corrupt files reported and skipped)."""
    from datagen.sources.folders import Background, SourceError, list_images

    try:
        listing, problems = list_images(folder, "backgrounds")
    except SourceError as error:
        fail(str(error))
    items = sorted((stem, str(path)) for stem, path in listing.items())
    _run("backgrounds", out, items, Background(), problems, [folder], {}, workers, scheduler, progress)


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
    from datagen.sources.folders import AnnotatedImage, SourceError, pair_by_stem

    if (masks is None) == (alphas is None):
        fail("give exactly one of --masks or --alphas")
    annotation = "mask" if masks is not None else "alpha"
    folders = [(images, "image"), (masks or alphas, annotation)] + ([(trimaps, "trimap")] if trimaps else [])
    try:
        items, problems = pair_by_stem(*folders)
    except SourceError as error:
        fail(str(error))
    params = {"annotation": annotation, "threshold": threshold, "trimaps": trimaps is not None}
    _run("benchmark", out, items, AnnotatedImage(annotation, threshold), problems, [p for p, _ in folders], params, workers, scheduler, progress)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
