"""The `training` command line: fit, evaluate and predict on datagen shards."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer

from datagen.cli_common import Progress, Scheduler, Version, Workers, command_app, command_with_shared, fail
from datagen.provenance import describe_input

app = command_app("training", "Train and evaluate matting and interactive-segmentation models on datagen shards.")
evaluate_app = typer.Typer(help="Run an evaluation protocol on a benchmark and write a report.", no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")

Benchmark = Annotated[Path, typer.Option("--benchmark", help="Benchmark dataset folder (kind 'benchmark', from `datagen build`).")]
Model = Annotated[str, typer.Option(
    "--model",
    help="baseline:NAME (iseg: grabcut, random_walker; matting: closed_form, knn; imatting: scribble_cf), "
    "package.module:factory returning a model object, a training checkpoint PATH.pt, or PATH.onnx / "
    "PATH.torchscript from `training export`.")]
Out = Annotated[Path, typer.Option("--out", help="Report folder: results.json, table.md and PNG plots. Finished "
                                    "samples are kept in OUT/.records while the run lasts, so a rerun after a kill "
                                    "with the same benchmark, model and settings resumes instead of starting over.")]
Limit = Annotated[Optional[int], typer.Option("--limit", min=1, help="Evaluate only the first N samples (smoke runs).")]
Ids = Annotated[Optional[str], typer.Option(
    "--ids", help="Evaluate only samples whose id matches this shell pattern, e.g. '*_trimap1'.")]
Clicks = Annotated[int, typer.Option("--clicks", min=1, help="Clicks per image (20 in every published protocol).")]


@app.callback()
def _main(version: Version = False) -> None:
    """Train and evaluate matting and interactive-segmentation models on datagen shards."""


@dataclass(frozen=True)
class EvaluationRun:
    """The options every `evaluate` command takes after its own (`command_with_shared`)."""

    ids: Ids = None
    limit: Limit = None
    workers: Workers = 1
    scheduler: Scheduler = None
    progress: Progress = True

    def execution(self):
        """Workers, scheduler and progress as the one object the fan-out takes."""
        from datagen.runner import Execution

        return Execution(self.workers, self.scheduler, self.progress)


RECORDS = ".records"
"""Subfolder of a report folder holding finished samples until the report is written (resuming)."""


def _check_writable(out: Path) -> None:
    """Fail before the work when ``out`` cannot become a report folder: it, or the nearest folder
    above it that exists, must be a writable directory. Nothing is created, so a run that never
    starts leaves no folder behind."""
    import os

    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        fail(f"--out {out}: not writable ({existing} is not a folder)")
    if not os.access(existing, os.W_OK | os.X_OK):
        fail(f"--out {out}: not writable (no write permission on {existing})")


def _run(protocol: str, benchmark: Path, model_spec: str, out: Path, shared: EvaluationRun, config) -> None:
    """What every `evaluate` command does with its protocol's settings ``config``: the fan-out
    (resuming from ``out``/.records), the report (protocol record: training.evaluation.protocols),
    one line per failed sample."""
    import shutil

    from datagen.shards import DatasetError
    from training.evaluation.fanout import evaluate_benchmark
    from training.evaluation.models import ModelError
    from training.evaluation.protocols import PROTOCOLS
    from training.evaluation.report import write_report

    record = PROTOCOLS[protocol]
    _check_writable(out)
    try:
        run = evaluate_benchmark(protocol, str(benchmark), model_spec, config=config, ids=shared.ids,
                                 limit=shared.limit, execution=shared.execution(), records=out / RECORDS)
    except (DatasetError, ModelError, ValueError) as exc:
        fail(str(exc))
    if run.resumed:
        typer.echo(f"resumed: {run.resumed} of {len(run.records)} samples reused from {out / RECORDS}", err=True)
    records = run.records
    settings = {**record.describe(config), "ids": shared.ids, "limit": shared.limit, "model_params": run.model_params,
                "model_uses_previous_mask": run.uses_previous_mask, "input": describe_input(benchmark)}
    write_report(out, protocol=protocol, benchmark=str(benchmark), model=model_spec, settings=settings,
                 records=records, aggregate=record.aggregate(records, config))
    shutil.rmtree(out / RECORDS, ignore_errors=True)
    typer.echo((out / "table.md").read_text(), nl=False)
    failed = [r for r in records if "error" in r]
    for r in failed:
        typer.echo(f"failed: {benchmark}/{r['id']}: {r['error']}", err=True)
    typer.echo(f"report written to {out}")
    if failed:
        raise typer.Exit(1)


@command_with_shared(evaluate_app, "iseg")
def evaluate_iseg(
    benchmark: Benchmark,
    model: Model,
    out: Out,
    robot: Annotated[str, typer.Option("--robot", help="Click robot: R (RITM, deepest error pixel) or L (thesis, largest error region).")] = "R",
    clicks: Clicks = 20,
    target: Annotated[Optional[float], typer.Option(
        "--target", help="Stop an image once IoU >= TARGET (NoC-only run, faster); default: all clicks, "
        "which mIoU@k, AuC and the share curves need.")] = None,
    zoom_in: Annotated[bool, typer.Option(
        "--zoom-in/--no-zoom-in", help="RITM's ZoomIn: after the first click, predict on a crop around the current "
        "object (box x1.4, at least 200 px) resized to --zoom-target-size, pasted back (docs/evaluation.md).")] = False,
    zoom_target_size: Annotated[int, typer.Option(
        "--zoom-target-size", min=1, help="Longer side of the zoom-in crop (RITM: 400; 600 for DAVIS).")] = 400,
    initial_masks: Annotated[Optional[str], typer.Option(
        "--initial-masks", help="Mask correction (FocalClick's DAVIS-585 task): start each sample from 'corrupted' "
        "(the ground truth corrupted by superpixel defects to IoU 0.75-0.85, seeded by --seed and the sample id) or "
        "from FOLDER/<sample id>.png; the model gets it as its previous mask. Models that ignore it still run; "
        "the report says so.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Run seed of --initial-masks corrupted.")] = 0,
    *,
    shared: EvaluationRun,
) -> None:
    """Click-by-click interactive segmentation: NoC@80/85/90/95, failures, mIoU and boundary IoU per click,
    AuC, shares above 90..99 % IoU, corrective-click accuracy, seconds per click (spec metrics.md §B,
    docs/evaluation.md); optional zoom-in and mask correction. --model takes a baseline or a `training fit iseg`
    checkpoint."""
    from training.evaluation.initial_masks import InitialMaskFolder
    from training.evaluation.sample_loops import CORRUPTED, IsegConfig
    from training.evaluation.zoom_in import ZoomInSettings

    robot = robot.upper()
    if robot not in ("R", "L"):
        fail(f"--robot must be R or L, got {robot}")
    if initial_masks is not None and initial_masks != CORRUPTED:
        try:
            InitialMaskFolder(initial_masks)
        except ValueError as exc:
            fail(str(exc))
        initial_masks = str(Path(initial_masks).resolve())
    zoom = ZoomInSettings(target_size=zoom_target_size) if zoom_in else None
    _run("iseg", benchmark, model, out, shared, IsegConfig(robot=robot, max_clicks=clicks, target=target, zoom_in=zoom,
                                                           initial_masks=initial_masks, seed=seed))


@command_with_shared(evaluate_app, "matting")
def evaluate_matting(benchmark: Benchmark, model: Model, out: Out, *, shared: EvaluationRun) -> None:
    """Trimap matting (Composition-1k protocol): quantise to 8 bits, mask by the trimap, then SAD, MSE,
    Grad, Conn and MAD over the unknown region (spec metrics.md §A, docs/evaluation.md); plots: SAD per
    sample and SAD against the unknown region's size. Needs a benchmark with alpha and trimaps (a
    segmentation or trimap-free set is refused: use `evaluate iseg` or `evaluate imatting`)."""
    _run("matting", benchmark, model, out, shared, None)


@command_with_shared(evaluate_app, "imatting")
def evaluate_imatting(benchmark: Benchmark, model: Model, out: Out, clicks: Clicks = 20, *,
                      shared: EvaluationRun) -> None:
    """Interactive matting (Interactive Composition-100 protocol): matting-robot clicks from an all-zero
    alpha; SAD, MSE, Grad, Conn and MAD on the whole image after each click and their mean (spec §B.7);
    the protocol for trimap-free sets (AM-2K, P3M, AIM-500: whole-image scoring)."""
    from training.evaluation.sample_loops import ImattingConfig

    _run("imatting", benchmark, model, out, shared, ImattingConfig(max_clicks=clicks))


@app.command("demo")
def demo(
    model: Model,
    allow: Annotated[Optional[list[Path]], typer.Option(
        "--allow", help="Another checkpoint or exported file (.pt, .onnx, .torchscript) the page may load (repeatable). The page loads only --model, these "
        "files and baseline:NAME: nothing a visitor types picks code to run.")] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port of the web page.")] = 7860,
    host: Annotated[str, typer.Option("--host", help="Address to bind; 127.0.0.1 keeps the page on this machine.")] = "127.0.0.1",
    max_pixels: Annotated[float, typer.Option("--max-megapixels", min=0.01, help="Larger uploads are scaled to this for the model; results are scaled back.")] = 1.0,
) -> None:
    """A click-to-select web page (Gradio) for any model `evaluate` accepts: upload a picture, click, download mask / alpha / foreground / composite.

    The model is loaded and the port checked before the page is served; uploads and downloads live in
    a `training-demo-*` folder under the temporary directory, removed when the server stops."""
    from training.demo.app import serve
    from training.demo.session import DemoInputError
    try:
        serve(model, allow or (), host=host, port=port, max_pixels=int(max_pixels * 1e6),
              announce=lambda url: typer.echo(f"serving on {url} (Ctrl-C stops)"))
    except DemoInputError as error:
        fail(str(error))


# --------------------------------------------------------------------------- fit and predict
fit_app = typer.Typer(help="Train a network on datagen shards (one process, or many under torchrun).",
                      no_args_is_help=True)
app.add_typer(fit_app, name="fit")


FitOut = Annotated[Path, typer.Option("--out", help="Run folder: last.pt, epoch-NNNN.pt checkpoints, metrics.csv and config.toml (the resolved config, for reading).")]
FitConfig = Annotated[str, typer.Option(
    "--config", help="A shipped config by name (thesis: the paper's recipe; tiny: a CPU variant) or a TOML file.")]
# not split at commas like other list options: a value may itself be a TOML list ([640, 480])
FitSet = Annotated[Optional[list[str]], typer.Option(
    "--set", help="Override a config value, TABLE.KEY=VALUE (TOML syntax), e.g. --set train.lr=1e-5; repeatable.")]
FitMaxSteps = Annotated[Optional[int], typer.Option(
    "--max-steps", min=1, help="Stop after N steps (a step: one batch for fba, one image slot through all its clicks for "
    "iseg and imatting); the schedule still follows the full run, and --resume continues.")]
FitPretrained = Annotated[Optional[Path], typer.Option(
    "--pretrained", help="Local ImageNet ResNet-50 state dict (torchvision or timm names) for the encoder / image stream.")]
FitResume = Annotated[bool, typer.Option("--resume", help="Continue exactly from OUT/last.pt.")]
FitOverwrite = Annotated[bool, typer.Option(
    "--overwrite", help="Replace the run already in --out (its checkpoints and metrics); without it such a folder is refused.")]
FitAmp = Annotated[str, typer.Option("--amp", help="Mixed precision: none, bf16 or fp16 (fp16 on CUDA only).")]
FitDevice = Annotated[str, typer.Option("--device", help="auto (CUDA if present), cpu or cuda.")]
Objects = Annotated[Optional[Path], typer.Option("--objects", help="Objects bank (online compositing; with --backgrounds).")]
Backgrounds = Annotated[Optional[Path], typer.Option("--backgrounds", help="Backgrounds bank for online compositing.")]
Matting = Annotated[Optional[Path], typer.Option("--matting", help="Matting shards (image, alpha, fg, bg) instead of banks.")]


def _matting_source(objects: Path | None, backgrounds: Path | None, matting: Path | None) -> dict[str, str | None]:
    """The matting data keywords of fit_fba / fit_imatting: a bank pair or shards, never both."""
    banks = objects is not None and backgrounds is not None
    if not (banks and matting is None or matting is not None and objects is None and backgrounds is None):
        fail("give either --matting SHARDS, or --objects BANK and --backgrounds BANK")
    return {"objects": _text(objects), "backgrounds": _text(backgrounds), "matting": _text(matting)}


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


@dataclass(frozen=True)
class FitRun:
    """The options every `fit` command takes after its own (`command_with_shared`)."""

    overrides: FitSet = None
    max_steps: FitMaxSteps = None
    resume: FitResume = False
    overwrite: FitOverwrite = False
    amp: FitAmp = "none"
    device: FitDevice = "auto"
    progress: Progress = True

    def options(self):
        """The FitOptions every network's fit function takes (messages to the terminal)."""
        from training.loops.engine import FitOptions

        return FitOptions(max_steps=self.max_steps, resume=self.resume, overwrite=self.overwrite, amp=self.amp,
                          progress=self.progress, report=typer.echo)


def _fit(network: str, run: FitRun, config: str, train: Callable) -> None:
    """What every `fit` command does around its network's fit function (from the network table,
    :mod:`training.networks`): the config with the --set overrides, the world (one process or
    torchrun's), one-line errors, the process group closed, a summary line.
    `train(fit, config, world, options)` gets the fit function and FitRun's FitOptions."""
    from datagen.shards import DatasetError
    from training.distributed import close_world, init_world
    from training.loops.engine import RunInterrupted
    from training.networks import NETWORKS

    parts = NETWORKS[network].parts()
    try:
        run_config = parts.load_config(config, tuple(run.overrides or ()))
        world = init_world(run.device)
    except ValueError as exc:
        fail(str(exc))
    try:
        result = train(parts.fit, run_config, world, run.options())
    except (ValueError, DatasetError, FloatingPointError) as exc:
        fail(str(exc))
    except RunInterrupted as stop:
        if world.is_main:
            typer.echo(str(stop), err=True)
        raise typer.Exit(stop.exit_code) from None
    finally:
        close_world(world)
    if world.is_main:
        typer.echo(f"fit {network}: {result.steps_done}/{result.total_steps} steps, checkpoint {result.checkpoint}, "
                   f"metrics {result.metrics}")


def _starting_weights_note(config: str, run: FitRun, pretrained: Path | None, init: Path | None) -> None:
    """Say so when the thesis recipe starts from random weights: the thesis's networks start from
    ImageNet weights, which this package cannot download (rank 0 only under torchrun)."""
    if config == "thesis" and pretrained is None and init is None and not run.resume and os.environ.get("RANK", "0") == "0":
        typer.echo("the thesis starts from ImageNet weights (--pretrained R50.pth: a local torchvision or timm "
                   "ResNet-50 state dict); this run starts from random weights")


def _model_overrides(run: FitRun) -> tuple[str, ...]:
    """The --set items of the [model] table: with --init they must agree with the checkpoint."""
    return tuple(item for item in run.overrides or () if item.strip().startswith("model."))


@command_with_shared(fit_app, "fba")
def fit_fba_command(
    out: FitOut,
    config: FitConfig = "thesis",
    objects: Objects = None,
    backgrounds: Backgrounds = None,
    matting: Matting = None,
    pretrained: FitPretrained = None,
    init: Annotated[Optional[Path], typer.Option(
        "--init", help="An fba checkpoint to start from (one of ours, or `training import-weights fba`): its network "
        "and weights; --config then sets data and training only.")] = None,
    *,
    shared: FitRun,
) -> None:
    """Train FBA matting (thesis Ch. 4.3): `training fit fba --config tiny --objects BANK --backgrounds BG --out RUN`.
    Iterations = epochs x samples per epoch / (batch x world size); `torchrun --nproc_per_node N -m training fit fba ...` for DDP."""
    source = _matting_source(objects, backgrounds, matting)
    _starting_weights_note(config, shared, pretrained, init)
    _fit("fba", shared, config, lambda fit, cfg, world, options: fit(
        cfg, out, world, **source, pretrained=pretrained and str(pretrained), init=init and str(init),
        model_overrides=_model_overrides(shared), options=options))


@command_with_shared(fit_app, "imatting")
def fit_imatting_command(
    out: FitOut,
    data: Annotated[Path, typer.Option("--data", help="Task 1 images with object masks: seg shards or a benchmark with masks (SBD).")],
    config: FitConfig = "thesis",
    objects: Annotated[Optional[Path], typer.Option("--objects", help="Objects bank for Tasks 2-3 (online compositing; with --backgrounds).")] = None,
    backgrounds: Backgrounds = None,
    matting: Annotated[Optional[Path], typer.Option("--matting", help="Matting shards for Tasks 2-3 instead of banks.")] = None,
    init: Annotated[Optional[Path], typer.Option("--init", help="FBA checkpoint to start from (thesis Ch. 5.2.2); input channels adapted.")] = None,
    *,
    shared: FitRun,
) -> None:
    """Train interactive matting (thesis Ch. 5.2), the three-task ping-pong: `training fit imatting --config tiny
    --objects BANK --backgrounds BG --data SEG_SHARDS --init FBA_CKPT --out RUN`."""
    source = _matting_source(objects, backgrounds, matting)
    _fit("imatting", shared, config, lambda fit, cfg, world, options: fit(
        cfg, out, world, seg=str(data), **source, init=init and str(init), options=options))


@command_with_shared(fit_app, "iseg")
def fit_iseg_command(
    out: FitOut,
    data: Annotated[Path, typer.Option("--data", help="Images with object masks: seg shards (datagen synth-seg) or a benchmark with masks (SBD, COCO).")],
    config: FitConfig = "thesis",
    stage: Annotated[str, typer.Option(
        "--stage", help="pretrain: the config's train table (thesis: synthetic data); finetune: the train table with "
        "the finetune table's epochs and lr (thesis: real data), from --init.")] = "pretrain",
    init: Annotated[Optional[Path], typer.Option(
        "--init", help="An iseg checkpoint to start from (the pretrain run's last.pt for --stage finetune, or "
        "`training import-weights iseg`): its network and weights; --config then sets data and training only.")] = None,
    pretrained: FitPretrained = None,
    *,
    shared: FitRun,
) -> None:
    """Train interactive segmentation click by click (thesis Ch. 3.2): `training fit iseg --config tiny --data SEG_SHARDS
    --out RUN`; fine-tune with `--stage finetune --data SBD --init RUN/last.pt --out RUN2`."""
    if stage == "pretrain":
        _starting_weights_note(config, shared, pretrained, init)
    _fit("iseg", shared, config, lambda fit, cfg, world, options: fit(
        cfg, out, world, data=str(data), stage=stage, init=init and str(init),
        pretrained=pretrained and str(pretrained), model_overrides=_model_overrides(shared), options=options))


@app.command("import-weights")
def import_weights_command(
    network: Annotated[str, typer.Argument(help="fba (FBA_Matting's FBA.pth) or iseg (DeepInteractiveSegmentation's InterSegSynthFT.pth).")],
    weights: Annotated[Path, typer.Argument(help="The published state dict file (.pth), downloaded by you; nothing in it is executed.")],
    out: Annotated[Path, typer.Option("--out", help="The checkpoint to write (.pt): predict, evaluate, demo and fit --init take it.")],
) -> None:
    """Turn a published FBA or interactive-segmentation state dict into a checkpoint of ours: every key mapped,
    every shape checked; a file that is not that network's writes nothing (README: "Use the published models")."""
    from training.published import import_weights

    try:
        result = import_weights(network, weights, out)
    except ValueError as exc:
        fail(str(exc))
    typer.echo(str(result))


@app.command("export")
def export_command(
    model: Annotated[Path, typer.Option("--model", help="A training checkpoint (.pt) of fba, imatting or iseg (also one from `training import-weights`).")],
    out: Annotated[Path, typer.Option("--out", help="FILE.onnx (onnxruntime) or FILE.torchscript (torch.jit): the format follows the extension.")],
) -> None:
    """Write a checkpoint's network as an ONNX or TorchScript file (any height and width, weight standardisation
    folded, metadata inside) that predict, evaluate and demo take with --model (docs/export.md)."""
    from training.inference.export import export_checkpoint

    try:
        result = export_checkpoint(model, out)
    except ValueError as exc:
        fail(str(exc))
    typer.echo(str(result))


@app.command("predict")
def predict_command(
    model: Annotated[Path, typer.Option("--model", help="A training checkpoint (.pt) or a file from `training export` (.onnx, .torchscript): matting (fba, imatting) or interactive segmentation (iseg).")],
    image: Annotated[Path, typer.Option("--image", help="The image (any size).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for alpha.png, fg.png, bg.png and composite.png (matting) or mask.png, probability.png and overlay.png (iseg).")],
    trimap: Annotated[Optional[Path], typer.Option("--trimap", help="Its trimap: same size, 0 background, 128 unknown, 255 foreground (matting).")] = None,
    clicks: Annotated[Optional[Path], typer.Option("--clicks", help="Instead of a trimap: clicks JSON [[y, x, is_positive], ...] in click order (interactive matting; iseg replays them one by one).")] = None,
    scribbles_fg: Annotated[Optional[Path], typer.Option("--scribbles-fg", help="Instead of a trimap: FG scribble image (non-zero = foreground), with --scribbles-bg; iseg: one click per stroke, every scribbled pixel kept.")] = None,
    scribbles_bg: Annotated[Optional[Path], typer.Option("--scribbles-bg", help="BG scribble image (non-zero = background), with --scribbles-fg.")] = None,
    background: Annotated[Optional[str], typer.Option(
        "--background", help="New background for composite.png: an image file or a colour ('white', '#00ff00'); default a checkerboard (matting).")] = None,
    tta: Annotated[bool, typer.Option("--tta", help="Test-time augmentation: flips x 4 rotations x --tta-scales, averaged (matting).")] = False,
    tta_scales: Annotated[str, typer.Option("--tta-scales", help="Comma-separated scales for --tta.")] = "1,1.5",
    max_megapixels: Annotated[float, typer.Option(
        "--max-megapixels", min=0.001, help="Memory budget: larger images are predicted scaled down to it and the result scaled back.")] = 4.2,
    max_input_megapixels: Annotated[float, typer.Option(
        "--max-input-megapixels", min=0.0001, help="Largest image accepted, checked from the file's header before "
        "decoding (decoding alone needs ~10 bytes a pixel).")] = 100.0,
    tile: Annotated[int, typer.Option(
        "--tile", min=0, help="Matting: predict an image above the budget at full resolution in overlapping TILE x TILE "
        "windows (multiple of 8) instead of scaled down; 0 (default) scales it. Windows lose global context.")] = 0,
    device: Annotated[str, typer.Option("--device", help="auto (CUDA if present), cpu or cuda.")] = "auto",
    conv: Annotated[str, typer.Option(
        "--conv", help="A checkpoint's convolutions on the CPU: winograd (Winograd 3x3 layers by NNPACK, pyramid "
        "pooling folded; predict ~1.9x faster at 1080p, outputs within ~1e-4), direct (the network as trained), "
        "or auto (winograd where available).")] = "auto",
) -> None:
    """Matting: alpha, foreground and background for one image and its trimap, clicks or scribbles (with fusion).
    Interactive segmentation: the mask, its probability and an overlay for one image and its clicks or scribbles."""
    from datagen.compose.convert import to_uint8
    from datagen.imageio import check_pixel_count, read_image
    from training.inference import PredictOptions, load_network
    from training.networks import INPUTS, takers
    from training.predict import read_user_input

    try:
        scales = tuple(float(s) for s in tta_scales.split(",") if s.strip())
        check_pixel_count(image, int(max_input_megapixels * 1e6), raise_with=", or raise --max-input-megapixels")
        picture = to_uint8(read_image(image))
        network, predictor = load_network(model, PredictOptions(device, tta, scales, int(max_megapixels * 1e6), tile, conv))
        user = read_user_input(network.predict_inputs, network.described, picture.shape[:2], image.name,
                               trimap=trimap, clicks=clicks, scribbles_fg=scribbles_fg, scribbles_bg=scribbles_bg,
                               takers={kind: takers(kind) for kind in INPUTS})
        written = network.parts().predict(out, predictor, picture, user, background)
    except ValueError as exc:
        fail(str(exc))
    typer.echo(f"wrote {', '.join(p.name for p in written)} to {out}")


if __name__ == "__main__":
    app()
