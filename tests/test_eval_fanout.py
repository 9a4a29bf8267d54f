"""Benchmark runs: a model is built once per process from its spec and never pickled, the benchmark
is opened once per process, and records do not depend on the worker count."""

from __future__ import annotations

import functools
import gc
import json
import os
import uuid
import weakref
from dataclasses import dataclass

import numpy as np
import pytest
from eval_scenes import box_sample

from datagen.runner import Execution, shared_cluster
from datagen.shards import DatasetError
from datagen.shards.build import write_dataset
from training.evaluation import fanout
from training.evaluation.fanout import evaluate_benchmark
from training.evaluation.models import ModelError
from training.evaluation.sample_loops import IsegConfig

QUIET = Execution(progress=False)

COUNT_DIR = "EVAL_TEST_BUILD_DIR"       # where every construction of CountingSeg leaves one file
N_SAMPLES = 6
BUILT: list[weakref.ref] = []           # this process's constructions, to see them released


@dataclass(frozen=True)
class CountingSeg:
    """Predicts a 9x9 square around each positive click; refuses to be pickled, so a run that
    sent the model to its workers instead of the spec would fail."""

    half: int = 4

    def predict_iseg(self, image, clicks, prev_mask):
        prob = np.zeros(image.shape[:2], np.float32)
        for y, x, positive in clicks:
            prob[max(0, y - self.half):y + self.half + 1, max(0, x - self.half):x + self.half + 1] = float(positive)
        return prob

    def __reduce__(self):
        raise TypeError("CountingSeg must not be pickled")


def counting_factory() -> CountingSeg:
    model = CountingSeg()
    with open(os.path.join(os.environ[COUNT_DIR], f"{os.getpid()}-{uuid.uuid4().hex}"), "w"):
        pass
    BUILT.append(weakref.ref(model))
    return model


SPEC = f"{__name__}:counting_factory"
IGNORED_BOX = functools.partial(box_sample, ignore=True)




@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A 6-sample benchmark in 3 shards, the build-count folder, and a 2-worker LocalCluster whose
    workers inherit the folder's name (they are spawned after it is set)."""
    root = tmp_path_factory.mktemp("fanout")
    write_dataset(root / "bench", "benchmark", list(range(N_SAMPLES)), IGNORED_BOX, shard_size=2,
                  execution=Execution(progress=False))
    builds = root / "builds"
    builds.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(COUNT_DIR, str(builds))
        with shared_cluster(2, None) as address:
            yield {"bench": str(root / "bench"), "builds": builds, "scheduler": address}


def _builds(env) -> list[int]:
    """Process ids of the constructions since the last call (the folder is emptied)."""
    files = list(env["builds"].iterdir())
    for f in files:
        f.unlink()
    return [int(f.name.split("-")[0]) for f in files]


def _records(run) -> str:
    """JSON text without the timings, so that NaN entries compare equal."""
    return json.dumps([{k: v for k, v in r.items() if k != "model_seconds"} for r in run.records])


CONFIG = IsegConfig(robot="R", max_clicks=3)


def test_in_process_run_builds_once_opens_once_and_releases(env, monkeypatch):
    opened = []
    real_open = fanout.open_dataset
    monkeypatch.setattr(fanout, "open_dataset", lambda path: opened.append(path) or real_open(path))
    _builds(env)
    run = evaluate_benchmark("iseg", env["bench"], SPEC, config=CONFIG, execution=QUIET)
    assert [r["id"] for r in run.records] == [f"b{i}" for i in range(N_SAMPLES)]
    assert not any("error" in r for r in run.records) and run.model_params == "CountingSeg(half=4)"
    assert run.records[0]["ious"][0] == pytest.approx(81 / 440)  # 9x9 square at the 20x22 box's deepest point
    assert _builds(env) == [os.getpid()]                     # one model for 6 samples
    assert len(opened) == 2                                  # listing the ids + the run, not once per sample
    gc.collect()
    assert BUILT and all(ref() is None for ref in BUILT)     # the model does not outlive the run


def test_cluster_builds_one_model_per_worker_process_and_matches_in_process(env):
    _builds(env)
    alone = evaluate_benchmark("iseg", env["bench"], SPEC, config=CONFIG, execution=QUIET)
    _builds(env)
    spread = evaluate_benchmark("iseg", env["bench"], SPEC, config=CONFIG,
                                execution=Execution(scheduler=env["scheduler"], progress=False))
    pids = _builds(env)
    assert 1 <= len(pids) <= 2 and len(set(pids)) == len(pids) < N_SAMPLES
    assert os.getpid() not in pids                           # the client never builds it
    assert _records(spread) == _records(alone) and spread.model_params == alone.model_params


def test_baseline_results_do_not_depend_on_worker_count(env):
    runs = [evaluate_benchmark("iseg", env["bench"], "baseline:grabcut", config=IsegConfig(robot="R", max_clicks=2),
                               execution=Execution(scheduler=scheduler, progress=False))
            for scheduler in (None, env["scheduler"])]
    assert _records(runs[0]) == _records(runs[1])


def test_model_error_on_a_worker_reaches_the_caller(env):
    with pytest.raises(ModelError, match="predict_iseg"):
        evaluate_benchmark("iseg", env["bench"], "baseline:closed_form", config=CONFIG,
                           execution=Execution(scheduler=env["scheduler"], progress=False))


def test_selection_and_argument_errors(env):
    run = evaluate_benchmark("iseg", env["bench"], SPEC, config=CONFIG, ids="b[2-5]", limit=3, execution=QUIET)
    assert [r["id"] for r in run.records] == ["b2", "b3", "b4"]
    with pytest.raises(DatasetError, match=r"no sample to evaluate \(6 samples, none with an id matching 'x\*'\)"):
        evaluate_benchmark("iseg", env["bench"], SPEC, ids="x*", execution=QUIET)
    with pytest.raises(ValueError, match="unknown protocol"):
        evaluate_benchmark("segment", env["bench"], SPEC, execution=QUIET)
    with pytest.raises(TypeError, match="takes a model spec .* not a CountingSeg object"):
        evaluate_benchmark("iseg", env["bench"], CountingSeg(), execution=QUIET)
