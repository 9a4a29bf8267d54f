"""Which models the demo page may load, and the cache that holds them once loaded.

The security rule of the demo (docs/demo.md): **nothing a visitor sends picks code to run.** The
page offers exactly

* the ``--model`` the server was started with (any spec ``training evaluate`` accepts: the
  operator typed it, so a ``package.module:factory`` is fine there),
* the checkpoints the operator listed at start with ``--allow PATH`` (files, never factories),
* the classic baselines (``baseline:NAME``), which are part of this package.

Any other string from the page, a factory spec such as ``os:abort``, the server path of an
uploaded file, a checkpoint the operator did not list, is refused before anything is imported or
read. Uploaded files are pictures and trimaps, never models.

Loading a network can take seconds, so the cache never holds its lock while it loads: a visitor
loading one model does not stall the others. It keeps at most ``capacity`` models (least recently
used first out), so a server that offers many checkpoints holds a bounded amount of memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from training.demo.session import DemoInputError, load_demo_model
from training.evaluation.baselines import BASELINES

BASELINE_PREFIX = "baseline:"
DEFAULT_CAPACITY = 3


@dataclass(frozen=True)
class ModelOffer:
    """The model specs this server lets its page load (see the module notes)."""

    default: str
    allowed: tuple[str, ...] = ()

    @classmethod
    def from_command_line(cls, default: str, allow: list[Path] | tuple[Path, ...] = ()) -> ModelOffer:
        """The offer of `training demo --model DEFAULT --allow PATH ...`; every PATH must be a file."""
        allowed = []
        for path in allow:
            if not Path(path).is_file():
                raise DemoInputError(f"--allow {path}: no such checkpoint file")
            allowed.append(str(path))
        return cls(default.strip(), tuple(dict.fromkeys(allowed)))

    def choices(self) -> list[str]:
        """What the page lists: the default, the allowed checkpoints, then the baselines."""
        baselines = [BASELINE_PREFIX + name for name in BASELINES]
        return list(dict.fromkeys([self.default, *self.allowed, *baselines]))

    def check(self, spec: str | None) -> str:
        """`spec` as offered, or DemoInputError; nothing is imported or read to decide."""
        spec = (spec or "").strip()
        if spec in (self.default, *self.allowed) or spec.startswith(BASELINE_PREFIX):
            return spec
        raise DemoInputError(f"model {spec!r} is not offered by this server: the page loads only the model it "
                             f"was started with, the checkpoints its operator listed with --allow, and baseline:NAME")


class ModelCache:
    """Offered models by spec, each built once and shared by every browser session (thread-safe)."""

    def __init__(self, offer: ModelOffer, capacity: int = DEFAULT_CAPACITY, load=load_demo_model) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.offer = offer
        self.capacity = capacity
        self._load = load
        self._models: OrderedDict[str, tuple[object, str]] = OrderedDict()
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()          # guards the two dicts only, never held while loading

    def __len__(self) -> int:
        with self._lock:
            return len(self._models)

    def get(self, spec: str | None) -> tuple[object, str]:
        """(model, task) for an offered `spec`; DemoInputError for anything else or a failed load."""
        spec = self.offer.check(spec)
        cached = self._cached(spec)
        if cached is not None:
            return cached
        with self._lock:
            loading = self._loading.setdefault(spec, threading.Lock())
        with loading:                          # one load per spec; other specs are served meanwhile
            cached = self._cached(spec)
            if cached is not None:
                return cached
            entry = self._load(spec)
            with self._lock:
                self._models[spec] = entry
                while len(self._models) > self.capacity:
                    self._models.popitem(last=False)
                self._loading.pop(spec, None)
            return entry

    def _cached(self, spec: str) -> tuple[object, str] | None:
        with self._lock:
            if spec in self._models:
                self._models.move_to_end(spec)
                return self._models[spec]
            return None
