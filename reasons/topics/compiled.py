"""Numba's compiled code kept on disk for UMAP and PyNNDescent.

UMAP and PyNNDescent compile about a hundred numba functions the first time a process fits, paid again by
every process that fits (each weekly run, each Dagster run process, each test process): a fresh process's
600-message fit takes about twice as long as one that loads them (``bench/compiled.py``; figures in
bench/RESULTS.md, "Weekly fit and embedding"). Numba stores a function's machine code on disk only
when it is declared ``cache=True``, which these libraries mostly do not declare, and numba has no setting
that makes it the default.

:func:`keep_compiled_code` imports the libraries inside :func:`numba_cache_by_default`: while they are
imported (which is when they declare their functions), ``numba.njit`` and ``numba.jit`` default to
``cache=True``; on leaving, numba's own decorators are put back, so no other code of the process is affected
(only a thread declaring numba functions during that import would be). The first process compiles and
stores, the next ones load. Functions declared later, while fitting, compile as before: the libraries'
closures (numba could not store them anyway) and numba's own helpers (its mergesort, 4 of the 50 functions
a process-wide default stored).

The store is numba's own: a ``__pycache__`` folder beside each library source file (numba's per-user
cache folder when that one is read-only, or ``NUMBA_CACHE_DIR`` when the process was started with it). Numba
keys each entry by the source file's path, size and modification time, the function's signature and the
CPU, so an upgraded library or another machine compiles afresh; a function numba cannot store (one that
reads dynamic globals) is compiled as before. Explicit ``cache=False`` is kept.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

# the libraries whose numba functions are stored (UMAP imports PyNNDescent)
LIBRARIES = ("umap", "pynndescent")


def _cached(decorator: Callable[..., Any]) -> Callable[..., Any]:
    """``decorator`` (``numba.njit`` or ``numba.jit``) with ``cache=True`` unless the caller says otherwise."""

    def with_cache(*args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and callable(args[0]) and not kwargs:  # used bare: @numba.njit
            return decorator(cache=True)(args[0])
        kwargs.setdefault("cache", True)
        return decorator(*args, **kwargs)

    return with_cache


@contextmanager
def numba_cache_by_default() -> Iterator[None]:
    """Within the block, ``numba.njit`` and ``numba.jit`` store what they compile on disk unless told
    ``cache=False``; the decorators in place before are restored on leaving (even on an error)."""
    import numba

    njit, jit = numba.njit, numba.jit
    numba.njit, numba.jit = _cached(njit), _cached(jit)
    try:
        yield
    finally:
        numba.njit, numba.jit = njit, jit


def keep_compiled_code(libraries: Sequence[str] = LIBRARIES) -> bool:
    """Import ``libraries`` with their numba functions stored on disk (:func:`numba_cache_by_default`).
    False when one of them was imported before (its functions are already declared, and compile as before)."""
    early = [name for name in libraries if name in sys.modules]
    if early:
        log.debug("numba code of %s is not kept on disk: imported before keep_compiled_code()", early)
    with numba_cache_by_default():
        for name in libraries:
            importlib.import_module(name)
    return not early
