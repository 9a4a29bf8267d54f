"""What a dataset's manifest records about how it was made: the command line and its inputs.

Kept apart from the command-line helpers (`datagen.cli_common`) because the library records
provenance too (`datagen.importing`, and `training` for its evaluation runs), and neither should
need typer for it.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from datagen.files import file_digest


def command_line() -> str:
    """The command as the user typed it, for provenance."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])


def describe_input(path: str | os.PathLike) -> dict:
    """A small, cheap description of an input for provenance: a dataset's manifest digest,
    a file's digest, or a folder's file count and a digest of names and sizes."""
    path = Path(path)
    if (path / "manifest.json").is_file():
        return {"path": str(path), "dataset_manifest_sha256": file_digest(path / "manifest.json")[0]}
    if path.is_file():
        return {"path": str(path), "sha256": file_digest(path)[0]}
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        listing = "\n".join(f"{p.relative_to(path)}\t{p.stat().st_size}" for p in files)
        return {"path": str(path), "files": len(files), "listing_sha256": hashlib.sha256(listing.encode()).hexdigest()}
    return {"path": str(path), "missing": True}
