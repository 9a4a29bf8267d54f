"""The compile notice of the first refit: numba's cache is read correctly (cold before the first
call, warm after it and in a fresh import, cold again once the source changes), and the refit
command and the demo's refit stage print the one line exactly when the cache is cold. Timing
is never measured: the detection is checked against numba's own cache files."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from typer.testing import CliRunner

from datagen.cli import app
from datagen.demo.banks import build_object_bank
from datagen.foreground import solvers
from datagen.foreground.kernel_cache import COMPILING_NOTICE, kernel_modules, kernels_cached
from datagen.runner import Execution

KERNELS = '''
import numba

from {package}.helper import twice


@numba.njit(cache=True, inline="always")
def _inner(x):        # compiled only inlined: never cached on its own
    return x + {offset}


@numba.njit(cache=True)
def entry(x):
    return _inner(x) * 2
'''
HELPER = '''
import numba


@numba.njit(cache=True)
def twice(x):
    return 2 * x
'''


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A throwaway package `kc_<n>` with a kernel module calling into a helper module."""
    counter = iter(range(100))

    def make(offset: int):
        name = f"kc_{tmp_path.name}_{next(counter)}".replace("-", "_")
        folder = tmp_path / name
        folder.mkdir()
        (folder / "__init__.py").write_text("")
        (folder / "helper.py").write_text(HELPER)
        (folder / "kernels.py").write_text(KERNELS.format(package=name, offset=offset))
        return folder, name

    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    return make


def test_cold_until_compiled_warm_in_a_fresh_import_cold_after_an_edit(package):
    folder, name = package(1)
    module = importlib.import_module(f"{name}.kernels")
    assert [m.__name__ for m in kernel_modules(module.entry)] == [f"{name}.kernels", f"{name}.helper"]
    assert not kernels_cached(module.entry)
    assert module.entry(3) == 8
    assert not kernels_cached(module.entry)            # the helper's kernel has not run yet
    module.twice(1)
    assert kernels_cached(module.entry)
    assert sorted(p.suffix for p in (folder / "__pycache__").glob("kernels.entry-*")) == [".nbc", ".nbi"]
    assert not list((folder / "__pycache__").glob("kernels._inner-*"))   # why inlined kernels are skipped
    again = _load(f"{name}.kernels_again", folder / "kernels.py")      # a new process would see the same
    assert kernels_cached(again.entry)
    (folder / "kernels.py").write_text(KERNELS.format(package=name, offset=20))  # the source changed (and its size)
    edited = _load(f"{name}.kernels_edited", folder / "kernels.py")
    assert not kernels_cached(edited.entry)


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    out = tmp_path_factory.mktemp("bank") / "objects"
    build_object_bank(out, 2, (16, 16), 0, Execution(progress=False))
    return out


@pytest.mark.parametrize("cached", [False, True])
def test_the_refit_command_announces_compiling_only_when_the_cache_is_cold(bank, tmp_path, monkeypatch, cached):
    monkeypatch.setattr(solvers.Solver, "kernels_cached", lambda self: cached)
    result = CliRunner().invoke(app, ["refit-foregrounds", str(bank), "--out", str(tmp_path / "refit"),
                                      "--method", "multilevel", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert (COMPILING_NOTICE in result.output) is not cached
    if not cached:
        assert result.output.splitlines()[0] == COMPILING_NOTICE      # before the work, not after


def test_the_demo_refit_stage_announces_it_too(bank, tmp_path, monkeypatch):
    from datagen.demo.stages import DemoContext, refit_stage, run_stages

    monkeypatch.setattr(solvers.Solver, "kernels_cached", lambda self: False)
    ctx = DemoContext(out=tmp_path, execution=Execution(progress=False), outputs={"objects": bank})
    lines: list[str] = []
    run_stages(ctx, (("refit", refit_stage),), report=lines.append)
    assert lines[0] == f"refit: {COMPILING_NOTICE}" and lines[1].startswith("refit: 2 objects refit written")
