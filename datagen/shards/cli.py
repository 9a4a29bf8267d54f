"""`datagen shards info | verify | export`: look inside, check, and unpack datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from datagen.cli_common import fail

shards_app = typer.Typer(help="Inspect, verify and export shard datasets.", no_args_is_help=True)
DatasetDir = Annotated[Path, typer.Argument(help="Dataset folder (the one holding manifest.json).")]


@shards_app.command("info")
def info(path: DatasetDir) -> None:
    """Print what a dataset holds and how it was made."""
    from datagen.shards import DatasetError, open_dataset

    try:
        dataset = open_dataset(path)
    except DatasetError as error:
        fail(str(error))
    manifest = dataset.manifest
    size = sum(shard["bytes"] for shard in manifest["shards"])
    typer.echo(f"{path}: {manifest['kind']} dataset, {len(dataset)} samples in {len(manifest['shards'])} shards, {size / 1e6:.1f} MB")
    for spec in manifest["fields"]:
        shape = "JSON" if spec["channels"] == 0 else ("HxW" if spec["channels"] == 1 else f"HxWx{spec['channels']}")
        typer.echo(f"  {spec['name']:<10} {'/'.join(spec['dtypes']):<14} {shape:<6} {spec['doc']}")
    storage = manifest["storage"]
    typer.echo(f"storage: {storage['codec']}, {storage['tile']}x{storage['tile']} tiles")
    provenance = manifest["provenance"]
    typer.echo(f"made by: {provenance.get('command', '?')} (matting-datagen {provenance.get('version', '?')}) on {manifest['created']}")
    if "seed" in provenance:
        typer.echo(f"seed: {provenance['seed']}")
    for source in provenance.get("inputs", []):
        typer.echo(f"input: {source.get('path')}")
    if manifest["failures"]:
        typer.echo(f"{len(manifest['failures'])} item(s) failed when it was made:")
        for failure in manifest["failures"][:20]:
            typer.echo(f"  {failure['item']}: {failure['error']}")


@shards_app.command("verify")
def verify(
    path: DatasetDir,
    quick: Annotated[bool, typer.Option("--quick", help="Checksums only; skip decoding every sample.")] = False,
) -> None:
    """Check every shard's checksum and decode every sample; exit 1 and name each problem."""
    from datagen.shards.verify import verify_dataset

    problems = verify_dataset(path, decode=not quick)
    for problem in problems:
        typer.echo(f"corrupt: {problem}", err=True)
    if problems:
        typer.echo(f"{path}: {len(problems)} problem(s) found", err=True)
        raise typer.Exit(1)
    typer.echo(f"{path}: OK")


@shards_app.command("export")
def export(
    path: DatasetDir,
    out: Annotated[Path, typer.Option("--out", help="Folder for the exported files.")],
    ids: Annotated[Optional[list[str]], typer.Option("--ids", help="Export only these sample ids (repeatable).")] = None,
    fields: Annotated[Optional[list[str]], typer.Option("--fields", help="Export only these fields (repeatable).")] = None,
) -> None:
    """Write samples as `<id>_<field>.png` (16-bit PNG for 16-bit fields, masks as 0/255) and recipes as JSON."""
    from datagen.shards import DatasetError, open_dataset
    from datagen.shards.export import export_samples

    try:
        written = export_samples(open_dataset(path), out, ids=ids, fields=fields)
    except (DatasetError, KeyError, ValueError) as error:
        fail(str(error).strip("'\""))
    typer.echo(f"{len(written)} files written to {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(shards_app, name="shards")
