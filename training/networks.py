"""The network table: one entry per network a checkpoint can hold, and everything that differs
between them.

``load_predictor``, ``training fit``, ``training predict``, the evaluation (through
``load_predictor``) and the demo all look a network up here instead of branching on its name, so
adding a network is one entry (plus its modules). An entry is light: what people and the
command line need to know (which evaluation protocol its predictor serves, which inputs
``training predict`` takes, what an exported file holds) is plain data; the code (config and
model classes, fit loop, predictor, predict writer) is imported only when :meth:`Network.parts`
is called, so ``import training.networks`` loads no torch.

Two extensions this is laid out for. A published-weights variant (e.g. the official FBA
``FBA.pth``) is a new entry whose parts reuse the model and predictor and add the conversion of
its state dict. An export to ONNX or TorchScript writes the network's ``forward`` alone, so
:attr:`Network.exported` states its tensors (NCHW float32, H and W multiples of 8); the test-time
steps around it (padding, TTA, fusion, clicks forced to their label) stay in the predictor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

INPUTS = ("trimap", "clicks", "scribbles")
"""What ``training predict`` can be given for an image (one of them per call)."""


@dataclass(frozen=True)
class Parts:
    """A network's code: ``config`` and ``model`` rebuild it from a checkpoint's ``model_config``;
    ``load_config(name, overrides)`` reads a run config, ``fit`` trains one; ``load_predictor(path,
    state, options)`` makes its predictor; ``predict(out, predictor, image, user_input, background)``
    writes the files named ``outputs`` (``training predict``)."""

    config: type
    model: type
    predictor: type
    load_config: Callable[..., dict[str, Any]]
    fit: Callable[..., Any]
    load_predictor: Callable[..., Any]
    predict: Callable[..., list]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class Network:
    """One row of the table (see the module notes); ``exported`` lists the ``forward`` inputs and
    outputs as (name, channels)."""

    name: str
    described: str
    protocol: str
    predict_inputs: tuple[str, ...]
    exported_inputs: tuple[tuple[str, int], ...]
    exported_outputs: tuple[tuple[str, int], ...]
    parts: Callable[[], Parts]


def takers(kind: str) -> tuple[str, ...]:
    """The ``described`` of every network whose ``training predict`` takes the input ``kind`` (one of
    :data:`INPUTS`): what a refusal of that input points the user to."""
    return tuple(network.described for network in NETWORKS.values() if kind in network.predict_inputs)


def _fba() -> Parts:
    from training.inference.fba import FBAPredictor, load_fba_predictor
    from training.loops.fba import fit_fba, load_fba_config
    from training.models import FBAConfig, FBANet
    from training.predict import OUTPUTS, predict_matting

    return Parts(FBAConfig, FBANet, FBAPredictor, load_fba_config, fit_fba, load_fba_predictor, predict_matting, OUTPUTS)


def _imatting() -> Parts:
    from training.inference.imatting import ImattingPredictor, load_imatting_predictor
    from training.loops.imatting import fit_imatting, load_imatting_config
    from training.models import FBAConfig, FBANet
    from training.predict import OUTPUTS, predict_matting

    return Parts(FBAConfig, FBANet, ImattingPredictor, load_imatting_config, fit_imatting, load_imatting_predictor,
                 predict_matting, OUTPUTS)


def _iseg() -> Parts:
    from training.inference.iseg import IsegPredictor, load_iseg_predictor
    from training.loops.iseg import fit_iseg, load_iseg_config
    from training.models.iseg import IsegNet, IsegNetConfig
    from training.predict import ISEG_OUTPUTS, predict_iseg

    return Parts(IsegNetConfig, IsegNet, IsegPredictor, load_iseg_config, fit_iseg, load_iseg_predictor, predict_iseg,
                 ISEG_OUTPUTS)


_FBA_IN = (("image", 3), ("trimap2", 2), ("trimap_maps", 6))
_FBA_OUT = (("alpha", 1), ("fg", 3), ("bg", 3))

NETWORKS: dict[str, Network] = {n.name: n for n in (
    # trained on dense trimaps only: clicks or scribbles (a sparse trimap) give it a meaningless alpha
    Network("fba", "a matting checkpoint", "matting", ("trimap",), _FBA_IN, _FBA_OUT, _fba),
    Network("imatting", "an interactive matting checkpoint", "imatting", INPUTS, _FBA_IN, _FBA_OUT, _imatting),
    Network("iseg", "an interactive segmentation checkpoint", "iseg", ("clicks", "scribbles"),
            (("image", 3), ("click_maps", 6), ("prev_mask", 1)), (("probability", 1),), _iseg),
)}
