"""The foreground solvers behind one contract, in one table.

Every solver is a function ``(image, alpha, **options) -> (F, B, info)``: `image` HxWx3 and
`alpha` HxW floats in [0, 1] in, F and B HxWx3 float64 in [0, 1] out, and `info` a dict of
JSON-serialisable facts about the solve that depend only on the inputs (iterations, residual,
...), so a caller may store it in a byte-reproducible recipe. Its options are its keyword
parameters after `image` and `alpha`; their defaults are read off the signature, never
repeated here, so the table cannot drift from the code.

Rows name their function by module path and import it on first use: the CLI builds its
`--method` help from this table, and `datagen --help` must not pay for numba. Adding a solver
is one new module and one row below.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Solver:
    """One row of `SOLVERS`: where the function lives and a one-line description."""

    name: str
    target: str  # "package.module:function"
    help: str

    def function(self) -> Callable[..., tuple[Any, Any, dict]]:
        """The solver itself (imported now)."""
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def kernels_cached(self) -> bool:
        """Whether numba's cache holds the solver's compiled kernels (False: its first call
        compiles them, about a minute; see `datagen.foreground.kernel_cache`)."""
        from datagen.foreground.kernel_cache import kernels_cached

        return kernels_cached(self.function())

    def options(self) -> dict[str, Any]:
        """Every option the solver accepts, with its default (its keyword parameters after image, alpha)."""
        parameters = list(inspect.signature(self.function()).parameters.values())[2:]
        return {parameter.name: parameter.default for parameter in parameters}


SOLVERS: dict[str, Solver] = {
    solver.name: solver
    for solver in (
        Solver("levin", "datagen.foreground.levin:estimate_fb_levin",
               "closed-form solveFB energy of Levin et al., solved exactly (multigrid-preconditioned CG)"),
        Solver("multilevel", "datagen.foreground.multilevel:estimate_fb_multilevel",
               "fast approximation of Germer et al. (coarse-to-fine local updates)"),
    )
}


def solver(name: str) -> Solver:
    """The table row of `name`; an unknown name is a ValueError that lists the known ones."""
    if name not in SOLVERS:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(SOLVERS)}")
    return SOLVERS[name]


def resolve_options(name: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every option of solver `name`, defaults overridden by `given`.

    Why an error, not silence: an option the method does not take (``margin`` for multilevel)
    would otherwise be dropped and the user would believe it applied."""
    options = solver(name).options()
    ignored = sorted(set(given) - set(options))
    if ignored:
        takes = ", ".join(options) or "no options"
        raise ValueError(f"method {name!r} does not take {', '.join(ignored)} (it takes: {takes})")
    return {**options, **given}


def methods_help() -> str:
    """The `--method` help text: one 'name (description)' per solver, in table order."""
    return "; ".join(f"{row.name} ({row.help})" for row in SOLVERS.values())
