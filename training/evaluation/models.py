"""Turn a ``--model`` string into a model object that implements a protocol's contract.

* ``baseline:NAME``: a classic method from :mod:`training.evaluation.baselines`;
* ``package.module:factory``: any importable callable returning a model;
* ``PATH.pt``: a training checkpoint, loaded by :func:`training.inference.load_predictor`;
* ``PATH.onnx`` / ``PATH.torchscript``: a network written by ``training export``, loaded the same way.

The string, not the object, is what the evaluation hands to its workers (each builds its own
model once) and what the demo resolves: a spec is picklable and cheap, a torch model on a GPU is
neither.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from training.evaluation.baselines import make_baseline
from training.evaluation.protocols import implements
from training.evaluation.protocols import protocol as protocol_record

MODEL_FILES = (".pt", ".onnx", ".torchscript")
"""The file specs: a training checkpoint and the two export formats (``training export``)."""


class ModelError(ValueError):
    """A ``--model`` spec that cannot be built, or builds a model without its protocol's method."""


def load_model(spec: str, protocol: str):
    """Build the model named by ``spec`` and check it implements ``protocol``'s contract."""
    record = protocol_record(protocol)
    model = build_model(spec)
    if not implements(model, protocol):
        raise ModelError(f"model {spec!r} ({type(model).__name__}) has no {record.method}() "
                         f"and cannot run the {protocol} protocol")
    return model


def build_model(spec: str):
    """The model named by ``spec``, not yet checked against any contract (the demo picks the
    protocol from what it implements); a spec that cannot be built is a ModelError."""
    if spec.lower().endswith(MODEL_FILES):
        return _load_checkpoint(spec)
    if spec.startswith("baseline:"):
        try:
            return make_baseline(spec.split(":", 1)[1])
        except ValueError as exc:
            raise ModelError(str(exc)) from None
    if ":" in spec:
        module, attr = spec.rsplit(":", 1)
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ModelError(f"cannot import model factory {spec!r}: {exc}") from None
        return factory()
    raise ModelError(f"model {spec!r}: use baseline:NAME, package.module:factory or a checkpoint PATH.pt "
                     "(or PATH.onnx / PATH.torchscript from `training export`)")


def _load_checkpoint(path: str):
    """Checkpoints are the training package's business: it knows which network a file holds."""
    if not Path(path).is_file():
        raise ModelError(f"checkpoint {path} not found")
    try:
        from training.inference import load_predictor
    except ImportError as exc:
        if exc.name != "training.inference":
            raise
        raise ModelError("checkpoint models need the training package's inference module "
                         "(training.inference), which is not installed") from None
    try:
        return load_predictor(path)
    except (ValueError, OSError) as exc:       # CheckpointError is a ValueError that names the file
        message = str(exc)
        raise ModelError(message if path in message else f"cannot load checkpoint {path}: {message}") from None
