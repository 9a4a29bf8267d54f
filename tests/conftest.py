"""Shared test fixtures: where the real sample data lives, and small helpers."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data samples beside the repository (CI lays them out there)."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"real test data missing at {SHARED_DATA}")
        pytest.skip(f"real test data not found at {SHARED_DATA}")
    return SHARED_DATA


def _tree_digest(folder: Path, pattern: str = "shard-*.h5") -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).glob(pattern))}


@pytest.fixture(scope="session")
def tree_digest():
    """`tree_digest(folder, pattern="shard-*.h5")`: sha256 of each matching file, by name.

    Shards are compared byte for byte; manifest.json also records the creation time and the
    command line, so determinism tests compare it without those keys (see `stable_manifest`).
    """
    return _tree_digest


@pytest.fixture(scope="session")
def stable_manifest():
    """`stable_manifest(folder)`: the manifest without the keys that record when and how it was run."""
    import json

    def load(folder: Path) -> dict:
        manifest = json.loads((Path(folder) / "manifest.json").read_text())
        manifest.pop("created")
        manifest["provenance"].pop("command")
        return manifest

    return load
