"""A checkpoint that is damaged, not a checkpoint, or half-written is caught in one line, and a
failed write leaves nothing behind (the reliability issue: torch.load does not check the CRCs)."""

from __future__ import annotations

import errno
import zipfile
from pathlib import Path

import pytest
import torch

from training.checkpoint import CheckpointError, load_checkpoint, remove_stale_temporaries, save_checkpoint


def _checkpoint(path: Path) -> Path:
    weights = {"layer.weight": torch.arange(4096, dtype=torch.float32).reshape(64, 64), "layer.bias": torch.zeros(64)}
    return save_checkpoint(path, {"network": "fba", "model_config": {}, "model": weights, "config": {}})


def _flip_inside(path: Path, entry_suffix: str, count: int = 64) -> str:
    """Flip `count` bytes in the middle of the stored data of the largest entry ending in `entry_suffix`."""
    with zipfile.ZipFile(path) as archive:
        info = max((i for i in archive.infolist() if i.filename.endswith(entry_suffix) or entry_suffix in i.filename),
                   key=lambda i: i.file_size)
    data = bytearray(path.read_bytes())
    header = info.header_offset
    name_length = int.from_bytes(data[header + 26:header + 28], "little")
    extra_length = int.from_bytes(data[header + 28:header + 30], "little")
    start = header + 30 + name_length + extra_length + info.compress_size // 2
    data[start:start + count] = bytes(b ^ 0xFF for b in data[start:start + count])
    path.write_bytes(bytes(data))
    return info.filename


def test_flipped_bytes_in_a_weight_tensor_are_named(tmp_path):
    path = _checkpoint(tmp_path / "last.pt")
    assert torch.equal(load_checkpoint(path)["model"]["layer.bias"], torch.zeros(64))
    entry = _flip_inside(path, "/data/")
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert message.startswith(f"checkpoint {path}: damaged: entry {entry!r}") and "\n" not in message


def test_a_file_that_is_not_a_checkpoint_is_one_line(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("hello world\n")
    with pytest.raises(CheckpointError, match=r"notes.pt: not a checkpoint file \(not a zip archive"):
        load_checkpoint(text)
    truncated = tmp_path / "half.pt"
    truncated.write_bytes(_checkpoint(tmp_path / "whole.pt").read_bytes()[:3000])
    with pytest.raises(CheckpointError, match="half.pt: not a checkpoint file"):
        load_checkpoint(truncated)


def test_a_failed_write_removes_its_temporary_and_says_why(tmp_path, monkeypatch):
    def full_disk(payload, target):
        Path(target).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(CheckpointError, match=r"cannot write checkpoint .*last.pt: No space left on device"):
        _checkpoint(tmp_path / "last.pt")
    assert list(tmp_path.iterdir()) == []


def test_stale_temporaries_of_killed_writes_are_removed(tmp_path):
    _checkpoint(tmp_path / "last.pt")
    stale = tmp_path / ".last.pt.tmp-4242"
    stale.write_bytes(b"half a checkpoint")
    (tmp_path / "metrics.csv").write_text("step\n")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt", "metrics.csv"]
