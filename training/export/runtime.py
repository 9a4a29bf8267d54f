"""An exported file as a callable with the network's call signature: `net(*inputs) -> Tensor`.

Predictors call `self.net(image, ...)` on torch tensors; these classes take the same tensors,
check them against the file's input specs (a wrong channel count, or a size that is not a
multiple of the file's `size_multiple`, is one line naming the input), run onnxruntime or the
TorchScript module, and return torch tensors, so pre- and post-processing stay the predictors'
own. A file with several named outputs (FBA: alpha, fg, bg) answers with them concatenated
along the channels, which is what the torch network returns.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from training.export.files import ExportError, export_format, quiet_jit, read_metadata


class ExportedNetwork:
    """Base of the runtime adapters: metadata, input checks, and the module-like no-ops predictors call."""

    def __init__(self, path: str | Path, metadata: dict[str, Any]) -> None:
        self.path = Path(path)
        self.metadata = metadata
        self.inputs = [(spec["name"], int(spec["channels"])) for spec in metadata["inputs"]]
        self.size_multiple = int(metadata.get("size_multiple", 1))
        self.config: Any = None
        """The network's model config object, for the predictors that read it (``fusion_in_forward``,
        click sigmas); set by whoever knows the network's classes (``training.inference``)."""

    def to(self, device) -> ExportedNetwork:
        return self

    def eval(self) -> ExportedNetwork:
        return self

    def _check(self, tensors: tuple[Tensor, ...]) -> None:
        if len(tensors) != len(self.inputs):
            raise ExportError(f"{self.path}: takes {len(self.inputs)} inputs "
                              f"({', '.join(n for n, _ in self.inputs)}), got {len(tensors)}")
        for (name, channels), tensor in zip(self.inputs, tensors, strict=True):
            if tensor.ndim != 4 or tensor.shape[1] != channels:
                raise ExportError(f"{self.path}: input {name!r} takes Nx{channels}xHxW, got {tuple(tensor.shape)}")
            if tensor.shape[2] % self.size_multiple or tensor.shape[3] % self.size_multiple:
                raise ExportError(f"{self.path}: input {name!r} must have height and width multiples of "
                                  f"{self.size_multiple}, got {tuple(tensor.shape)} (pad it first)")

    def __call__(self, *tensors: Tensor) -> Tensor:
        self._check(tensors)
        return self._run(tensors)

    def _run(self, tensors: tuple[Tensor, ...]) -> Tensor:
        raise NotImplementedError


class OnnxNetwork(ExportedNetwork):
    """An `.onnx` file run by onnxruntime (CPU, or CUDA where onnxruntime-gpu is installed)."""

    def __init__(self, path: str | Path, metadata: dict[str, Any], device: torch.device) -> None:
        super().__init__(path, metadata)
        import onnxruntime

        available = onnxruntime.get_available_providers()
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in available:
            providers.insert(0, "CUDAExecutionProvider")
        self.session = onnxruntime.InferenceSession(str(path), providers=providers)
        self.names = [i.name for i in self.session.get_inputs()]
        self.types = [np.float64 if "double" in i.type else np.float32 for i in self.session.get_inputs()]

    def _run(self, tensors: tuple[Tensor, ...]) -> Tensor:
        feed = {name: t.detach().cpu().numpy().astype(dtype, copy=False)
                for name, t, dtype in zip(self.names, tensors, self.types, strict=True)}
        return _joined([torch.from_numpy(out) for out in self.session.run(None, feed)])


class TorchScriptNetwork(ExportedNetwork):
    """A `.torchscript` file run by torch.jit on the predictor's device."""

    def __init__(self, path: str | Path, metadata: dict[str, Any], device: torch.device) -> None:
        super().__init__(path, metadata)
        with warnings.catch_warnings():
            quiet_jit()
            self.module = torch.jit.load(str(path), map_location=device).eval()
        self.device = device

    def _run(self, tensors: tuple[Tensor, ...]) -> Tensor:
        with torch.no_grad():
            out = self.module(*(t.to(self.device) for t in tensors))
        return _joined(list(out) if isinstance(out, (tuple, list)) else [out])


def _joined(outputs: list[Tensor]) -> Tensor:
    """The named outputs as the one tensor the torch network returns (channels concatenated)."""
    return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=1)


def load_exported(path: str | Path, device: torch.device | str = "cpu") -> ExportedNetwork:
    """The exported file at `path` as a callable network (its metadata on `.metadata`)."""
    device = torch.device(device)
    metadata = read_metadata(path)
    runner = OnnxNetwork if export_format(path) == "onnx" else TorchScriptNetwork
    return runner(path, metadata, device)
