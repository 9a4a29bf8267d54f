"""The evaluation protocols, one record each: everything that differs between iseg, matting and
imatting lives in its :class:`EvaluationProtocol`, so the fan-out, the reports, the model checks
and the demo look a protocol up instead of branching on its name, and a new protocol is one record
(its sample loop, aggregate and report functions beside the others').

Where a new metric goes: a per-sample value is computed in the protocol's sample loop
(:mod:`training.evaluation.sample_loops`; matting metrics are the entries of
:data:`training.evaluation.metrics.MATTING_METRICS`, and a new NoC target is one more entry of
:data:`~training.evaluation.sample_loops.NOC_THRESHOLDS`), averaged in its aggregate
(:mod:`training.evaluation.aggregate`) and shown by its table and plots (:mod:`training.evaluation.tables`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from training.evaluation import aggregate as agg
from training.evaluation import sample_loops as loops
from training.evaluation import tables
from training.evaluation.contracts import ImattingModel, IsegModel, MattingModel


@dataclass(frozen=True)
class DemoBehaviour:
    """How the web demo runs a model of this protocol: ``takes`` ``"clicks"`` or ``"trimap"``;
    ``binary``: the result is shown and downloaded as a mask (the probability thresholded at
    :data:`training.clicks.MASK_THRESHOLD`), else as a soft alpha; ``previous_as_scored``: the
    previous result is handed back quantised to 8 bits, as the protocol scores it (imatting), else
    as the model returned it (iseg's ``prev_mask``); ``help``: what the page tells the user."""

    takes: str
    binary: bool
    previous_as_scored: bool
    help: str


@dataclass(frozen=True)
class EvaluationProtocol:
    """One protocol: the model contract and the method it calls, its settings (``settings(max_clicks)``
    gives the defaults, ``describe(settings)`` what a report records), the sample loop
    ``run(model, benchmark_sample, settings) -> record``, ``aggregate(records, settings)``, the
    report's ``table(title, aggregate)``, ``plots(title, aggregate, folder) -> file names`` and
    ``title_note(settings)`` (what a report's default title adds to "MODEL on BENCHMARK"), the
    demo's behaviour, and ``needs``: the benchmark fields its sample loop reads, which a benchmark
    must have for the run to start (:func:`benchmark_mismatch`)."""

    name: str
    needs: tuple[str, ...]
    contract: type
    method: str
    settings: Callable[[int], Any]
    describe: Callable[[Any], dict]
    run: Callable[[Any, Mapping[str, np.ndarray], Any], dict]
    aggregate: Callable[[list[dict], Any], dict]
    table: Callable[[str, dict], str]
    plots: Callable[[str, dict, Path], list[str]]
    title_note: Callable[[dict], str]
    demo: DemoBehaviour


def iseg_title_note(settings: dict) -> str:
    """Robot, zoom-in and mask correction in an iseg report's title, and that the model ignored
    the initial masks when it did (``model_uses_previous_mask`` False)."""
    note = f", robot {settings['robot']}" if "robot" in settings else ""
    if settings.get("zoom_in"):
        note += ", zoom-in"
    if settings.get("initial_masks"):
        note += ", initial masks"
        if settings.get("model_uses_previous_mask") is False:
            note += " (ignored by the model)"
    return note


PROTOCOLS: dict[str, EvaluationProtocol] = {p.name: p for p in (      # the demo tries them in this order
    EvaluationProtocol(
        "iseg", ("mask",), IsegModel, "predict_iseg", lambda max_clicks: loops.IsegConfig(max_clicks=max_clicks),
        loops.config_dict, loops.iseg_sample, agg.aggregate_iseg, tables.iseg_table, tables.iseg_plots,
        lambda settings: iseg_title_note(settings),
        DemoBehaviour("clicks", binary=True, previous_as_scored=False,
                      help="Click on the object to add it (foreground) or on what should not be part of it "
                           "(background).")),
    EvaluationProtocol(
        "imatting", ("alpha",), ImattingModel, "predict_imatting", lambda max_clicks: loops.ImattingConfig(max_clicks),
        loops.imatting_settings, loops.imatting_sample, agg.aggregate_imatting, tables.imatting_table,
        tables.imatting_plots, lambda settings: "",
        DemoBehaviour("clicks", binary=False, previous_as_scored=True,
                      help="Clicks give the matte's foreground and background; the result is a soft alpha.")),
    EvaluationProtocol(
        "matting", ("alpha", "trimap"), MattingModel, "predict_matting", lambda max_clicks: None,
        loops.matting_settings, loops.matting_sample, agg.aggregate_matting, tables.matting_table,
        tables.matting_plots, lambda settings: "",
        DemoBehaviour("trimap", binary=False, previous_as_scored=False,
                      help="This model takes a trimap: upload one (0 = background, 128 = unknown, "
                           "255 = foreground).")),
)}


def protocol(name: str) -> EvaluationProtocol:
    """The record of ``name``; an unknown name is a ValueError listing the known ones."""
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; use {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


def benchmark_mismatch(name: str, fields: list[str], trimap_free: bool = False) -> str | None:
    """Why a benchmark with these ``fields`` cannot serve protocol ``name`` (None if it can), with
    the protocols it can serve: a mismatch would otherwise fail every sample one by one.
    ``trimap_free``: the set ships no trimaps by design (whole-image scoring only)."""
    record = protocol(name)
    missing = [f for f in record.needs if f not in fields]
    if not missing:
        return None
    usable = [p.name for p in PROTOCOLS.values() if all(f in fields for f in p.needs)]
    why = "a trimap-free set, scored on the whole image" if trimap_free and "trimap" in missing else \
        f"no {' or '.join(missing)} field"
    hint = f"use `training evaluate {' or '.join(usable)}`" if usable else "no protocol can use it"
    return f"{name} needs the fields {', '.join(record.needs)}, and this benchmark has {why}; {hint}"


def implements(model: object, name: str) -> bool:
    """Whether ``model`` offers the method protocol ``name`` calls, as a callable.

    ``isinstance`` on a runtime-checkable Protocol only tests that the attribute exists (and is
    not None), so the callable test is added: a model with ``predict_iseg = 0.5`` must not pass.
    """
    record = protocol(name)
    return isinstance(model, record.contract) and callable(getattr(model, record.method))


def run_sample(name: str, model, sample: Mapping[str, np.ndarray], *, config=None, max_clicks: int = 20) -> dict:
    """A benchmark sample (the fields of a ``benchmark`` dataset) through protocol ``name``'s loop,
    with ``config`` (its settings; default: ``max_clicks`` clicks). A sample without the fields
    its protocol needs raises ``ValueError`` naming them."""
    record = protocol(name)
    return record.run(model, sample, record.settings(max_clicks) if config is None else config)


def aggregate(name: str, records: list[dict], config=None) -> dict:
    """The aggregate of protocol ``name``'s records; iseg needs the run's ``config`` (clicks, early stop)."""
    return protocol(name).aggregate(records, config)
