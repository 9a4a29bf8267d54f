"""`datagen demo`: build the demo banks and run every datagen stage on them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datagen.cli_common import Progress, Scheduler, Seed, Workers, fail
from datagen.provenance import command_line


def parse_size(text: str) -> tuple[int, int]:
    """'320' -> (320, 320); '480x640' -> (480, 640) as (height, width)."""
    parts = text.lower().split("x")
    try:
        h, w = (int(parts[0]), int(parts[0])) if len(parts) == 1 else (int(parts[0]), int(parts[1]))
    except (ValueError, IndexError):
        raise typer.BadParameter(f"{text!r} is not a size; use N or HxW, e.g. 320 or 480x640") from None
    if len(parts) > 2 or h < 1 or w < 1:
        raise typer.BadParameter(f"{text!r} is not a size; use N or HxW with positive numbers")
    return h, w


def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for every demo output (one sub-folder per stage).")],
    objects: Annotated[int, typer.Option("--objects", min=0, help="Number of demo objects.")] = 24,
    backgrounds: Annotated[int, typer.Option("--backgrounds", min=0, help="Number of demo backgrounds.")] = 24,
    size: Annotated[str, typer.Option("--size", help="Object size, N or HxW.")] = "320x320",
    background_size: Annotated[str, typer.Option("--background-size", help="Background size, N or HxW.")] = "480x640",
    photos: Annotated[bool, typer.Option(
        "--photos/--no-photos",
        help="Make every 4th background a crop of a photo bundled with scikit-image (public domain / CC0).")] = True,
    seed: Seed = 0,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    progress: Progress = True,
) -> None:
    """Build a demo object bank and background bank under OUT, then run every datagen stage on them.

    Objects are procedural with real matting structure (hair strands, soft and motion-blurred edges, glass and lace transparency, holes) and exact ground truth.

    Each stage writes to OUT/<stage>; a rerun with the same settings resumes or reports "up to date".
    """
    from datagen.runner import Execution, shared_cluster
    from datagen.shards.build import DatasetExistsError

    from .stages import DemoContext, outcome_line, run_stages

    ctx = DemoContext(out=out, seed=seed, n_objects=objects, n_backgrounds=backgrounds,
                      object_size=parse_size(size), background_size=parse_size(background_size),
                      photos=photos, command=command_line())
    try:
        with shared_cluster(workers, scheduler) as address:  # one cluster for all stages, not one each
            ctx.execution = Execution(workers, address, progress)
            done = run_stages(ctx, report=typer.echo)
    except DatasetExistsError as error:
        fail(str(error))
    failed = sum(len(output.failures) for output in done.values())
    typer.echo(f"demo finished: {outcome_line(done)} under {out}" + (f"; {failed} item(s) failed" if failed else ""))
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `datagen demo` to the app."""
    app.command("demo")(demo)
