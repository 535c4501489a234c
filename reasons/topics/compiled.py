"""Numba's compiled code kept on disk for UMAP and PyNNDescent.

UMAP and PyNNDescent compile about a hundred numba functions the first time a process fits: ~23 s
(``bench/compiled.py``: a fresh process's 600-message fit 44 s, 21 s once stored), paid again by every
process that fits (each weekly run, each Dagster run process, each test process). Numba stores a function's machine code on disk only when it is declared
``cache=True``, which these libraries mostly do not declare. :func:`keep_compiled_code`, called before
they are imported, makes ``cache=True`` the default of ``numba.njit`` and ``numba.jit``: the first
process compiles and stores, the next ones load (``bench/compiled.py`` measures it).

The store is numba's own: a ``__pycache__`` folder beside each library source file (numba's per-user
cache folder when that one is read-only). Numba keys each entry by the source file's path, size and
modification time, the function's signature and the CPU, so an upgraded library or another machine
compiles afresh; a function numba cannot store (one that reads dynamic globals) is compiled as
before. Explicit ``cache=False`` is kept.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

# the libraries whose numba functions must be declared after the change to be stored
LIBRARIES = ("umap", "pynndescent")


def _cached(decorator: Callable[..., Any]) -> Callable[..., Any]:
    def with_cache(*args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and callable(args[0]) and not kwargs:  # used bare: @numba.njit
            return decorator(cache=True)(args[0])
        kwargs.setdefault("cache", True)
        return decorator(*args, **kwargs)

    with_cache.__wrapped__ = decorator  # type: ignore[attr-defined]
    return with_cache


def keep_compiled_code() -> bool:
    """Make numba store compiled code on disk by default, for the libraries imported from now on.
    Idempotent; False when a library in :data:`LIBRARIES` was imported before (its functions are
    already declared, and compile as before)."""
    import numba

    if not hasattr(numba.njit, "__wrapped__"):
        numba.njit = _cached(numba.njit)
        numba.jit = _cached(numba.jit)
    early = [name for name in LIBRARIES if name in sys.modules]
    if early:
        log.debug("numba code of %s is not kept on disk: imported before keep_compiled_code()", early)
    return not early
