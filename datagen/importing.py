"""One contract for every importer, the registry that finds them, and the driver that runs one.

An importer turns something a user has on disk into a shard dataset. Two commands reach them:
`datagen build NAME --root PATH` for named public datasets (a copy checked against
`manifests/<name>.json` first) and `datagen import NAME` for plain folders of files. Both kinds
obey the same contract, so the writing, provenance, problem reporting and resume logic exist
once, here:

- an importer is a module of `datagen.sources`, `datagen.datasets` or `datagen.benchmarks`
  with a module-level `IMPORTER = Importer(...)`; the registry collects them, so a new
  dataset is that one file plus its manifest JSON;
- its `options` is a frozen dataclass of exactly the options it takes (built-in importers
  take `--root` as `root` when they are `build` importers);
- its `plan(options, check)` lists the work without reading pixels: a `Plan` of picklable
  items in output order, a picklable `make_sample(item) -> sample` that runs on the workers,
  the parameters and inputs recorded in provenance, listing problems (a file that could not
  be paired: recorded in the manifest's `failures` with the items that fail later, and
  reported while the rest is written) and skipped files (not of a type read: reported and
  recorded in provenance). `check(layout, parts, extra_roots)` checks the copy against a
  dataset layout (`manifests/<layout>.json`) and must come before any listing that trusts it.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datagen.runner import Execution

if TYPE_CHECKING:
    from datagen.shards.manifest import Failure

COMMANDS = ("build", "import")
PACKAGES = ("datagen.sources", "datagen.datasets", "datagen.benchmarks")


class ImporterError(ValueError):
    """Options or inputs that make an import impossible; the message says what to change."""


class NothingToImport(ImporterError):
    """The inputs hold nothing that can become a sample; `problems` says why, file by file."""

    def __init__(self, message: str, problems: list[Failure]):
        super().__init__(message)
        self.problems = problems


Check = Callable[..., Any]  # check(layout name, parts, extra_roots=None) -> layouts.Report


@dataclass(frozen=True)
class RootOptions:
    """Options of a `build` importer that takes nothing but the dataset copy's folder."""

    root: Path


@dataclass(frozen=True)
class InstanceOptions(RootOptions):
    """Options of a `build` importer that makes one sample per instance mask (`--min-area`)."""

    min_area: int = 1  # instances with fewer pixels are dropped; 1 keeps every non-empty one


@dataclass
class Plan:
    """What an import will write: sample i is `make_sample(items[i])`."""

    items: list
    make_sample: Callable[[Any], dict]
    params: dict
    inputs: list[Path] = field(default_factory=list)       # described in provenance (build: after --root)
    problems: list[Failure] = field(default_factory=list)  # listing problems: reported, recorded as failures
    skipped: list[str] = field(default_factory=list)       # files of other types, one line a folder: reported
    finish: Callable[[Path], list[str]] | None = None      # after writing; returns lines to print
    layout: str | None = None                              # the dataset layout checked (set by plan_import)


@dataclass(frozen=True)
class Importer:
    """A registered importer: `datagen <command> <name>` writes a `kind` dataset."""

    name: str
    command: str                                  # "build" (named dataset with a layout) or "import" (folders)
    kind: str
    options: type                                 # frozen dataclass of the options it takes
    plan: Callable[[Any, Check], Plan]

    def __post_init__(self) -> None:
        if self.command not in COMMANDS:
            raise ValueError(f"importer {self.name!r}: command must be one of {COMMANDS}, not {self.command!r}")


@functools.cache
def _registry() -> dict[tuple[str, str], Importer]:
    found: dict[tuple[str, str], Importer] = {}
    for package in PACKAGES:
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            if info.name == "cli":  # command layers import this registry; they hold no importer
                continue
            importer = getattr(importlib.import_module(f"{package}.{info.name}"), "IMPORTER", None)
            if importer is None:
                continue
            key = (importer.command, importer.name)
            if key in found:
                raise RuntimeError(f"two importers are registered as `{importer.command} {importer.name}`")
            found[key] = importer
    return found


def importers(command: str) -> dict[str, Importer]:
    """The importers `datagen <command>` offers, by name, sorted."""
    return {name: imp for (cmd, name), imp in sorted(_registry().items()) if cmd == command}


def get_importer(command: str, name: str) -> Importer:
    """The importer `datagen <command> <name>`, or an ImporterError listing the known names."""
    known = importers(command)
    if name not in known:
        raise ImporterError(f"unknown {'benchmark' if command == 'build' else 'import'} {name!r}; known: {', '.join(known)}")
    return known[name]


def plan_import(importer: Importer, options: Any, warn: Callable[[str], None] = print) -> Plan:
    """Check the inputs (against the dataset layout, for `build` importers) and list the work."""
    root = getattr(options, "root", None)
    if importer.command == "build" and (root is None or not Path(root).is_dir()):
        raise ImporterError(f"--root {root}: no such folder")
    checked: list[str] = []

    def check(layout: str, parts: list[str], extra_roots: dict[str, Path] | None = None):
        from datagen.datasets import layouts

        if root is None:
            raise ImporterError(f"{importer.name}: only an importer with a --root can check it against a dataset layout")
        checked.append(layout)
        return layouts.require(layout, Path(root), parts, extra_roots, warn=warn)

    plan = importer.plan(options, check)
    plan.layout = checked[0] if checked else None
    if not plan.items:
        message = (f"{importer.name}: nothing to build under {root}" if importer.command == "build"
                   else "nothing to import: no file could be paired")
        raise NothingToImport(message, plan.problems)
    return plan


@dataclass
class Outcome:
    result: Any                 # datagen.shards.build.WriteResult; its failures start with `problems`
    problems: list[Failure]     # listing problems: files that could not be paired
    skipped: list[str]          # files of other types (also recorded in the manifest's provenance)
    lines: list[str]            # what the plan's finish step reported


def run_import(importer: Importer, options: Any, out: str | Path, *, command: str = "",
               execution: Execution = Execution(), warn: Callable[[str], None] = print,
               shard_size: int = 64) -> Outcome:
    """Plan, write (parallel, resumable, deterministic) and finish one import."""
    from datagen.shards.build import write_dataset

    plan = plan_import(importer, options, warn=warn)
    result = write_dataset(out, importer.kind, plan.items, plan.make_sample, provenance=_provenance(importer, options, plan, command),
                           failures=plan.problems, shard_size=shard_size, execution=execution,
                           desc=f"{'building' if importer.command == 'build' else 'importing'} {importer.name}")
    return Outcome(result, plan.problems, plan.skipped, plan.finish(Path(out)) if plan.finish else [])


def _provenance(importer: Importer, options: Any, plan: Plan, command: str) -> dict:
    """Provenance of an import. `build` importers also record their name, --root and dataset layout."""
    from datagen.provenance import describe_input

    if importer.command == "build":
        provenance = {"command": command, "params": {"benchmark": importer.name, **plan.params},
                      "inputs": [describe_input(path) for path in [options.root, *plan.inputs]]}
        if plan.layout:  # recorded under its historical key: manifests of existing datasets hold it
            from datagen.datasets.layouts import load_layout

            provenance["source_manifest"] = {"name": plan.layout, "version": load_layout(plan.layout)["version"]}
    else:
        provenance = {"command": command, "params": plan.params, "inputs": [describe_input(path) for path in plan.inputs]}
    if plan.skipped:  # only when there are any, so clean imports keep their bytes
        provenance["skipped"] = plan.skipped
    return provenance
