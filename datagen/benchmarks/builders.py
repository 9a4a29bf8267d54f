"""`datagen build NAME`: check a dataset copy against its manifest, then write it as shards.

A planner checks the copy against its manifest (through the `check` it is given, before it
reads anything) and turns options into a `Plan` (dataset kind, items in output order, a
picklable `make_sample`); `build` writes the plan
through `datagen.shards.write_dataset` (parallel, resumable, deterministic) and runs the
plan's `finish` step (e.g. the Composition-1k sha256 list). Keeping planning separate from
writing is what lets tests inspect pairings without writing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagen.datasets import manifests


@dataclass
class Options:
    root: Path
    backgrounds: Path | None = None
    annotations: Path | None = None
    split: str | None = None
    resolution: str = "lowres"
    trimaps: tuple[int, ...] = (1, 2, 3)
    min_area: int = 1
    per_object: int | None = None
    objects: Path | None = None
    trimap_radius: int = 10


@dataclass
class Plan:
    kind: str
    items: list
    make_sample: Callable[[Any], dict]
    params: dict
    extra_roots: dict[str, Path] = field(default_factory=dict)
    inputs: list[Path] = field(default_factory=list)  # described in provenance besides --root
    finish: Callable[[Path], list[str]] | None = None   # returns lines to print
    manifest: str | None = None                        # the source manifest checked (set by `plan`)


class BuildError(RuntimeError):
    """Options or inputs that make a build impossible; the message says what to change."""


Check = Callable[..., manifests.Report]  # check(manifest name, parts, extra_roots=None)


def _plan_grabcut(o: Options, check: Check) -> Plan:
    from datagen.datasets import grabcut
    check("grabcut", ["test"])
    return Plan("benchmark", grabcut.list_items(o.root), grabcut.load, {})


def _plan_berkeley(o: Options, check: Check) -> Plan:
    from datagen.datasets import berkeley
    check("berkeley", ["test"])
    return Plan("benchmark", berkeley.list_items(o.root), berkeley.load, {})


def _plan_davis(o: Options, check: Check) -> Plan:
    from datagen.datasets import davis
    check("davis", ["test"])
    return Plan("benchmark", davis.list_items(o.root), davis.load, {})


def _plan_coco_mval(o: Options, check: Check) -> Plan:
    from datagen.datasets import davis
    check("coco-mval", ["test"])
    return Plan("benchmark", davis.list_items(o.root), davis.load_mval, {})


def _plan_alphamatting(o: Options, check: Check) -> Plan:
    from datagen.datasets import alphamatting
    split = o.split or "training"
    if split not in ("training", "test"):
        raise BuildError(f"alphamatting --split must be training or test, not {split!r}")
    check("alphamatting", [f"{split}-{o.resolution}"])
    items = alphamatting.list_items(o.root, split, o.resolution, o.trimaps)
    return Plan("benchmark", items, alphamatting.load,
                {"split": split, "resolution": o.resolution, "trimaps": list(o.trimaps)})


def _plan_sbd(o: Options, check: Check) -> Plan:
    from datagen.datasets import sbd
    split = o.split or "val"
    if split not in ("train", "val"):
        raise BuildError(f"sbd --split must be train or val, not {split!r}")
    check("sbd", [split])
    items, skipped = sbd.list_items(o.root, split, o.min_area)
    return Plan("benchmark", items, sbd.load,
                {"split": split, "min_area": o.min_area, "instances_below_min_area": skipped})


def _plan_coco(o: Options, check: Check) -> Plan:
    from datagen.datasets import coco
    if o.annotations is None:
        raise BuildError("coco needs --annotations FILE (a COCO-format JSON, e.g. annotations/instances_val2017.json)")
    try:
        items, summary = coco.list_items(o.annotations, o.root, o.min_area)
    except (FileNotFoundError, ValueError) as error:
        raise BuildError(str(error)) from None
    absent = sorted({item.image for item in items if not Path(item.image).is_file()})
    if absent:
        raise BuildError(f"{len(absent)} images named in {o.annotations} are missing under {o.root}:\n"
                         + "\n".join(f"  missing: {path}" for path in absent))
    return Plan("benchmark", items, coco.load, {"min_area": o.min_area, **summary},
                inputs=[o.annotations])


def _composition(name: str) -> Callable[[Options, Check], Plan]:
    def plan(o: Options, check: Check) -> Plan:
        from datagen.benchmarks import composition1k
        return composition1k.plan(name, o, check)
    return plan


def _plan_dim_train(o: Options, check: Check) -> Plan:
    from datagen.benchmarks import dim_train
    return dim_train.plan(o, check)


PLANNERS: dict[str, Callable[[Options, Check], Plan]] = {
    "composition-1k": _composition("composition-1k"),
    "icomp-100": _composition("icomp-100"),
    "dim-train": _plan_dim_train,
    "grabcut": _plan_grabcut,
    "berkeley": _plan_berkeley,
    "sbd": _plan_sbd,
    "coco": _plan_coco,
    "coco-mval": _plan_coco_mval,
    "davis": _plan_davis,
    "alphamatting": _plan_alphamatting,
}


def plan(name: str, options: Options, warn=print) -> Plan:
    """Check the inputs of build `name` against its manifest and list what will be written."""
    if name not in PLANNERS:
        raise BuildError(f"unknown benchmark {name!r}; known: {', '.join(PLANNERS)}")
    if not Path(options.root).is_dir():
        raise BuildError(f"--root {options.root}: no such folder")
    checked: list[str] = []

    def check(manifest: str, parts: list[str], extra_roots: dict[str, Path] | None = None) -> manifests.Report:
        checked.append(manifest)
        return manifests.require(manifest, options.root, parts, extra_roots, warn=warn)

    result = PLANNERS[name](options, check)
    result.manifest = checked[0] if checked else None
    if not result.items:
        raise BuildError(f"{name}: nothing to build under {options.root}")
    return result


def build(name: str, options: Options, out: Path, *, command: str = "", workers: int = 1,
          scheduler: str | None = None, progress: bool = True, warn=print, shard_size: int = 64):
    """Plan, write and finish build `name`; returns (WriteResult, lines from the finish step)."""
    from datagen.cli_common import describe_input
    from datagen.shards import write_dataset

    p = plan(name, options, warn=warn)
    inputs = [describe_input(path) for path in [options.root, *p.extra_roots.values(), *p.inputs]]
    provenance = {"command": command, "params": {"benchmark": name, **p.params},
                  "inputs": inputs}
    if p.manifest:
        provenance["source_manifest"] = {"name": p.manifest, **_manifest_version(p.manifest)}
    result = write_dataset(out, p.kind, p.items, p.make_sample, provenance=provenance, workers=workers, shard_size=shard_size,
                           scheduler=scheduler, progress=progress, desc=f"building {name}")
    lines = p.finish(Path(out)) if p.finish else []
    return result, lines


def _manifest_version(name: str) -> dict:
    doc = manifests.load_manifest(name)
    return {"version": doc["version"]}
