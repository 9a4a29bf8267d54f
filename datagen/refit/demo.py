"""The `refit` stage of `datagen demo`: refit the demo object bank's foregrounds."""

from __future__ import annotations

from datagen.demo.stages import DemoContext, StageOutput


def stage(ctx: DemoContext) -> StageOutput:
    """Refit fg_full / bg_full of every demo object (levin, margin 0) into OUT/refit."""
    from datagen.refit.driver import refit_objects
    from datagen.refit.objects import dataset_refs

    result, _ = refit_objects(dataset_refs(ctx.outputs["objects"]), ctx.out / "refit", workers=ctx.workers,
                              scheduler=ctx.scheduler, progress=ctx.progress, provenance={"command": ctx.command})
    return StageOutput.from_write(result, "objects refit")
