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


@pytest.fixture()
def one_thread():
    """Tiny networks run several times faster on one thread on a shared 2-core machine, and the
    bit-identity checks compare runs made at the same thread count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture()
def step_count():
    """How many optimiser steps (any optimiser) ran while the test did: ``step_count["n"]``."""
    from torch.optim.optimizer import register_optimizer_step_post_hook

    counter = {"n": 0}
    handle = register_optimizer_step_post_hook(lambda *_: counter.__setitem__("n", counter["n"] + 1))
    yield counter
    handle.remove()


@pytest.fixture()
def record_robot(monkeypatch):
    """``record_robot(module, name)`` replaces the click robot ``module.name`` by one that records
    every call a training loop makes as (gt, pred, click), with copies of the arrays; returns the list."""

    def install(module, name: str) -> list:
        robot, calls = getattr(module, name), []

        def recording(gt, pred, clicks):
            click = robot(gt, pred, clicks)
            calls.append((gt.copy(), pred.copy(), click))
            return click

        monkeypatch.setattr(module, name, recording)
        return calls

    return install
