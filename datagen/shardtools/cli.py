"""`datagen shards info | verify | export | preview | datasheet`: look inside, check, unpack and describe datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from datagen.cli_common import comma_list, fail, plural

shards_app = typer.Typer(help="Inspect, verify and export shard datasets.", no_args_is_help=True)
DatasetDir = Annotated[Path, typer.Argument(help="Dataset folder (the one holding manifest.json).")]


@shards_app.command("info")
def info(path: DatasetDir) -> None:
    """Print what a dataset holds and how it was made."""
    from datagen.shards import DatasetError, open_dataset
    from datagen.shards.schema import field_meaning

    try:
        dataset = open_dataset(path)
    except DatasetError as error:
        fail(str(error))
    manifest = dataset.manifest
    size = sum(shard["bytes"] for shard in manifest["shards"])
    typer.echo(f"{path}: {manifest['kind']} dataset, {plural(len(dataset), 'sample')} in {plural(len(manifest['shards']), 'shard')}, {size / 1e6:.1f} MB")
    for spec in manifest["fields"]:
        shape = "JSON" if spec["channels"] == 0 else ("HxW" if spec["channels"] == 1 else f"HxWx{spec['channels']}")
        typer.echo(f"  {spec['name']:<10} {'/'.join(spec['dtypes']):<14} {shape:<6} {field_meaning(manifest['kind'], spec)}")
    storage = manifest["storage"]
    typer.echo(f"storage: {storage['codec']}, {storage['tile']}x{storage['tile']} tiles")
    provenance = manifest["provenance"]
    typer.echo(f"made by: {provenance.get('command', '?')} (matting-datagen {provenance.get('version', '?')}) on {manifest['created']}")
    if "seed" in provenance:
        typer.echo(f"seed: {provenance['seed']}")
    for source in provenance.get("inputs", []):
        typer.echo(f"input: {source.get('path')}")
    if manifest["failures"]:
        typer.echo(f"{plural(len(manifest['failures']), 'item')} failed when it was made:")
        for failure in manifest["failures"][:20]:
            typer.echo(f"  {failure['item']}: {failure['error']}")


@shards_app.command("verify")
def verify(
    path: DatasetDir,
    quick: Annotated[bool, typer.Option("--quick", help="Checksums only; skip decoding every sample.")] = False,
) -> None:
    """Check the manifest, every shard's checksum, id list and count, and decode every sample; exit 1
    and name each problem. Stray files are listed but change nothing a reader returns."""
    from datagen.shards.verify import stray_files, verify_dataset

    problems = verify_dataset(path, decode=not quick)
    for problem in problems:
        typer.echo(f"corrupt: {problem}", err=True)
    strays = stray_files(path) if path.is_dir() else []
    for stray in strays:
        typer.echo(f"stray: {stray}", err=True)
    if problems:
        typer.echo(f"{path}: {plural(len(problems), 'problem')} found", err=True)
        raise typer.Exit(1)
    typer.echo(f"{path}: OK" + (f" ({plural(len(strays), 'stray file')} beside it)" if strays else ""))


@shards_app.command("export")
def export(
    path: DatasetDir,
    out: Annotated[Path, typer.Option("--out", help="Folder for the exported files.")],
    ids: Annotated[Optional[list[str]], typer.Option("--ids", callback=comma_list, help="Export only these sample ids (comma-separated or repeated; \\, for a comma inside an id).")] = None,
    fields: Annotated[Optional[list[str]], typer.Option("--fields", callback=comma_list, help="Export only these fields (comma-separated or repeated).")] = None,
    names: Annotated[str, typer.Option("--names", help="File names from sample ids made safe (ids) or from the official names a build recorded (official: DIM's `<fg name>_<bg index>`).")] = "ids",
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Export only the first N samples (of --ids when given, else of the dataset).")] = None,
) -> None:
    """Write samples as `<id>_<field>.png` (16-bit PNG for 16-bit fields, masks as 0/255) and recipes as JSON;
    prints how many files for how many samples went to which folder."""
    from datagen.shards import DatasetError, open_dataset
    from datagen.shardtools.export import export_samples

    try:
        dataset = open_dataset(path)
        chosen = list(dataset.ids if ids is None else ids)[:limit]
        written = export_samples(dataset, out, ids=chosen, fields=fields, names=names)
    except (DatasetError, KeyError, ValueError) as error:
        fail(str(error).strip("'\""))
    typer.echo(f"{plural(len(written), 'file')} for {len(chosen)} of {plural(len(dataset), 'sample')} "
               f"({', '.join(fields or dataset.fields)}) written to {out.resolve()}")


@shards_app.command("preview")
def preview(
    path: DatasetDir,
    out: Annotated[Path, typer.Option("--out", help="PNG file for the contact sheet.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of random samples shown.")] = 24,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random choice of samples.")] = 0,
    tile: Annotated[int, typer.Option("--tile", min=64, max=1024, help="Width of a tile in pixels.")] = 256,
    fields: Annotated[Optional[list[str]], typer.Option("--fields", callback=comma_list, help="Draw only these annotations (comma-separated or repeated): mask, alpha, trimap, ignore.")] = None,
) -> None:
    """A contact sheet of random samples: picture, mask/alpha outline, trimap and ignore bands, clicks, id and recipe."""
    from datagen.imageio import write_png
    from datagen.shards import DatasetError, open_dataset
    from datagen.shardtools.preview import contact_sheet

    try:
        sheet, shown = contact_sheet(open_dataset(path), n=n, seed=seed, fields=fields, tile=tile)
    except (DatasetError, ValueError) as error:
        fail(str(error))
    out.parent.mkdir(parents=True, exist_ok=True)
    write_png(out, sheet)
    typer.echo(f"{len(shown)} samples of {path} -> {out} ({sheet.shape[1]}x{sheet.shape[0]})")


@shards_app.command("datasheet")
def datasheet(
    path: DatasetDir,
    out: Annotated[Optional[Path], typer.Option("--out", help="Markdown file (default DIR/datasheet.md); the plot goes beside it as <stem>-stats.png.")] = None,
) -> None:
    """Write a markdown datasheet from the manifest: kind, fields, sources and licences, provenance, failures, shards, statistics."""
    from datagen.shards import DatasetError
    from datagen.shardtools.datasheet import write_datasheet

    try:
        written = write_datasheet(path, out)
    except DatasetError as error:
        fail(str(error))
    typer.echo(f"datasheet of {path} -> {written}")


def register(app: typer.Typer) -> None:
    app.add_typer(shards_app, name="shards")
