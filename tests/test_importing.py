"""The importer contract and registry: every importer is found in its own file, one shape for all."""

from __future__ import annotations

import dataclasses
import sys
import textwrap

import pytest

from datagen import importing
from datagen.runner import Execution

BUILD = {"composition-1k", "icomp-100", "dim-train", "grabcut", "berkeley", "sbd", "coco", "coco-mval", "davis", "alphamatting",
         "aim-500", "am-2k", "p3m-500-p", "p3m-500-np", "ppm-100", "distinctions-646"}
IMPORT = {"objects", "backgrounds", "images"}


def test_every_importer_is_registered_once_with_the_contract_shape():
    assert set(importing.importers("build")) == BUILD
    assert set(importing.importers("import")) == IMPORT
    for command in importing.COMMANDS:
        for name, importer in importing.importers(command).items():
            assert importer.name == name and importer.command == command
            assert dataclasses.is_dataclass(importer.options) and importer.options.__dataclass_params__.frozen
            if command == "build":  # named datasets are found under --root
                assert dataclasses.fields(importer.options)[0].name == "root"


def test_unknown_names_list_the_known_ones():
    with pytest.raises(importing.ImporterError, match="unknown benchmark 'nope'; known: aim-500, alphamatting, am-2k, berkeley"):
        importing.get_importer("build", "nope")


def test_a_new_dataset_is_one_file(tmp_path, monkeypatch):
    """A module holding `IMPORTER` in a scanned package is all the registry needs."""
    package = tmp_path / "extra_importers"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "toy.py").write_text(textwrap.dedent('''
        from dataclasses import dataclass
        from pathlib import Path
        from datagen.importing import Importer, Plan

        @dataclass(frozen=True)
        class ToyOptions:
            root: Path

        def make(item):
            import numpy as np
            return {"id": item, "image": np.zeros((2, 2, 3), np.uint8)}

        def plan(o, check):
            return Plan(["a", "b"], make, {"toy": True})

        IMPORTER = Importer("toy", "build", "backgrounds", ToyOptions, plan)
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(importing, "PACKAGES", (*importing.PACKAGES, "extra_importers"))
    importing._registry.cache_clear()
    try:
        toy = importing.get_importer("build", "toy")
        outcome = importing.run_import(toy, toy.options(root=tmp_path), tmp_path / "out", execution=Execution(progress=False))
        assert outcome.result.n_samples == 2 and outcome.problems == outcome.result.failures == [] and outcome.skipped == []
        from datagen.shards import open_dataset

        ds = open_dataset(tmp_path / "out")
        assert ds.ids == ["a", "b"] and ds.manifest["provenance"]["params"] == {"benchmark": "toy", "toy": True}
    finally:
        importing._registry.cache_clear()
        sys.modules.pop("extra_importers.toy", None)
        sys.modules.pop("extra_importers", None)


def test_a_layout_check_needs_a_root():
    """Only an importer with a --root (a `build` importer) can check a copy against a dataset
    layout; one without says so instead of checking the current folder."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class NoRoot:
        folder: str = "x"

    def plan(options, check):
        check("grabcut", ["test"])
        raise AssertionError("check() returned without a root")

    importer = importing.Importer("rootless", "import", "backgrounds", NoRoot, plan)
    with pytest.raises(importing.ImporterError, match="rootless: only an importer with a --root can check it"):
        importing.plan_import(importer, NoRoot(), warn=lambda line: None)
