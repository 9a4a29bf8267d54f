"""refit-foregrounds / spill-report end to end: shards, resume, parallel, bad inputs, option errors."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from datagen.runner import Execution
from datagen.cli import app
from datagen.demo.banks import build_object_bank
from datagen.demo.objects import make_object
from datagen.imageio import write_png
from datagen.refit.driver import refit_objects
from datagen.refit.objects import dataset_refs
from datagen.shards import open_dataset

runner = CliRunner()


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    out = tmp_path_factory.mktemp("bank") / "objects"
    build_object_bank(out, 4, (72, 56), 0, Execution(progress=False), "test")  # >= 64 rows: the solver splits its rows
    return out


def test_refit_dataset_then_resume_and_spill_report(bank, tmp_path):
    out = tmp_path / "refit"
    result = runner.invoke(app, ["refit-foregrounds", str(bank), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    ds = open_dataset(out)
    assert len(ds) == 4 and {"fg_full", "bg_full"} <= set(ds.fields)
    sample = ds[0]
    refit = sample["recipe"]["refit"]
    assert sample["fg_full"].dtype == np.uint16 and refit["method"] == "levin"
    assert refit["options"]["margin"] == 0.0 and refit["iterations"] > 0 and refit["residual"] <= refit["options"]["tol"]
    rows = [json.loads(line) for line in (out / "refit-report.jsonl").read_text().splitlines()]
    assert [row["status"] for row in rows] == ["ok"] * 4 and all("seconds" in row for row in rows)
    assert "spill before/after" in result.output
    again = runner.invoke(app, ["refit-foregrounds", str(bank), "--out", str(out), "--no-progress"])
    assert again.exit_code == 0
    report = runner.invoke(app, ["spill-report", str(out)])
    assert report.exit_code == 0 and "reduction" in report.output


def test_margin_reaches_the_solver(bank, tmp_path):
    """--margin 0.02 is Levin's original pinning: F is pulled to black where alpha < 0.02 (only
    the pixels next to the band keep a smoothness edge), whereas the default extends the
    object's colours there."""
    fields = {}
    for name, extra in (("pinned", ["--margin", "0.02"]), ("extended", [])):
        result = runner.invoke(app, ["refit-foregrounds", str(bank), "--out", str(tmp_path / name), "--no-progress", *extra])
        assert result.exit_code == 0, result.output
        fields[name] = open_dataset(tmp_path / name)[0]
    pinned, extended = fields["pinned"], fields["extended"]
    assert pinned["recipe"]["refit"]["options"]["margin"] == 0.02
    clear = pinned["alpha"] == 0
    black = lambda fg_full: np.mean(fg_full[clear].max(axis=1) < 257)  # noqa: E731 - within 1/255
    assert clear.any() and black(pinned["fg_full"]) > 0.9 and black(extended["fg_full"]) < 0.1


@pytest.mark.parametrize("args, message", [
    (["--method", "multilevel", "--margin", "0.02"], "does not take margin"),
    (["--method", "nope"], "unknown method 'nope'"),
])
def test_ignored_option_or_unknown_method_is_one_error_line(bank, tmp_path, args, message):
    out = tmp_path / "never"
    result = runner.invoke(app, ["refit-foregrounds", str(bank), "--out", str(out), "--no-progress", *args])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_method_help_lists_every_solver():
    from datagen.foreground.solvers import SOLVERS

    result = runner.invoke(app, ["refit-foregrounds", "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0 and all(name in result.output for name in SOLVERS)


def test_parallel_output_identical_to_serial(bank, tmp_path):
    """One object at a time on every core, or two workers of one thread each: the same bytes."""
    refs = dataset_refs(bank)
    serial, _ = refit_objects(refs, tmp_path / "a", execution=Execution(progress=False))
    parallel, _ = refit_objects(refs, tmp_path / "b", execution=Execution(workers=2, progress=False))
    files = sorted(p.name for p in (tmp_path / "a").glob("shard-*.h5"))
    assert files and all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


def test_interrupted_run_resumes(bank, tmp_path, monkeypatch):
    from datagen.refit import task as task_module

    refs = dataset_refs(bank)
    calls = []
    original = task_module.RefitTask.__call__

    def flaky(self, ref):
        calls.append(ref.id)
        if len(calls) == 3:
            raise KeyboardInterrupt  # a kill in the middle of the second shard
        return original(self, ref)

    monkeypatch.setattr(task_module.RefitTask, "__call__", flaky)
    with pytest.raises(KeyboardInterrupt):
        _refit_small_shards(refs, tmp_path / "out")
    calls.clear()
    monkeypatch.setattr(task_module.RefitTask, "__call__", lambda self, ref: (calls.append(ref.id), original(self, ref))[1])
    result = _refit_small_shards(refs, tmp_path / "out")
    assert result.n_samples == 4 and result.resumed_shards == 1 and len(calls) == 2


def _refit_small_shards(refs, out):
    """refit_objects with 2 objects per shard, so an interruption leaves one finished shard."""
    from datagen.shards.build import write_dataset
    from datagen.foreground.solvers import resolve_options
    from datagen.refit.report import SIDE_DIR
    from datagen.refit.task import RefitTask

    task = RefitTask("levin", resolve_options("levin", {}), str(out / SIDE_DIR))
    return write_dataset(out, "objects", refs, task, provenance={"params": {}}, shard_size=2, execution=Execution(progress=False))


def test_folder_input_and_bad_inputs(tmp_path):
    fg_dir, alpha_dir = tmp_path / "fg", tmp_path / "alpha"
    fg_dir.mkdir(), alpha_dir.mkdir()
    obj = make_object(2, (24, 20), kind="fur")
    write_png(fg_dir / "good.png", obj.fg)
    write_png(alpha_dir / "good.png", (obj.alpha.astype(np.uint16) * 257))  # 16-bit alpha
    write_png(fg_dir / "mismatch.png", obj.fg)
    write_png(alpha_dir / "mismatch.png", obj.alpha[:10])
    write_png(fg_dir / "empty.png", obj.fg)
    write_png(alpha_dir / "empty.png", np.zeros_like(obj.alpha))
    write_png(fg_dir / "rgba.png", np.dstack([obj.fg, obj.alpha]))  # no alpha file: its own alpha
    out = tmp_path / "out"
    result = runner.invoke(app, ["refit-foregrounds", "--fg", str(fg_dir), "--alpha", str(alpha_dir),
                                 "--out", str(out), "--no-progress"])
    assert result.exit_code == 1
    assert "mismatch" in result.output and "alpha is" in result.output
    rows = {row["id"]: row for row in map(json.loads, (out / "refit-report.jsonl").read_text().splitlines())}
    assert rows["mismatch"]["status"] == "failed" and "mismatch.png" in rows["mismatch"]["error"]
    assert "undetermined" in rows["empty"]["notes"][0]
    assert "alpha channel" in rows["rgba"]["notes"][0]
    ds = open_dataset(out)
    good = ds.get("good")
    assert good["alpha"].dtype == np.uint16 and np.isfinite(good["fg_full"]).all()
    assert set(ds.ids) == {"good", "empty", "rgba"}


def test_refit_with_local_cluster(bank, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result, rows = refit_objects(dataset_refs(bank), tmp_path / "c", method="multilevel",
                                     execution=Execution(scheduler=cluster.scheduler_address, progress=False))
    assert result.n_samples == 4 and all(row["status"] == "ok" for row in rows)
    assert all(row["sweeps"] > 0 and "iterations" not in row for row in rows)
