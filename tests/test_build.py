"""Building a dataset (datagen.shards.build): the failure policy, reruns, worker-count determinism, resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from datagen.runner import Execution
from datagen.shards.build import DatasetExistsError, write_dataset
from datagen.shards import DatasetError, open_dataset
from test_shards_store import make_benchmark, write


def test_failed_items_are_reported_and_the_rest_written(tmp_path):
    result = write_dataset(
        tmp_path / "ds", "benchmark", list(range(8)), partial(make_benchmark, fail_on=(2, 5)), execution=Execution(progress=False), shard_size=3
    )
    assert result.n_samples == 6
    assert [failure.item for failure in result.failures] == ["2", "5"]
    assert "broken on purpose" in result.failures[0].error
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert [f["item"] for f in manifest["failures"]] == ["2", "5"]
    assert "sample 002" not in open_dataset(tmp_path / "ds").ids


def test_rerun_is_up_to_date_and_other_settings_are_refused(tmp_path):
    write(tmp_path / "ds")
    assert write(tmp_path / "ds").up_to_date
    with pytest.raises(DatasetExistsError, match="other inputs or settings"):
        write(tmp_path / "ds", provenance={"seed": 4})
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("mine")
    with pytest.raises(DatasetExistsError, match="not a dataset"):
        write(tmp_path / "junk")


def test_byte_identical_for_one_two_workers_and_a_cluster(tmp_path, tree_digest, stable_manifest):
    from distributed import LocalCluster

    write(tmp_path / "w1", n=14, shard_size=3)
    write(tmp_path / "w2", n=14, shard_size=3, execution=Execution(workers=2, progress=False))
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        write(tmp_path / "cluster", n=14, shard_size=3, execution=Execution(scheduler=cluster.scheduler_address, progress=False))
    reference = tree_digest(tmp_path / "w1")
    assert len(reference) == 5
    assert tree_digest(tmp_path / "w2") == reference == tree_digest(tmp_path / "cluster")
    assert stable_manifest(tmp_path / "w2") == stable_manifest(tmp_path / "w1") == stable_manifest(tmp_path / "cluster")


KILLABLE_WRITER = """
import sys, time
from functools import partial
sys.path.insert(0, {tests!r})
from test_shards_store import make_benchmark
from datagen.runner import Execution
from datagen.shards.build import write_dataset

def slow(index):
    time.sleep(0.05)
    return make_benchmark(index)

write_dataset({out!r}, "benchmark", list(range(40)), slow, provenance={{"seed": 3, "command": "x"}},
              shard_size=4, execution=Execution(progress=False))
"""


def test_killed_writer_resumes_to_an_identical_dataset(tmp_path, tree_digest, stable_manifest):
    tests = str(Path(__file__).parent)
    reference = tmp_path / "reference"
    subprocess.run([sys.executable, "-c", KILLABLE_WRITER.format(tests=tests, out=str(reference))], check=True)
    out = tmp_path / "killed"
    script = KILLABLE_WRITER.format(tests=tests, out=str(out))
    process = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 60
    while len(list(out.glob("shard-*.h5"))) < 3 and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "manifest.json").exists(), "the writer finished before it could be killed"
    with pytest.raises(DatasetError, match="unfinished write"):
        open_dataset(out)
    subprocess.run([sys.executable, "-c", script], check=True)
    assert tree_digest(out) == tree_digest(reference)
    assert stable_manifest(out) == stable_manifest(reference)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in reference.iterdir())


# -- errors of the environment, as users meet them: one line, no traceback, nothing left behind --

READ_ONLY = Path("/sys/datagen-read-only-out")  # /sys refuses new entries, for root too


def run_cli(app, args, capsys) -> tuple[int, str]:
    """Run a CLI app as its console script does (through `app()`, where one-line errors are made)."""
    with pytest.raises(SystemExit) as stopped:
        app([str(arg) for arg in args], prog_name="datagen")
    captured = capsys.readouterr()
    return stopped.value.code, captured.out + captured.err


@pytest.fixture
def grabcut_folders(shared_data, tmp_path) -> tuple[Path, Path]:
    """Two real GrabCut images and masks in folders of their own, for `datagen import images`."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir(), masks.mkdir()
    for stem in ("bool", "cross"):
        shutil.copy(shared_data / "grabcut" / "data_GT" / f"{stem}.jpg", images)
        shutil.copy(shared_data / "grabcut" / "boundary_GT" / f"{stem}.bmp", masks)
    return images, masks


def import_args(folders, out) -> list:
    return ["import", "images", "--images", folders[0], "--masks", folders[1], "--out", out, "--no-progress"]


def test_read_only_out_is_one_line_for_import_synth_seg_and_export(grabcut_folders, tmp_path, capsys):
    from datagen.cli import app
    from datagen.demo.banks import build_background_bank, build_object_bank

    build_object_bank(tmp_path / "objects", n=2, size=(64, 64), execution=Execution(progress=False))
    build_background_bank(tmp_path / "backgrounds", n=2, size=(96, 96), execution=Execution(progress=False))
    assert run_cli(app, import_args(grabcut_folders, tmp_path / "ds"), capsys)[0] == 0
    commands = [
        import_args(grabcut_folders, READ_ONLY),
        ["synth-seg", "--objects", tmp_path / "objects", "--backgrounds", tmp_path / "backgrounds", "--out", READ_ONLY,
         "--n", "2", "--size", "32", "--no-progress"],
        ["shards", "export", tmp_path / "ds", "--out", READ_ONLY],
    ]
    for command in commands:
        code, output = run_cli(app, command, capsys)
        assert code == 1 and output.strip().splitlines()[-1].startswith(f"error: {READ_ONLY}: "), output
        assert "Traceback" not in output


def test_a_full_disk_is_one_line_naming_the_shard_and_leaves_no_temporary_file(grabcut_folders, tmp_path, capsys, monkeypatch):
    import errno

    import datagen.shards.writer
    from datagen.cli import app

    real_write = datagen.shards.writer.write_array

    def write_then_fill_the_disk(group, name, array, codec):
        real_write(group, name, array, codec)  # part of the shard is on disk when the disk fills up
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(datagen.shards.writer, "write_array", write_then_fill_the_disk)
    code, output = run_cli(app, import_args(grabcut_folders, tmp_path / "ds"), capsys)
    assert code == 1 and output.strip() == f"error: {tmp_path / 'ds' / 'shard-00000.h5'}: the disk is full", output
    assert not list((tmp_path / "ds").glob(".shard-*")) and not list((tmp_path / "ds").glob("*.tmp"))
    monkeypatch.undo()  # the disk has room again: the rerun resumes the unfinished write
    code, output = run_cli(app, import_args(grabcut_folders, tmp_path / "ds"), capsys)
    assert code == 0 and "benchmark: 2 samples written" in output, output


def test_one_sample_is_singular_and_both_clis_have_a_version(grabcut_folders, tmp_path, capsys):
    from datagen import __version__
    from datagen.cli import app
    from training.cli import app as training_app

    (grabcut_folders[0] / "cross.jpg").unlink()
    code, output = run_cli(app, import_args(grabcut_folders, tmp_path / "ds"), capsys)
    assert code == 1 and "benchmark: 1 sample written in" in output, output  # cross.bmp has no image: reported
    assert "1 samples" not in output
    for cli in (app, training_app):
        code, output = run_cli(cli, ["--version"], capsys)
        assert code == 0 and output.strip().endswith(f"(matting-datagen {__version__})")


def test_manifest_and_shards_are_world_readable_like_any_file(tmp_path):
    previous = os.umask(0o022)
    try:
        write(tmp_path / "ds", n=3)
    finally:
        os.umask(previous)
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in (tmp_path / "ds").iterdir()}
    assert modes == {"manifest.json": 0o644, "shard-00000.h5": 0o644}


def test_two_identical_builds_differ_only_in_the_volatile_keys(tmp_path, tree_digest):
    """What the README's byte-identical claim names: the shards, and the manifest but for
    VOLATILE_KEYS (when, and with which command line, it was run)."""
    from datagen.shards.manifest import VOLATILE_KEYS

    write(tmp_path / "a", n=14, shard_size=3, provenance={"seed": 3, "command": "datagen x --workers 1"})
    time.sleep(1.1)  # a second apart, so that `created` differs too
    write(tmp_path / "b", n=14, shard_size=3,
          execution=Execution(workers=2, progress=False), provenance={"seed": 3, "command": "datagen x --workers 2"})
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")

    def leaves(value, path=()):
        if isinstance(value, dict):
            return {leaf for key, item in value.items() for leaf in leaves(item, path + (key,))}
        return {(path, json.dumps(value))}

    first, second = (leaves(json.loads((tmp_path / name / "manifest.json").read_text())) for name in "ab")
    assert {path for path, _ in first ^ second} == set(VOLATILE_KEYS)


def test_a_failed_import_item_is_named_by_its_stem_and_files_not_a_tuple(grabcut_folders, tmp_path, capsys):
    from datagen.cli import app

    (grabcut_folders[1] / "cross.bmp").write_bytes(b"not an image")
    code, output = run_cli(app, import_args(grabcut_folders, tmp_path / "ds"), capsys)
    line = next(line for line in output.splitlines() if line.startswith("failed: "))
    assert code == 1 and line.startswith(f"failed: cross ({grabcut_folders[0] / 'cross.jpg'}, {grabcut_folders[1] / 'cross.bmp'}): "), output
    assert "('" not in output
