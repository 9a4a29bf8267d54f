"""`datagen demo` stages for synth-seg and synth-matting: a small set from the demo banks.

Uses the refitted object bank (with ``fg_full``) when the refit stage ran, else the raw
demo objects. ``n`` = number of objects, so every object is the primary exactly once.
"""

from __future__ import annotations

import warnings

from datagen.demo.stages import DemoContext, StageOutput
from datagen.synth.recipe import SynthParams
from datagen.synth.run import run_synth

DEMO_SIZE = 256


def seg_stage(ctx: DemoContext) -> StageOutput:
    return _stage(ctx, "seg", "synth-seg")


def matting_stage(ctx: DemoContext) -> StageOutput:
    return _stage(ctx, "matting", "synth-matting")


def _stage(ctx: DemoContext, kind: str, name: str) -> StageOutput:
    objects = ctx.outputs.get("refit") or ctx.outputs["objects"]
    with warnings.catch_warnings():  # the raw demo bank has no fg_full; the stage says which bank it used
        warnings.simplefilter("ignore")
        result = run_synth(kind, objects, ctx.outputs["backgrounds"], ctx.out / name, max(ctx.n_objects, 1), ctx.seed,
                           SynthParams(size=DEMO_SIZE), workers=ctx.workers, scheduler=ctx.scheduler,
                           progress=ctx.progress, command=ctx.command)
    return StageOutput.from_write(result, f"{kind} samples of {DEMO_SIZE}x{DEMO_SIZE} from {objects.name}")
