"""The Gradio page of `training demo`: upload, click, see the mask or alpha, download.

Only this module imports gradio (slow to import, and only the demo needs it). It is a thin
layer over `training.demo.session`: every handler turns a user error into a message on the
page and leaves the server serving. Gradio runs these (synchronous) handlers in its worker
threads, one event at a time per handler, so inference never blocks the server's event loop
and each click is one model call.

Nothing here reaches the network: analytics and the Hugging Face hub are switched off before
gradio is imported, no share link is made, the default theme's fonts are served locally, and
the server binds 127.0.0.1 unless told otherwise.

Nothing a visitor sends picks code to run: the page loads only the models of its `ModelOffer`
(training/demo/offer.py, docs/demo.md). Gradio's uploads and the page's downloads live in one
`training-demo-*` folder under the temporary directory, removed when the server stops.

(No `from __future__ import annotations` here: Gradio reads the handlers' `gr.SelectData`
annotation at run time to pass the click event.)
"""

import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from training.demo.offer import ModelCache, ModelOffer
from training.demo.session import MAX_MODEL_PIXELS, DemoInputError, Session, parse_colour, read_upload
from training.evaluation.protocols import PROTOCOLS

OFFLINE_ENV = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
MODES = ("foreground", "background")
TASK_HELP = {name: protocol.demo.help for name, protocol in PROTOCOLS.items()}


def build_app(models: ModelCache, work_dir: Path, max_pixels: int = MAX_MODEL_PIXELS):
    """The gr.Blocks page over the offered `models`; downloads are written under `work_dir`."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    import gradio as gr

    from datagen.imageio import write_png

    def model_line(spec: str) -> str:
        try:
            model, task = models.get(spec)
        except DemoInputError as error:
            return f"**Model not loaded:** {error}"
        return f"Model `{spec.strip()}` ({task}): {TASK_HELP[task]}"

    def model_status(spec: str):
        """The model line, and only the controls the model's task takes (clicks, or a trimap)."""
        line = model_line(spec)
        if line.startswith("**Model not loaded"):
            return line, gr.update(), gr.update(), gr.update()
        clicks = _task(spec) != "matting"
        return line, gr.update(visible=clicks), gr.update(visible=clicks), gr.update(visible=not clicks)

    def view(session: Session, task: str, message: str):
        """The four outputs every handler updates: state, clickable overlay, result, status line."""
        return session, session.overlay(task), session.result_view(task), message

    def on_upload(path, spec):
        if path is None:
            return None, None, None, "Upload an image to start."
        try:
            session = Session(read_upload(path), max_pixels=max_pixels)
        except DemoInputError as error:
            return None, None, None, f"**Cannot use this upload:** {error}"
        task = _task(spec)
        return view(session, task, session.note() + " " + model_line(spec))

    def attempt(session: Session, action, done):
        """Run `action() -> task` (one model call); bad input or a failing model becomes the
        status line and the page keeps its picture; on success the page shows `done()`."""
        try:
            task = action()
        except DemoInputError as error:
            return session, gr.update(), gr.update(), f"**{error}**"
        except Exception as error:  # noqa: BLE001 - a failing model must not take the page down
            return session, gr.update(), gr.update(), f"**The model failed:** {type(error).__name__}: {error}"
        return view(session, task, done())

    def on_click(session: Session | None, spec: str, mode: str, evt: gr.SelectData):
        if session is None:
            return None, gr.update(), gr.update(), "Upload an image first."
        x, y = (int(v) for v in evt.index[:2])

        def action() -> str:
            model, task = models.get(spec)
            session.click(model, task, y, x, positive=mode == MODES[0])
            return task

        start = time.perf_counter()
        return attempt(session, action, lambda: f"{len(session.clicks)} click(s); the last took "
                                                f"{time.perf_counter() - start:.2f} s. {session.note()}")

    def on_trimap(session: Session | None, spec: str, path):
        if session is None or path is None:
            return session, gr.update(), gr.update(), "Upload an image, then its trimap."

        def action() -> str:
            model, task = models.get(spec)
            if task != "matting":
                raise DemoInputError(f"model {spec.strip()!r} works from clicks ({task}), not from a trimap")
            session.set_trimap(model, read_upload(path)[..., 0])
            return task

        return attempt(session, action, lambda: f"Alpha from the trimap. {session.note()}")

    def on_undo(session: Session | None, spec: str):
        if session is None:
            return None, gr.update(), gr.update(), "Nothing to undo."
        session.undo()
        return view(session, _task(spec), f"{len(session.clicks)} click(s).")

    def on_reset(session: Session | None, spec: str):
        if session is None:
            return None, gr.update(), gr.update(), "Nothing to reset."
        session.reset()
        return view(session, _task(spec), "Cleared. " + session.note())

    def _task(spec: str) -> str:
        try:
            return models.get(spec)[1]
        except DemoInputError:
            return "iseg"

    def on_export(session: Session | None, spec: str, colour: str):
        if session is None or not session.results:
            return None, "Click (or upload a trimap) first: there is nothing to download yet."
        try:
            background = parse_colour(colour)
        except DemoInputError as error:
            return None, f"**{error}**"
        folder = Path(tempfile.mkdtemp(prefix="export-", dir=work_dir))   # gradio serves (and caches) these copies
        paths = []
        for name, array in session.exports(_task(spec), background).items():
            path = folder / f"{name}.png"
            write_png(path, array)
            paths.append(str(path))
        return paths, f"Downloads ready ({session.image.shape[1]}x{session.image.shape[0]})."

    with gr.Blocks(title="matting-datagen: click to select", analytics_enabled=False) as app:
        gr.Markdown("## Click to select\nUpload a picture, then click: the model runs once per click.")
        with gr.Row():
            spec_box = gr.Dropdown(choices=models.offer.choices(), value=models.offer.default, scale=4,
                                   label="Model (those this server offers: its --model, --allow checkpoints, baselines)",
                                   elem_id="model-choice")
            load_button = gr.Button("Load model", scale=1)
        model_info = gr.Markdown(elem_id="model-info")
        status = gr.Markdown("Upload an image to start.", elem_id="status")
        state = gr.State(None)
        with gr.Row():
            with gr.Column(scale=1, min_width=260):
                upload = gr.File(label="Image", type="filepath", elem_id="upload", height=120)
                mode = gr.Radio(list(MODES), value=MODES[0], label="A click adds", elem_id="mode")
                with gr.Row():
                    undo = gr.Button("Undo", elem_id="undo")
                    reset = gr.Button("Reset", elem_id="reset")
                trimap = gr.File(label="Trimap (matting models)", type="filepath", elem_id="trimap", height=120)
                colour = gr.ColorPicker(value="#00ff00", label="Composite colour")
                export = gr.Button("Prepare downloads", elem_id="export")
                files = gr.File(label="mask / alpha / foreground / composite", file_count="multiple", elem_id="downloads")
            canvas = gr.Image(label="Click on the picture", type="numpy", format="png", interactive=False,
                              elem_id="canvas", height=560, scale=2, buttons=["fullscreen"])
            result = gr.Image(label="Mask / alpha", type="numpy", format="png", interactive=False, elem_id="result",
                              height=560, scale=2, buttons=["download", "fullscreen"])

        outputs = [state, canvas, result, status]
        status_outputs = [model_info, mode, undo, trimap]
        app.load(model_status, spec_box, status_outputs, api_name="load_model")
        load_button.click(model_status, spec_box, status_outputs)
        spec_box.change(model_status, spec_box, status_outputs)
        upload.upload(on_upload, [upload, spec_box], outputs)
        canvas.select(on_click, [state, spec_box, mode], outputs)
        trimap.upload(on_trimap, [state, spec_box, trimap], outputs)
        undo.click(on_undo, [state, spec_box], outputs)
        reset.click(on_reset, [state, spec_box], outputs)
        export.click(on_export, [state, spec_box, colour], [files, status])
    return app


def serve(model: str, allow: list[Path] | tuple[Path, ...] = (), host: str = "127.0.0.1", port: int = 7860,
          max_pixels: int = MAX_MODEL_PIXELS, announce: Callable[[str], None] = print) -> None:
    """Check what the server needs, then serve the page until interrupted (Ctrl-C or SIGTERM).

    Checked before anything is served (DemoInputError, one line): every --allow file exists, the
    --model loads, the port is free. Then `announce(url)`, and the page runs with its uploads and
    downloads in a fresh `training-demo-*` folder that is removed when the server stops."""
    offer = ModelOffer.from_command_line(model, allow)
    models = ModelCache(offer)
    models.get(offer.default)
    check_port(host, port)
    work_dir = Path(tempfile.mkdtemp(prefix="training-demo-"))
    os.environ["GRADIO_TEMP_DIR"] = str(work_dir / "uploads")      # read by gradio when it is imported
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        app = build_app(models, work_dir, max_pixels)
        app.queue(default_concurrency_limit=1)
        announce(f"http://{host}:{port}")
        app.launch(server_name=host, server_port=port, share=False, inbrowser=False, show_error=True, quiet=True,
                   ssr_mode=False, max_file_size="200mb")
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(work_dir, ignore_errors=True)


def check_port(host: str, port: int) -> None:
    """DemoInputError naming --port when (host, port) cannot be bound (busy, or not this machine's)."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            reason = "is in use" if error.errno in (98, 48) else f"cannot be used ({error.strerror})"
            raise DemoInputError(f"port {port} on {host} {reason}; choose another with --port") from None


def _interrupt(signum, frame) -> None:
    """SIGTERM stops the server like Ctrl-C, so that its folder is removed on the way out."""
    raise KeyboardInterrupt
