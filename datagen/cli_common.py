"""Options and helpers shared by every datagen command, so they behave the same everywhere."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

Workers = Annotated[
    int,
    typer.Option("--workers", "-w", min=1, help="Local worker processes (1 = run in this process)."),
]
Scheduler = Annotated[
    Optional[str],
    typer.Option(
        "--scheduler",
        help="Address of a running dask.distributed scheduler (tcp://HOST:PORT); "
        "inputs and --out must be on a filesystem the workers share.",
    ),
]
Seed = Annotated[int, typer.Option("--seed", help="Global random seed; output is byte-identical for the same seed.")]
Progress = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")]
Codec = Annotated[
    str,
    typer.Option(
        "--codec",
        help="Shard compression: zstd, gzip or none, optionally with a level (zstd:1 writes faster, "
        "zstd:9 smaller), then optional per-field overrides: 'zstd:1,image=none' stores image raw. "
        "Readers need nothing but the manifest.",
    ),
]


def command_line() -> str:
    """The command as the user typed it, for provenance."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])


def describe_input(path: str | os.PathLike) -> dict:
    """A small, cheap description of an input for provenance: a dataset's manifest digest,
    a file's digest, or a folder's file count and a digest of names and sizes."""
    path = Path(path)
    if (path / "manifest.json").is_file():
        return {"path": str(path), "dataset_manifest_sha256": _sha256_file(path / "manifest.json")}
    if path.is_file():
        return {"path": str(path), "sha256": _sha256_file(path)}
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        listing = "\n".join(f"{p.relative_to(path)}\t{p.stat().st_size}" for p in files)
        return {"path": str(path), "files": len(files), "listing_sha256": hashlib.sha256(listing.encode()).hexdigest()}
    return {"path": str(path), "missing": True}


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def fail(message: str) -> None:
    """Print one clear error line and exit with status 2 (bad usage / bad input)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def exit_on_failures(result) -> None:
    """Print one line per failed item of a WriteResult and exit 1 if there were any."""
    for failure in result.failures:
        typer.echo(f"failed: {failure}", err=True)
    if result.failures:
        typer.echo(f"{len(result.failures)} item(s) failed; the other {result.n_samples} were written to {result.path}", err=True)
        raise typer.Exit(1)


def report_written(result, what: str) -> None:
    """One line saying what was written where (or that it was already up to date)."""
    state = "up to date" if result.up_to_date else "written"
    resumed = f", {result.resumed_shards} shard(s) resumed" if result.resumed_shards else ""
    typer.echo(f"{what}: {result.n_samples} samples {state} in {result.path}{resumed}")
