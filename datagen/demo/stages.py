"""The stages `datagen demo` runs, in order: the demo banks first, then every later datagen stage.

A stage is a function `stage(ctx: DemoContext) -> StageOutput`, here: the demo sits above the
features it runs and calls their public functions (imported only when the stage runs, so
`datagen --help` stays fast), and no feature imports the demo. A feature joins the demo with one
stage function and one entry in `STAGES`. A stage reads earlier outputs from `ctx.outputs`
(stage name -> dataset folder) and writes under `ctx.out / <its name>`.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from datagen.runner import Execution
from datagen.shards.build import WriteResult

SYNTH_SIZE = 256  # side of the demo's synthetic samples


@dataclass
class DemoContext:
    """Settings shared by all stages, and what the stages have produced so far."""

    out: Path
    seed: int = 0
    n_objects: int = 24
    n_backgrounds: int = 24
    object_size: tuple[int, int] = (320, 320)
    background_size: tuple[int, int] = (480, 640)
    execution: Execution = Execution()
    photos: bool = True
    command: str | None = None
    outputs: dict[str, Path] = field(default_factory=dict)
    report: Callable[[str], None] = print  # where a stage says something before it finishes (run_stages sets it)


@dataclass(frozen=True)
class StageOutput:
    """Where a stage wrote its output, one summary line, the items that failed, and whether it
    found its output already complete (``up_to_date``: nothing was computed), which the final
    line of `datagen demo` reports stage by stage."""

    path: Path
    summary: str
    failures: tuple[str, ...] = ()
    up_to_date: bool = False

    @classmethod
    def from_write(cls, result: WriteResult, what: str) -> "StageOutput":
        state = "up to date" if result.up_to_date else "written"
        resumed = f" ({result.resumed_shards} shard(s) kept from an earlier run)" if result.resumed_shards else ""
        return cls(Path(result.path), f"{result.n_samples} {what} {state}{resumed}", tuple(map(str, result.failures)),
                   result.up_to_date)


def outcome_line(done: dict[str, StageOutput]) -> str:
    """What the stages did, as the last line of `datagen demo` says it: which ran (wrote or
    resumed their output) and which found it already up to date."""
    ran = [name for name, output in done.items() if not output.up_to_date]
    kept = [name for name, output in done.items() if output.up_to_date]
    parts = ([f"{len(ran)} run ({', '.join(ran)})"] if ran else ["none run"]) + (
        [f"{len(kept)} already up to date ({', '.join(kept)})"] if kept else [])
    return f"{len(done)} stage(s): " + ", ".join(parts)


def objects_stage(ctx: DemoContext) -> StageOutput:
    """The demo object bank: procedural objects with hair, soft/motion-blurred edges, glass, holes."""
    from .banks import build_object_bank

    result = build_object_bank(ctx.out / "objects", ctx.n_objects, ctx.object_size, ctx.seed,
                               ctx.execution, ctx.command)
    return StageOutput.from_write(result, f"objects of {ctx.object_size[0]}x{ctx.object_size[1]}")


def backgrounds_stage(ctx: DemoContext) -> StageOutput:
    """The demo background bank: procedural scenes (texture, shapes, thin structures) and photo crops."""
    from .banks import build_background_bank

    result = build_background_bank(ctx.out / "backgrounds", ctx.n_backgrounds, ctx.background_size, ctx.seed,
                                   ctx.execution, ctx.command, ctx.photos)
    return StageOutput.from_write(result, f"backgrounds of {ctx.background_size[0]}x{ctx.background_size[1]}")


def refit_stage(ctx: DemoContext) -> StageOutput:
    """Refit fg_full / bg_full of every demo object (levin, margin 0) into OUT/refit."""
    from datagen.refit.driver import refit_objects
    from datagen.refit.objects import dataset_refs

    result, _ = refit_objects(dataset_refs(ctx.outputs["objects"]), ctx.out / "refit", execution=ctx.execution,
                              provenance={"command": ctx.command}, notify=lambda line: ctx.report(f"refit: {line}"))
    return StageOutput.from_write(result, "objects refit")


def synth_seg_stage(ctx: DemoContext) -> StageOutput:
    return _synth_stage(ctx, "seg", "synth-seg")


def synth_matting_stage(ctx: DemoContext) -> StageOutput:
    return _synth_stage(ctx, "matting", "synth-matting")


def _synth_stage(ctx: DemoContext, kind: str, name: str) -> StageOutput:
    """A small synthetic set from the demo banks: the refitted objects (with ``fg_full``) when the
    refit stage ran, else the raw ones; one sample per object, so each is the primary once."""
    from datagen.synth.recipe import SynthParams
    from datagen.synth.run import run_synth

    objects = ctx.outputs.get("refit") or ctx.outputs["objects"]
    with warnings.catch_warnings():  # the raw demo bank has no fg_full; the stage says which bank it used
        warnings.simplefilter("ignore")
        result = run_synth(kind, objects, ctx.outputs["backgrounds"], ctx.out / name, max(ctx.n_objects, 1), ctx.seed,
                           SynthParams(size=SYNTH_SIZE), execution=ctx.execution,
                           command=ctx.command)
    return StageOutput.from_write(result, f"{kind} samples of {SYNTH_SIZE}x{SYNTH_SIZE} from {objects.name}")


# In run order; a later feature joins the demo with one entry here.
STAGES: tuple[tuple[str, Callable[[DemoContext], StageOutput]], ...] = (
    ("objects", objects_stage),
    ("backgrounds", backgrounds_stage),
    ("refit", refit_stage),
    ("synth-seg", synth_seg_stage),
    ("synth-matting", synth_matting_stage),
)


def run_stages(ctx: DemoContext, stages=None, report: Callable[[str], None] = print) -> dict[str, StageOutput]:
    """Run the stages (default: `STAGES`) in order, then verify every output; `report` gets one line per stage."""
    from datagen.shards.verify import verify_dataset

    done: dict[str, StageOutput] = {}
    ctx.report = report
    for name, function in STAGES if stages is None else stages:
        start = time.perf_counter()
        output = function(ctx)
        ctx.outputs[name] = output.path
        done[name] = output
        report(f"{name}: {output.summary} -> {output.path} ({time.perf_counter() - start:.1f} s)")
        for failure in output.failures:
            report(f"{name}: failed: {failure}")
    for name, path in ctx.outputs.items():
        problems = verify_dataset(path)
        report(f"verify {name}: " + ("OK" if not problems else f"{len(problems)} problem(s): {problems[0]}"))
        if problems:
            raise RuntimeError(f"demo output {path} failed verification: {problems[0]}")
    return done
