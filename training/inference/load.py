"""A checkpoint or an exported file -> its network's entry in :mod:`training.networks` and its predictor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from training.checkpoint import CheckpointError, load_checkpoint
from training.distributed import resolve_device
from training.export.files import ExportError, is_exported, read_metadata
from training.inference.common import DEFAULT_MAX_PIXELS, DEFAULT_TTA_SCALES, PredictOptions
from training.networks import NETWORKS, Network


def load_network(path: str | Path, options: PredictOptions = PredictOptions()) -> tuple[Network, object]:
    """(the network a checkpoint or exported file holds, its predictor with the test-time
    procedure); a network the table does not list, or a file that is neither, is one line
    (CheckpointError or ExportError, both ValueErrors).

    An exported file (``.onnx``, ``.torchscript``: ``training export``) gets the same predictor
    class as its checkpoint, with the exported network in place of the torch one: its metadata
    stands in for the checkpoint's ``model_config`` and run ``config``."""
    state = _exported_state(path, options) if is_exported(path) else load_checkpoint(path)
    if state["network"] not in NETWORKS:
        what = "exported file" if is_exported(path) else "checkpoint"
        raise CheckpointError(f"{what} {path}: holds a {state['network']!r} network; load_predictor serves "
                              + ", ".join(f"'{name}'" for name in NETWORKS) + " checkpoints")
    network = NETWORKS[state["network"]]
    return network, network.parts().load_predictor(path, state, options)


def _exported_state(path: str | Path, options: PredictOptions) -> dict[str, Any]:
    """What the predictor loaders read from a checkpoint, taken from an exported file's metadata,
    with the runnable network under ``exported``."""
    from training.export.runtime import load_exported

    metadata = read_metadata(path)
    device = resolve_device(options.device)
    if device.type == "cuda" and str(path).lower().endswith(".onnx"):
        import onnxruntime

        if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
            raise ExportError(f"--device {options.device}: this onnxruntime has no CUDA provider (install "
                              f"onnxruntime-gpu, or use --device cpu or the .torchscript export) for {path}")
    return {"network": metadata.get("network"), "model_config": metadata.get("model_config", {}),
            "config": metadata.get("config", {}), "exported": load_exported(path, device)}


def load_predictor(path: str | Path, *, device: str = "auto", tta: bool = False,
                   tta_scales: tuple[float, ...] = DEFAULT_TTA_SCALES, max_pixels: int = DEFAULT_MAX_PIXELS,
                   conv: str = "auto"):
    """The model in checkpoint or exported file ``path`` with its test-time procedure (an
    :class:`~training.inference.fba.FBAPredictor`, :class:`~training.inference.imatting.ImattingPredictor`
    or :class:`~training.inference.iseg.IsegPredictor`, as the table says); ``conv``: see
    :data:`~training.inference.common.CONV_CHOICES`."""
    return load_network(path, PredictOptions(device, tta, tuple(tta_scales), max_pixels, conv=conv))[1]
