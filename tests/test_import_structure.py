"""The import graph of ``datagen`` and ``training`` points one way (issue 26's done-test).

Every import counts, wherever it is written: at module level, inside a function (the lazy
imports that keep the CLI light) and under ``if TYPE_CHECKING:``; a cycle closed by a
function-level import is still a cycle a reader has to untangle. Relative imports are resolved
against the importing module's package. Two rules:

(a) no import cycle between modules;
(b) only the entry points (``training.cli``, ``training.__main__`` and the web demo,
    ``training.demo.*``) import ``training.evaluation``: everything else lies below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("datagen", "training")
EVALUATION = "training.evaluation"
MAY_IMPORT_EVALUATION = ("training.cli", "training.__main__", "training.demo")


def module_names() -> dict[str, Path]:
    """Every module of the two packages by dotted name (a package by its ``__init__``)."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The module ``target`` names (an attribute's module when it names a function or class)."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports anywhere in its file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import sub` imports the submodule pkg.sub when there is one
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            resolved = _resolve(target, modules)
            if resolved and resolved != name and resolved.split(".")[0] in PACKAGES:
                found.add(resolved)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def _may_import_evaluation(name: str) -> bool:
    return name == EVALUATION or name.startswith(EVALUATION + ".") or any(
        name == allowed or name.startswith(allowed + ".") for allowed in MAY_IMPORT_EVALUATION)


def test_walker_sees_every_kind_of_import(tmp_path):
    """The walker's own check, on a made-up package: relative, function-level and
    TYPE_CHECKING imports all count, and a cycle and an upward import are both found."""
    pkg = tmp_path / "training"
    (pkg / "evaluation").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "evaluation" / "__init__.py").write_text("")
    (pkg / "low.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .high import X\n")
    (pkg / "high.py").write_text("def f():\n    from training import low\n    import training.evaluation\n")
    modules = {"training": pkg / "__init__.py", "training.evaluation": pkg / "evaluation" / "__init__.py",
               "training.low": pkg / "low.py", "training.high": pkg / "high.py"}
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    assert graph["training.low"] == {"training.high"}
    assert graph["training.high"] == {"training", "training.low", "training.evaluation"}
    assert cycles(graph) == [frozenset({"training.low", "training.high"})]
    assert not _may_import_evaluation("training.high") and _may_import_evaluation("training.demo.app")


def test_the_cycle_finder_sees_function_level_and_relative_imports():
    """Hand-made graphs: a two-module cycle, a three-module one, and a chain with none; and the
    real graph holds imports of every kind."""
    as_lists = lambda graph: sorted(sorted(c) for c in cycles(graph))  # noqa: E731
    assert as_lists({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert as_lists({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
    assert as_lists({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    graph = import_graph()
    assert "datagen.synth.seg" in graph["datagen.synth.render"]           # module level
    assert "datagen.synth.run" in graph["datagen.demo.stages"]            # inside a function
    assert "datagen.demo.banks" in graph["datagen.demo.stages"]           # relative, inside a function
    assert "datagen.shards.manifest" in graph["datagen.importing"]        # under TYPE_CHECKING


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles(package):
    graph = {name: {t for t in targets if t.split(".")[0] == package}
             for name, targets in import_graph().items() if name.split(".")[0] == package}
    assert [sorted(c) for c in cycles(graph)] == []


@pytest.mark.parametrize("package", PACKAGES)
def test_only_entry_points_import_evaluation(package):
    graph = import_graph()
    upward = sorted(f"{name} -> {target}" for name, targets in graph.items() if name.split(".")[0] == package
                    for target in targets if target.startswith(EVALUATION) and not _may_import_evaluation(name))
    assert not upward, f"modules below training.evaluation importing it: {upward}"
