"""`datagen manifests list | check NAME --root PATH`: compare a dataset copy with its layout in manifests/.

The same commands are also `datagen layouts ...`, the name the code uses; `manifests` stays for
scripts written before the rename."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from datagen.cli_common import comma_list, fail

layouts_app = typer.Typer(help="Definitions of the public source datasets (layout, counts, licences) and checks of local copies.",
                            no_args_is_help=True)


@layouts_app.command("list")
def list_layouts() -> None:
    """List the datasets the toolkit knows, with their parts and licence notes."""
    from datagen.datasets.layouts import available, load_layout

    for name in available():
        doc = load_layout(name)
        typer.echo(f"{name} (v{doc['version']}): {doc['title']} [parts: {', '.join(doc['parts'])}]")
        typer.echo(f"    licence: {doc['license']}")


@layouts_app.command("check")
def check(
    name: Annotated[str, typer.Argument(help="Dataset layout name (see `datagen manifests list`).")],
    root: Annotated[Path, typer.Option("--root", help="The dataset copy's top folder, as published.")],
    part: Annotated[Optional[list[str]], typer.Option("--part", callback=comma_list, help="Check only these parts (comma-separated or repeated); default: every part present.")] = None,
    backgrounds: Annotated[Optional[Path], typer.Option("--backgrounds", help="DIM lists: the folder holding the background JPEGs they name.")] = None,
    decode: Annotated[bool, typer.Option("--decode/--no-decode", help="Open every file's header (image) or variable table (.mat) to find malformed files.")] = True,
) -> None:
    """Report what is missing, extra or malformed in a copy; exit 1 if anything is missing or malformed."""
    from datagen.datasets.layouts import LayoutError
    from datagen.datasets.layouts import check as run

    try:
        report = run(name, root, part or None, {"backgrounds": backgrounds} if backgrounds else None, decode=decode)
    except LayoutError as error:
        fail(str(error))
    typer.echo(report.summary())
    for folder, count in report.counts.items():
        typer.echo(f"  found {count} in {folder}")
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `datagen manifests` and its alias `datagen layouts` to the app."""
    app.add_typer(layouts_app, name="manifests")
    app.add_typer(layouts_app, name="layouts", help="The same commands as `datagen manifests`.")
