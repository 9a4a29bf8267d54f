"""Write and read exported networks: `.onnx` (onnxruntime) and `.torchscript` (torch.jit).

Why both: ONNX runs without PyTorch (onnxruntime on CPU, GPU, mobile), TorchScript runs in
C++ libtorch and keeps PyTorch's kernels. The format follows the file's extension; `.pt` stays a
training checkpoint everywhere.

Every input and output is exported with dynamic batch, height and width. The file carries, as
JSON metadata (ONNX `metadata_props`, TorchScript's extra file), what a predictor needs to use
it: the network family, its model config, the run config (encodings, distance sigmas, fusion),
and the names and channel counts of the inputs and outputs. Files are written to a temporary
name and renamed, like checkpoints.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

FORMAT = "matting-datagen-export"
VERSION = 1
METADATA_KEY = "matting_datagen"
TORCHSCRIPT_EXTRA = "matting_datagen.json"
SUFFIXES = (".onnx", ".torchscript")
ONNX_OPSET = 17


def quiet_jit() -> None:
    """Inside a `warnings.catch_warnings()`: silence what tracing and the TorchScript-based ONNX
    exporter say about themselves. Both are deprecated in favour of torch.export, but they are
    what keeps height and width dynamic here without extra packages (the torch.export exporter
    specialises shapes in these networks and needs onnxscript), and the parity tests check
    every file they write; the warnings would tell a user nothing they can act on."""
    warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
    warnings.simplefilter("ignore", category=DeprecationWarning)
    warnings.simplefilter("ignore", category=FutureWarning)


class ExportError(ValueError):
    """A file that cannot be exported to or used as an exported network; one line naming it."""


@dataclass(frozen=True)
class TensorSpec:
    """One named input or output: its channel count (dimension 1); batch, height and width are free."""

    name: str
    channels: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "channels": self.channels}


def export_format(path: str | Path) -> str:
    """'onnx' or 'torchscript' from the file's extension; ExportError for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ExportError(f"{path}: the export format follows the extension: {', '.join(SUFFIXES)} "
                          "(.pt is a training checkpoint)")
    return suffix[1:]


def is_exported(path: str | Path) -> bool:
    return Path(path).suffix.lower() in SUFFIXES


def write_exported(net: nn.Module, example: dict[str, Tensor], outputs: list[TensorSpec], path: str | Path,
                   metadata: dict[str, Any]) -> Path:
    """Export `net` (called as `net(**example)` in eval mode, no grad) to `path`.

    `example`: one input per forward argument, in the forward's order, of a valid size; the
    exported file accepts any batch, height and width. `metadata` (JSON-serialisable) is stored
    with the input and output specs under `METADATA_KEY`."""
    path = Path(path)
    kind = export_format(path)
    inputs = [TensorSpec(name, int(t.shape[1])) for name, t in example.items()]
    document = {"format": FORMAT, "version": VERSION, **metadata, "inputs": [s.to_dict() for s in inputs],
                "outputs": [s.to_dict() for s in outputs]}
    text = json.dumps(document, sort_keys=True)
    args = tuple(example.values())
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    net = net.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            quiet_jit()
            if kind == "onnx":
                _write_onnx(net, args, inputs, outputs, tmp, text)
            else:
                traced = torch.jit.trace(net, args, check_trace=False)
                torch.jit.save(traced, str(tmp), _extra_files={TORCHSCRIPT_EXTRA: text})
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return path


def _write_onnx(net: nn.Module, args: tuple[Tensor, ...], inputs: list[TensorSpec], outputs: list[TensorSpec],
                path: Path, text: str) -> None:
    import onnx

    axes = {spec.name: {0: "batch", 2: "height", 3: "width"} for spec in [*inputs, *outputs]}
    torch.onnx.export(net, args, str(path), dynamo=False, input_names=[s.name for s in inputs],
                      output_names=[s.name for s in outputs], dynamic_axes=axes, opset_version=ONNX_OPSET)
    model = onnx.load(str(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, text
    onnx.save(model, str(path))


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata document of an exported file (ExportError if it has none or is no such file)."""
    path = Path(path)
    kind = export_format(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    try:
        if kind == "onnx":
            import onnx

            model = onnx.load(str(path), load_external_data=False)
            text = next((p.value for p in model.metadata_props if p.key == METADATA_KEY), None)
        else:
            extra = {TORCHSCRIPT_EXTRA: ""}
            with warnings.catch_warnings():
                quiet_jit()
                torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
            text = extra[TORCHSCRIPT_EXTRA] or None
    except Exception as exc:  # noqa: BLE001 - onnx and torch.jit raise many types for a bad file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExportError(f"{path}: not a readable {kind} file ({first})") from None
    if text is None:
        raise ExportError(f"{path}: a {kind} file without this package's metadata (export it with `training export`)")
    document = json.loads(text)
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise ExportError(f"{path}: export format {document.get('format')!r} version {document.get('version')!r}, "
                          f"this package reads {FORMAT!r} version {VERSION}")
    return document
