"""The `training` command line: fit, evaluate and predict on datagen shards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from datagen.cli_common import Progress, Scheduler, Workers, describe_input, fail

app = typer.Typer(
    name="training",
    help="Train and evaluate matting and interactive-segmentation models on datagen shards.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
evaluate_app = typer.Typer(help="Run an evaluation protocol on a benchmark and write a report.", no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")

Benchmark = Annotated[Path, typer.Option("--benchmark", help="Benchmark dataset folder (kind 'benchmark', from `datagen build`).")]
Model = Annotated[str, typer.Option(
    "--model",
    help="baseline:NAME (iseg: grabcut, random_walker; matting: closed_form, knn; imatting: scribble_cf) "
    "or package.module:factory returning a model object.")]
Out = Annotated[Path, typer.Option("--out", help="Report folder: results.json, table.md and PNG plots.")]
Limit = Annotated[Optional[int], typer.Option("--limit", min=1, help="Evaluate only the first N samples (smoke runs).")]
Ids = Annotated[Optional[str], typer.Option(
    "--ids", help="Evaluate only samples whose id matches this shell pattern, e.g. '*_trimap1'.")]
Clicks = Annotated[int, typer.Option("--clicks", min=1, help="Clicks per image (20 in every published protocol).")]


@app.callback()
def _main() -> None:
    """Train and evaluate matting and interactive-segmentation models on datagen shards."""


def _run(protocol: str, benchmark: Path, model_spec: str, out: Path, *, config=None, clicks: int = 20,
         ids: str | None, limit: int | None, workers: int, scheduler: str | None, progress: bool, settings: dict) -> None:
    from datagen.shards import DatasetError, open_dataset
    from training.evaluation.models import load_model
    from training.evaluation.protocols import aggregate_imatting, aggregate_iseg, aggregate_matting, evaluate_benchmark
    from training.evaluation.report import write_report

    try:
        open_dataset(benchmark)
        model = load_model(model_spec, protocol)
    except (DatasetError, ValueError) as exc:
        fail(str(exc))
    records = evaluate_benchmark(protocol, str(benchmark), model, config=config, max_clicks=clicks, ids=ids, limit=limit,
                                 workers=workers, scheduler=scheduler, progress=progress)
    aggregate = {"iseg": lambda r: aggregate_iseg(r, config), "matting": aggregate_matting,
                 "imatting": aggregate_imatting}[protocol](records)
    settings = {**settings, "ids": ids, "limit": limit, "model_params": repr(model), "input": describe_input(benchmark)}
    write_report(out, protocol=protocol, benchmark=str(benchmark), model=model_spec, settings=settings,
                 records=records, aggregate=aggregate)
    typer.echo((out / "table.md").read_text(), nl=False)
    failed = [r for r in records if "error" in r]
    for r in failed:
        typer.echo(f"failed: {benchmark}/{r['id']}: {r['error']}", err=True)
    typer.echo(f"report written to {out}")
    if failed:
        raise typer.Exit(1)


@evaluate_app.command("iseg")
def evaluate_iseg(
    benchmark: Benchmark,
    model: Model,
    out: Out,
    robot: Annotated[str, typer.Option("--robot", help="Click robot: R (RITM, deepest error pixel) or L (thesis, largest error region).")] = "R",
    clicks: Clicks = 20,
    target: Annotated[Optional[float], typer.Option(
        "--target", help="Stop an image once IoU >= TARGET (NoC-only run, faster); default: all clicks, "
        "which mIoU@k, AuC and the share curves need.")] = None,
    ids: Ids = None,
    limit: Limit = None,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    progress: Progress = True,
) -> None:
    """Click-by-click interactive segmentation: NoC@80/85/90, mIoU per click, AuC, shares above 90..99 %
    IoU, corrective-click accuracy (spec metrics.md §B)."""
    from training.evaluation.protocols import IsegConfig, config_dict

    robot = robot.upper()
    if robot not in ("R", "L"):
        fail(f"--robot must be R or L, got {robot}")
    config = IsegConfig(robot=robot, max_clicks=clicks, target=target)
    _run("iseg", benchmark, model, out, config=config, clicks=clicks, ids=ids, limit=limit, workers=workers,
         scheduler=scheduler, progress=progress, settings=config_dict(config))


@evaluate_app.command("matting")
def evaluate_matting(
    benchmark: Benchmark,
    model: Model,
    out: Out,
    ids: Ids = None,
    limit: Limit = None,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    progress: Progress = True,
) -> None:
    """Trimap matting (Composition-1k protocol): quantise to 8 bits, mask by the trimap, then SAD, MSE,
    Grad and Conn over the unknown region (spec metrics.md §A)."""
    settings = {"quantisation": "round to nearest", "masked_by_trimap": True}
    _run("matting", benchmark, model, out, ids=ids, limit=limit, workers=workers, scheduler=scheduler,
         progress=progress, settings=settings)


@evaluate_app.command("imatting")
def evaluate_imatting(
    benchmark: Benchmark,
    model: Model,
    out: Out,
    clicks: Clicks = 20,
    ids: Ids = None,
    limit: Limit = None,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    progress: Progress = True,
) -> None:
    """Interactive matting (Interactive Composition-100 protocol): matting-robot clicks from an all-zero
    alpha; SAD, MSE, Grad, Conn on the whole image after each click and their mean (spec §B.7)."""
    settings = {"max_clicks": clicks, "robot": "matting (spec B.6)", "region": "whole image"}
    _run("imatting", benchmark, model, out, clicks=clicks, ids=ids, limit=limit, workers=workers, scheduler=scheduler,
         progress=progress, settings=settings)


if __name__ == "__main__":
    app()
