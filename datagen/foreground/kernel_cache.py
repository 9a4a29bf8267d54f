"""Whether numba's on-disk cache already holds a solver's compiled kernels.

Why: the first refit on a machine (or after the solver's source changed) compiles the kernels,
about a minute at 0% with nothing said; later runs load them in well under a second. The
refit commands print one line before such a run (:data:`COMPILING_NOTICE`), and only then.

How, cheaply and without compiling: every ``njit(cache=True)`` kernel keeps an index file
(``<module>.<function>-<line>.pyXY.nbi`` in the source folder's ``__pycache__`` or
``NUMBA_CACHE_DIR``) which numba itself reads back as empty when it is missing, from another
numba version, or stale (the source's hash changed). A solver's kernels are those of its own
module and of the ``datagen.foreground`` modules it calls into (levin: ``levin`` and
``gridmg``); a module counts as compiled when one of its kernels has an entry, since numba
fills a module's cache on its first solve. Kernels compiled only inlined into others
(``inline="always"``) never get an entry and are left out.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType

COMPILING_NOTICE = "compiling the solver's kernels (first run on this machine, about a minute; cached afterwards)"


def _cached_kernels(module: ModuleType) -> list:
    """The numba dispatchers defined in ``module`` (not imported into it) that keep an on-disk
    cache, inlined-only ones left out."""
    return [value for value in vars(module).values()
            if getattr(value, "_cache", None) is not None and hasattr(value._cache, "_cache_file")
            and getattr(getattr(value, "py_func", None), "__module__", None) == module.__name__
            and getattr(value, "targetoptions", {}).get("inline", "never") != "always"]


def _has_entry(kernel) -> bool:
    """Whether numba would load some compiled version of ``kernel`` from its cache."""
    return bool(kernel._cache._cache_file._load_index())


def kernel_modules(function: Callable) -> list[ModuleType]:
    """``function``'s module and the modules of its package whose objects or modules it uses
    (levin: ``gridmg``): where its kernels live."""
    own = sys.modules[function.__module__]
    package = function.__module__.rsplit(".", 1)[0] if "." in function.__module__ else function.__module__
    used = {getattr(value, "__module__", None) for value in vars(own).values()}
    used |= {value.__name__ for value in vars(own).values() if isinstance(value, ModuleType)}
    return [own] + [sys.modules[name] for name in sorted(n for n in used if isinstance(n, str))
                    if name != own.__name__ and name.startswith(package + ".") and name in sys.modules]


def kernels_cached(function: Callable) -> bool:
    """False when a module holding ``function``'s kernels has none in numba's cache: calling it
    will compile first. True otherwise (also for a function with no cached kernels at all)."""
    return all(any(_has_entry(kernel) for kernel in kernels)
               for kernels in map(_cached_kernels, kernel_modules(function)) if kernels)
