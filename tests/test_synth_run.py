"""Writing synthetic sets: determinism across workers/clusters, regeneration, resume, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_synth_banks import build_banks
from typer.testing import CliRunner

from datagen.runner import Execution
from datagen.cli import app
from datagen.shards import open_dataset
from datagen.synth.recipe import SynthParams
from datagen.synth.run import regenerate, run_synth

PARAMS = SynthParams(size=48, jpeg_p=0.3, blur_p=0.3, noise_p=0.3)


@pytest.fixture(scope="module")
def banks(tmp_path_factory):
    return build_banks(tmp_path_factory.mktemp("banks"))


@pytest.fixture(scope="module")
def reference(banks, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "seg"
    result = run_synth("seg", *banks, out, n=20, seed=4, params=PARAMS, execution=Execution(progress=False), shard_size=6)
    assert result.n_samples == 20 and not result.failures
    return out


def test_same_bytes_with_two_workers_and_on_a_cluster(banks, reference, tmp_path, tree_digest, stable_manifest):
    from distributed import LocalCluster

    run_synth("seg", *banks, tmp_path / "w2", n=20, seed=4, params=PARAMS,
              execution=Execution(workers=2, progress=False), shard_size=6)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        run_synth("seg", *banks, tmp_path / "lc", n=20, seed=4, params=PARAMS,
                  execution=Execution(scheduler=cluster.scheduler_address, progress=False), shard_size=6)
    ref = tree_digest(reference)
    assert len(ref) == 4
    assert tree_digest(tmp_path / "w2") == ref == tree_digest(tmp_path / "lc")
    assert stable_manifest(tmp_path / "w2")["shards"] == stable_manifest(reference)["shards"]
    other = run_synth("seg", *banks, tmp_path / "s5", n=20, seed=5, params=PARAMS,
                      execution=Execution(progress=False), shard_size=6)
    assert tree_digest(other.path) != ref


def test_regeneration_is_byte_exact(reference):
    ds = open_dataset(reference)
    for sample_id in (ds.ids[0], ds.ids[13], ds.ids[-1]):
        fresh, stored = regenerate(reference, sample_id)
        for field in ("image", "mask", "alpha"):
            assert fresh[field].dtype == stored[field].dtype
            assert fresh[field].tobytes() == stored[field].tobytes()
        assert json.dumps(fresh["recipe"], sort_keys=True) == json.dumps(stored["recipe"], sort_keys=True)


def test_regeneration_refuses_a_changed_bank(reference, tmp_path):
    objects, _ = build_banks(tmp_path, n_objects=5)
    with pytest.raises(ValueError, match="differs"):
        regenerate(reference, "0000000", objects=objects)


def test_resume_after_interruption_gives_the_same_bytes(banks, reference, tmp_path, tree_digest, monkeypatch):
    import datagen.synth.run as run_module

    real_render = run_module.render

    def interrupted(recipe, banks):
        if recipe["index"] >= 13:
            raise KeyboardInterrupt  # not an item failure: the whole run stops here
        return real_render(recipe, banks)

    out = tmp_path / "resumed"
    monkeypatch.setattr(run_module, "render", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_synth("seg", *banks, out, n=20, seed=4, params=PARAMS, execution=Execution(progress=False), shard_size=6)
    monkeypatch.setattr(run_module, "render", real_render)
    assert not (out / "manifest.json").exists()
    result = run_synth("seg", *banks, out, n=20, seed=4, params=PARAMS, execution=Execution(progress=False), shard_size=6)
    assert result.resumed_shards == 2
    assert tree_digest(out) == tree_digest(reference)


def test_cli_seg_matting_and_regenerate(banks, tmp_path):
    objects, backgrounds = banks
    runner = CliRunner()
    seg = tmp_path / "seg"
    res = runner.invoke(app, ["synth-seg", "--objects", objects, "--backgrounds", backgrounds, "--out", str(seg),
                              "--n", "7", "--size", "40", "--seed", "1", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "synth-seg: 7 samples at 40 px, about 37 kB on disk" in res.output  # said before the work starts
    ds = open_dataset(seg)
    assert ds.kind == "seg" and len(ds) == 7
    assert ds.manifest["storage"]["codec"] == "zstd:1,image=none"  # photographs raw, labels compressed
    counts = np.bincount([int(ds[i]["recipe"]["layers"][-1]["id"][3:]) for i in range(7)], minlength=6)
    assert sorted(counts) == [1, 1, 1, 1, 1, 2]
    res = runner.invoke(app, ["synth-seg", "--regenerate", "0000003", "--from", str(seg), "--out", str(tmp_path / "png")])
    assert res.exit_code == 0, res.output
    assert "byte-identical" in res.output and (tmp_path / "png" / "0000003_mask.png").exists()
    res = runner.invoke(app, ["synth-seg", "--regenerate", "nope", "--from", str(seg)])
    assert res.exit_code == 2 and "nope" in res.output
    mat = tmp_path / "mat"
    res = runner.invoke(app, ["synth-matting", "--objects", objects, "--backgrounds", backgrounds, "--out", str(mat),
                              "--n", "4", "--size", "40", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert open_dataset(mat).kind == "matting"
    assert set(open_dataset(mat).manifest["storage"]["fields"]) == {"image", "fg", "bg"}
    res = runner.invoke(app, ["synth-seg", "--objects", backgrounds, "--backgrounds", backgrounds, "--out",
                              str(tmp_path / "bad"), "--n", "2", "--no-progress"])
    assert res.exit_code == 2 and "kind 'objects'" in res.output


def test_missing_fg_full_warns_and_bad_objects_are_reported(tmp_path):
    from datagen.shards.build import write_dataset

    objects, backgrounds = build_banks(tmp_path, n_objects=3, with_fg_full=False)
    with pytest.warns(UserWarning, match="no fg_full"):
        result = run_synth("seg", objects, backgrounds, tmp_path / "out", n=3, params=SynthParams(size=32),
                           execution=Execution(progress=False))
    assert result.n_samples == 3
    empty = str(tmp_path / "empty_obj")
    write_dataset(empty, "objects", [0, 1], lambda i: {"id": f"e{i}", "fg": np.zeros((8, 8, 3), np.uint8),
                  "alpha": np.full((8, 8), 255 * i, np.uint8)}, execution=Execution(progress=False))
    with pytest.warns(UserWarning):
        result = run_synth("seg", empty, backgrounds, tmp_path / "out2", n=4, params=SynthParams(size=32, extra_p=0.0),
                           execution=Execution(progress=False))
    assert result.n_samples == 2 and len(result.failures) == 2
    assert all("object e0" in failure.error and "empty" in failure.error for failure in result.failures)
