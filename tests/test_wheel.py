"""A plain `pip install` of the built wheel works away from the checkout.

An editable install and the test suite both run from the source tree, so they cannot notice a
file the wheel leaves out: the dataset layouts were once found only through the checkout's
top-level `manifests/`, and `datagen build` in an installed copy found no dataset. Here the
wheel is built from a copy of the source, installed with `pip install --no-deps` into a fresh
venv that sees this environment's dependencies (nothing is downloaded), and its commands run
from an empty folder with PYTHONPATH unset, so only the installed package can answer.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "datagen", "training", "manifests")


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the sources (so the build leaves nothing in the checkout)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"
    source.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", str(root / "dist"), str(source)], cwd=root)
    (built,) = (root / "dist").glob("matting_datagen-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv holding the wheel; this environment's site-packages are visible to it through a
    .pth file (a venv made from a venv does not inherit the parent's packages, even with
    --system-site-packages), so the dependencies need no download."""
    env = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(env)], cwd=env.parent)
    python = env / "bin" / "python"
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=env).stdout.strip())
    (purelib / "_project_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
         cwd=env.parent)
    return env


def _installed_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}


def test_wheel_ships_the_layouts_configs_and_every_module(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    layouts = sorted((REPO / "manifests").glob("*.json"))
    assert layouts, "the checkout has no layouts to compare with"
    with zipfile.ZipFile(wheel) as archive:
        for path in layouts:  # byte-identical copies of the top-level folder: the two cannot drift
            assert archive.read(f"datagen/datasets/layout_files/{path.name}") == path.read_bytes(), path.name
    shipped = {name for name in names if name.startswith("datagen/datasets/layout_files/")}
    assert len(shipped) == len(layouts)
    for package in ("datagen", "training"):
        for path in (REPO / package).rglob("*"):
            if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts:
                assert path.relative_to(REPO).as_posix() in names, f"the wheel lacks {path.relative_to(REPO)}"
    assert {f"training/configs/{net}/{name}.toml" for net in ("fba", "iseg", "imatting")
            for name in ("thesis", "tiny")} <= names


def test_the_checkout_reads_the_top_level_layouts():
    """Editable installs and the suite read `manifests/` itself, not a stale copy of it."""
    from datagen.datasets import layouts

    assert layouts.LAYOUT_DIR == REPO / "manifests"
    assert not (REPO / "datagen" / "datasets" / "layout_files").exists()


def test_installed_commands_build_grabcut_and_start_training(venv, shared_data, tmp_path):
    env = _installed_env()
    where = _run([str(venv / "bin" / "python"), "-c",
                  "import datagen, training; from datagen.datasets import layouts; "
                  "print(datagen.__file__); print(training.__file__); print(layouts.LAYOUT_DIR)"],
                 cwd=tmp_path, env=env).stdout.split()
    for path in where:
        assert Path(path).is_relative_to(venv), f"{path} is not the installed package"
    out = tmp_path / "grabcut"
    built = _run([str(venv / "bin" / "datagen"), "build", "grabcut", "--root", str(shared_data / "grabcut"),
                  "--out", str(out), "--no-progress"], cwd=tmp_path, env=env)
    assert "37 samples written" in built.stdout
    assert "OK" in _run([str(venv / "bin" / "datagen"), "shards", "verify", str(out)], cwd=tmp_path, env=env).stdout
    assert "fit" in _run([str(venv / "bin" / "training"), "--help"], cwd=tmp_path, env=env).stdout
