"""File helpers with no image or cluster dependencies: atomic writes and file digests.

They sit apart from `datagen.imageio` (which loads OpenCV) so that light modules, the shard
reader above all, can write a manifest or check a file without paying for image codecs.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write bytes so that readers see either the old file or the whole new one, never a part.

    The temporary file is created with mode 0666 less the umask, as `open` would (usually
    0644, like the shards beside it; `tempfile.mkstemp` would make it 0600), and is removed
    if the write fails (a full disk)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def file_digest(path: str | os.PathLike) -> tuple[str, int]:
    """sha256 hex digest and size of a file, read in 1 MiB blocks (shards can be gigabytes)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
