"""`datagen refit-foregrounds` and `datagen spill-report`: thin layers over `datagen.refit`.

Nothing heavy is imported at module level (no numba, no h5py): `datagen --help` stays fast;
the `--method` help comes from the solver table, which imports no solver.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from datagen.cli_common import Progress, Scheduler, Workers, exit_on_failures, fail
from datagen.foreground.solvers import methods_help
from datagen.provenance import command_line, describe_input


def refit_foregrounds(
    src: Annotated[Optional[Path], typer.Argument(help="An `objects` dataset (omit when using --fg/--alpha).")] = None,
    *,
    out: Annotated[Path, typer.Option("--out", help="Output `objects` dataset with fg_full and bg_full.")],
    fg: Annotated[Optional[Path], typer.Option("--fg", help="Folder of foreground images (instead of SRC).")] = None,
    alpha: Annotated[Optional[Path], typer.Option("--alpha", help="Folder of alpha mattes, paired with --fg by file name; "
                                                  "an RGBA foreground without an alpha file uses its own alpha.")] = None,
    method: Annotated[str, typer.Option("--method", help=methods_help())] = "levin",
    margin: Annotated[Optional[float], typer.Option("--margin", min=0.0, max=0.49, help="levin only: alpha band near "
                                                    "0/1 pinned to the image colour as in Levin's code (0.02 there); "
                                                    "0 (the default) extends F over the whole image.")] = None,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    progress: Progress = True,
) -> None:
    """Re-estimate every object's foreground F and background B at every pixel.

    Shipped foregrounds are valid only where alpha > 0; resampling them spills invalid colours
    into the object's edge. This writes fg_full / bg_full (uint16) valid everywhere, plus
    OUT/refit-report.jsonl (method, iterations, residuals, seconds, spill before/after, notes,
    failures) and prints a summary. Rerunning resumes: finished objects are kept.
    With --workers 1 (the default) levin solves one object at a time on every core; with
    --workers N (or --scheduler) N objects at once, one core each. The output is the same.
    """
    from datagen.foreground.solvers import resolve_options

    options = {} if margin is None else {"margin": margin}
    try:
        resolve_options(method, options)
    except ValueError as error:
        fail(f"--method {method}: {error}")
    if (src is None) == (fg is None):
        fail("give either SRC (an objects dataset) or --fg DIR [--alpha DIR]")
    from datagen.refit.driver import refit_objects
    from datagen.refit.objects import dataset_refs, folder_refs
    from datagen.refit.report import REPORT, summary_table
    from datagen.runner import Execution
    from datagen.shards import DatasetError
    from datagen.shards.build import DatasetExistsError

    try:
        if src is not None:
            refs, inputs = dataset_refs(src), [describe_input(src)]
        else:
            assert fg is not None  # exactly one of SRC and --fg, checked above
            if not fg.is_dir() or (alpha is not None and not alpha.is_dir()):
                fail(f"{fg if not fg.is_dir() else alpha} is not a folder")
            refs, inputs = folder_refs(fg, alpha), [describe_input(fg)] + ([describe_input(alpha)] if alpha else [])
        result, rows = refit_objects(refs, out, method=method, options=options,
                                     execution=Execution(workers, scheduler, progress), provenance={"command": command_line(), "inputs": inputs},
                                     notify=typer.echo)
    except (DatasetError, DatasetExistsError, ValueError, OSError) as error:
        fail(str(error))
    typer.echo(summary_table(rows))
    typer.echo(f"report: {out / REPORT}")
    exit_on_failures(result)


def spill_report(
    dataset: Annotated[Path, typer.Argument(help="An `objects` dataset with fg_full (output of refit-foregrounds).")],
    factor: Annotated[int, typer.Option("--factor", min=2, help="Downsampling factor of the resampling test.")] = 8,
) -> None:
    """Measure colour spill of the shipped fg vs the refit fg_full.

    F and alpha are downsampled FACTOR x and back, composited on neutral grey, and compared in
    the transparent band (0 < alpha < 1) with premultiplied resampling; prints the error
    (0-255) per object, before and after, and the overall reduction.
    """
    import numpy as np

    from datagen.compose.convert import to_unit_float
    from datagen.foreground.spill import spill_score
    from datagen.shards import DatasetError, open_dataset

    try:
        ds = open_dataset(dataset)
    except (DatasetError, OSError, ValueError) as error:
        fail(str(error))
    if "fg_full" not in ds.fields:
        fail(f"{dataset} has no fg_full field; run `datagen refit-foregrounds` first")
    before, after = [], []
    typer.echo(f"{'id':<30} {'fg':>8} {'fg_full':>8} {'ratio':>7}")
    for i in range(len(ds)):
        sample = ds.read(i, fields=("fg", "alpha", "fg_full"))
        a = to_unit_float(sample["alpha"])
        before.append(spill_score(to_unit_float(sample["fg"]), a, factor))
        after.append(spill_score(to_unit_float(sample["fg_full"]), a, factor))
        ratio = before[-1] / after[-1] if after[-1] > 0 else float("inf")
        typer.echo(f"{ds.ids[i]:<30} {before[-1]:8.3f} {after[-1]:8.3f} {ratio:6.1f}x")
    total = float(np.mean(after)) if after else 0.0
    typer.echo(f"mean spill (0-255): fg {np.mean(before) if before else 0:.3f}  fg_full {total:.3f}  "
               f"reduction {np.mean(before) / total if total > 0 else float('inf'):.1f}x")


def register(app: typer.Typer) -> None:
    """Add `refit-foregrounds` and `spill-report` to the `datagen` app."""
    app.command("refit-foregrounds")(refit_foregrounds)
    app.command("spill-report")(spill_report)
