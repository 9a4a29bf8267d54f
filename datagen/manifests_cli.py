"""`datagen manifests list | check NAME --root PATH`: compare a dataset copy with manifests/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from datagen.cli_common import comma_list, fail

manifests_app = typer.Typer(help="Definitions of the public source datasets (layout, counts, licences) and checks of local copies.",
                            no_args_is_help=True)


@manifests_app.command("list")
def list_manifests() -> None:
    """List the datasets the toolkit knows, with their parts and licence notes."""
    from datagen.datasets.manifests import available, load_manifest

    for name in available():
        doc = load_manifest(name)
        typer.echo(f"{name} (v{doc['version']}): {doc['title']} [parts: {', '.join(doc['parts'])}]")
        typer.echo(f"    licence: {doc['license']}")


@manifests_app.command("check")
def check(
    name: Annotated[str, typer.Argument(help="Dataset manifest name (see `datagen manifests list`).")],
    root: Annotated[Path, typer.Option("--root", help="The dataset copy's top folder, as published.")],
    part: Annotated[Optional[list[str]], typer.Option("--part", callback=comma_list, help="Check only these parts (comma-separated or repeated); default: every part present.")] = None,
    backgrounds: Annotated[Optional[Path], typer.Option("--backgrounds", help="DIM lists: the folder holding the background JPEGs they name.")] = None,
    decode: Annotated[bool, typer.Option("--decode/--no-decode", help="Open every file's header (image) or variable table (.mat) to find malformed files.")] = True,
) -> None:
    """Report what is missing, extra or malformed in a copy; exit 1 if anything is missing or malformed."""
    from datagen.datasets.manifests import ManifestError
    from datagen.datasets.manifests import check as run

    try:
        report = run(name, root, part or None, {"backgrounds": backgrounds} if backgrounds else None, decode=decode)
    except ManifestError as error:
        fail(str(error))
    typer.echo(report.summary())
    for folder, count in report.counts.items():
        typer.echo(f"  found {count} in {folder}")
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `datagen manifests` to the app."""
    app.add_typer(manifests_app, name="manifests")
