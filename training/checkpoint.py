"""Training checkpoints: one file holds everything a run needs to continue bit for bit.

Contents (plain containers of tensors, numbers and strings only, so loading never executes
anything from the file: ``torch.load(weights_only=True)``):

``format``/``version``, ``network`` (which network family wrote it, e.g. ``"fba"``),
``model_config`` (the constructor config), ``model`` (state dict), ``config`` (the whole run
config as tables), ``optimizer``, ``scheduler``, ``scaler`` (fp16 AMP, else None), ``rng``
(torch CPU/CUDA generator states) and ``position`` (``step`` done so far, ``epoch``,
``epoch_step``). Files are written to a temporary name beside the target and renamed over it,
so a run killed mid-write leaves the previous checkpoint intact; a failed write removes its
temporary file, and :func:`remove_stale_temporaries` clears those a killed process left behind.

Reading checks the file before torch sees it: a checkpoint is a zip archive (torch's format since
1.6) whose entries carry CRC-32s, and ``torch.load`` does not check them, so 64 flipped bytes in
a weight tensor would load as different weights. :func:`load_checkpoint` tests every entry first
and names the damaged one.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

FORMAT = "matting-datagen-checkpoint"
VERSION = 1
REQUIRED = ("network", "model_config", "model")
TEMPORARY_PREFIX = "."
EXPORTED_SUFFIXES = (".onnx", ".torchscript")
"""Files of ``training export`` (``training.export.files.SUFFIXES``, which a test holds equal):
inference only, so where a checkpoint is needed they get their own one-line refusal."""


class CheckpointError(ValueError):
    """A file that is not a usable checkpoint for the caller; one line naming the file."""


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (with format/version added) atomically to ``path``; on failure (a full
    disk, a folder gone unwritable) the temporary file is removed and a CheckpointError names
    the file and the reason in one line."""
    path = Path(path)
    tmp = path.with_name(f"{TEMPORARY_PREFIX}{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"format": FORMAT, "version": VERSION, **payload}, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:     # torch reports a failed write as RuntimeError
        with contextlib.suppress(OSError):
            tmp.unlink()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).strip().splitlines()[0]
        raise CheckpointError(f"cannot write checkpoint {path}: {reason}") from None
    return path


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporary files of checkpoint writes that were killed midway (by any process:
    call it only when no other writer uses ``folder``); returns what was removed."""
    removed = []
    for stale in Path(folder).glob(f"{TEMPORARY_PREFIX}*.tmp-*"):
        with contextlib.suppress(OSError):
            stale.unlink()
            removed.append(stale)
    return removed


def check_archive(path: str | Path) -> None:
    """CheckpointError unless ``path`` is a zip archive whose every entry matches its CRC-32."""
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise CheckpointError(f"checkpoint {path}: not a checkpoint file (not a zip archive written by "
                              f"torch.save: {exc})") from None
    except zipfile.LargeZipFile:
        return
    if damaged is not None:
        raise CheckpointError(f"checkpoint {path}: damaged: entry {damaged!r} does not match its CRC-32 "
                              "(the file changed after it was written); use another checkpoint")


def model_payload(network: str, model_config: dict[str, Any], model: torch.nn.Module,
                  config: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What a predictor needs from a checkpoint (a fit loop adds optimizer, RNG and position)."""
    return {"network": network, "model_config": model_config, "model": model.state_dict(), "config": config}


def load_checkpoint(path: str | Path, network: str | None = None, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`; ``network``: the family the caller
    can use (another family, a bare state dict or a pickled object is a CheckpointError)."""
    path = Path(path)
    if path.suffix.lower() in EXPORTED_SUFFIXES:
        raise CheckpointError(f"{path}: an exported network (predict, evaluate and demo run it); "
                              "this needs the training checkpoint (.pt) it was exported from")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: no such file")
    check_archive(path)
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, KeyError, IndexError) as exc:
        lines = str(exc).strip().splitlines()
        raise CheckpointError(f"checkpoint {path}: cannot be read as plain tensors and containers "
                              f"({lines[0] if lines else type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path}: not a training checkpoint of this package "
                              "(a bare state dict? use --pretrained for ImageNet weights)")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {path}: format version {payload.get('version')}, "
                              f"this package reads version {VERSION}")
    missing = [key for key in REQUIRED if key not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path}: missing {missing[0]!r}")
    if network is not None and payload["network"] != network:
        raise CheckpointError(f"checkpoint {path}: holds a {payload['network']!r} network, "
                              f"not {network!r}")
    return payload


def rng_state() -> dict[str, Any]:
    """torch's generator states (the data pipeline draws from (seed, epoch, index), not from these,
    but dropout or any future random layer would)."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore :func:`rng_state` (CUDA states only where CUDA is available)."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def restore_network(path: str | Path, state: dict[str, Any], network: type, config: Any):
    """``network(config.from_dict(model_config))`` with the checkpoint's weights loaded: the one
    way a predictor rebuilds its model; a config or weights that do not fit are one line."""
    try:
        net = network(config.from_dict(state["model_config"]))
        net.load_state_dict(state["model"])
    except (TypeError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(f"checkpoint {path}: weights do not fit its model config ({first})") from None
    return net


def init_network_config(path: str | Path, network: str, config: Any, run_model: Any,
                        overrides: tuple[str, ...] = ()) -> tuple[Any, dict]:
    """``fit ... --init PATH``: the checkpoint's model config (``config.from_dict``) and the
    checkpoint. The network is the checkpoint's, whatever the run config's ``[model]`` table says
    (``--config`` sets data and training), except that a ``--set model.KEY=...`` in ``overrides``
    (typed into ``run_model``) that disagrees with it is one line naming the key."""
    state = load_checkpoint(path, network)
    try:
        model = config.from_dict(state["model_config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"--init {path}: its model config does not load ({exc})") from None
    theirs, asked = model.to_dict(), run_model.to_dict()
    for item in overrides:
        key = item.split("=", 1)[0].strip().removeprefix("model.")
        if theirs.get(key) != asked.get(key):
            raise CheckpointError(f"--init {path}: its network has model.{key}={theirs.get(key)!r}, --set gives "
                                  f"{asked.get(key)!r} (with --init the network is the checkpoint's)")
    return model, state
