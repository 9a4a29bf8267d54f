"""The run folder: one fit at a time writes it, and a run in it is never replaced silently.

:func:`lock_folder` holds an exclusive ``flock`` on ``OUT/.fit.lock`` (holding the writer's pid,
for the message) while a fit runs: a second fit into the folder is refused in one line instead
of interleaving its ``metrics.csv`` and checkpoints with the first. The kernel drops the lock
when its process dies, however it dies, so the lock of a killed run is taken over by the next
fit without anyone deleting anything. :func:`claim_folder` refuses a folder that holds a run
unless it is resumed or explicitly overwritten. :func:`data_fingerprints` names the data a run
trained on (the datasets' manifest digests), which a resume must match.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Any

LOCK_NAME = ".fit.lock"
LAST = "last.pt"
EPOCH_GLOB = "epoch-*.pt"
METRICS = "metrics.csv"


class FolderLock:
    """The held lock of one run folder; :meth:`release` removes the file and drops the lock."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path, self.fd = path, fd

    def release(self) -> None:
        if self.fd < 0:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()          # before the unlock: a waiting fit then re-opens a fresh file
        os.close(self.fd)
        self.fd = -1


def lock_folder(out: Path) -> FolderLock:
    """Lock ``out`` for this process (creating it) or raise ValueError naming the holder's pid."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ValueError(f"--out {out} is in use by another fit (pid {holder}); wait for it to end, "
                             "or give another --out") from None
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break                   # the file we locked is still the folder's lock file
        os.close(fd)                    # released and removed meanwhile: lock the new one
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return FolderLock(path, fd)


def claim_folder(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse a folder that already holds a run (a checkpoint or ``metrics.csv``) unless the
    run resumes it or ``overwrite`` replaces it; replacing removes the old run's checkpoints and
    metrics, so the folder never mixes two runs."""
    if resume and overwrite:
        raise ValueError("give --resume (continue the run in --out) or --overwrite (replace it), not both")
    if resume:
        return
    held = [p for p in (out / LAST, out / METRICS, *sorted(out.glob(EPOCH_GLOB))) if p.is_file()]
    if held and not overwrite:
        raise ValueError(f"--out {out} already holds a run ({held[0].name}); continue it with --resume, "
                         "or replace it with --overwrite")
    for path in held:
        path.unlink()


def data_fingerprints(*datasets: Any) -> dict[str, str]:
    """``{role: digest}`` of every shard dataset behind ``datasets`` (those with ``sources()``,
    e.g. ``{"objects bank": ..., "backgrounds bank": ...}``): the manifest's ``contents_sha256``
    (what a reader sees), or its build ``fingerprint`` for manifests without one."""
    found: dict[str, str] = {}
    for data in datasets:
        for role, ds in getattr(data, "sources", dict)().items():
            manifest = ds.manifest
            found[role] = str(manifest.get("contents_sha256") or manifest.get("fingerprint") or "")
    return found
