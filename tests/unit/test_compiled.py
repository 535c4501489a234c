"""keep_compiled_code and numba_cache_by_default: numba functions declared inside store their machine code
on disk, and numba's own decorators are back afterwards."""

from __future__ import annotations

import importlib.util
import sys
import types

import numba
import pytest

from reasons.topics.compiled import keep_compiled_code, numba_cache_by_default

MODULE = """
import numba

@numba.njit
def bare(x):
    return x + 1

@numba.njit(fastmath=True)
def with_options(x):
    return x * 2

@numba.njit(cache=False)
def not_stored(x):
    return x - 1

@numba.jit(nopython=True)
def with_jit(x):
    return x + 3
"""


def run(module):
    """Call (and so compile: numba stores on first compilation) every function of ``MODULE``."""
    assert (module.bare(1), module.with_options(2), module.not_stored(3), module.with_jit(4)) == (2, 4, 2, 7)


def load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
        run(module)
    finally:
        del sys.modules[path.stem]


def stored(folder):
    """The names of the functions numba stored beside the sources in ``folder``."""
    return {p.name.split(".")[1].split("-")[0] for p in (folder / "__pycache__").glob("*.nbi")}


def test_inside_the_block_functions_are_stored_unless_declared_otherwise_and_numba_is_restored(tmp_path):
    njit, jit = numba.njit, numba.jit
    inside, after = tmp_path / "inside", tmp_path / "after"
    inside.mkdir()
    after.mkdir()
    (inside / "numba_probe_inside.py").write_text(MODULE)
    (after / "numba_probe_after.py").write_text(MODULE)
    with numba_cache_by_default():
        load(inside / "numba_probe_inside.py")
    assert (numba.njit, numba.jit) == (njit, jit)
    load(after / "numba_probe_after.py")
    assert stored(inside) == {"bare", "with_options", "with_jit"}
    assert stored(after) == set()  # declared after the block: compiled as numba does by default


def test_numba_is_restored_when_the_block_fails():
    njit = numba.njit
    with pytest.raises(RuntimeError), numba_cache_by_default():
        assert numba.njit is not njit
        raise RuntimeError("import failed")
    assert numba.njit is njit


def test_keep_compiled_code_imports_the_libraries_and_says_when_one_was_imported_before(tmp_path, monkeypatch):
    njit = numba.njit
    (tmp_path / "numba_probe_library.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert keep_compiled_code(("numba_probe_library",)) is True
        run(sys.modules["numba_probe_library"])
    finally:
        sys.modules.pop("numba_probe_library", None)
    assert stored(tmp_path) == {"bare", "with_options", "with_jit"} and numba.njit is njit

    monkeypatch.setitem(sys.modules, "numba_probe_early", types.ModuleType("numba_probe_early"))
    assert keep_compiled_code(("numba_probe_early",)) is False
    assert numba.njit is njit
