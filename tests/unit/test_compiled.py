"""keep_compiled_code: numba functions declared afterwards store their machine code on disk."""

from __future__ import annotations

import importlib.util
import sys

import numba

from reasons.topics.compiled import keep_compiled_code

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
"""


def load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def test_functions_declared_after_it_are_stored_on_disk_unless_declared_otherwise(tmp_path):
    keep_compiled_code()
    keep_compiled_code()  # idempotent: one wrapper, not two
    assert not hasattr(numba.njit.__wrapped__, "__wrapped__")

    source = tmp_path / "numba_compiled_probe.py"
    source.write_text(MODULE)
    module = load(source)
    try:
        assert (module.bare(1), module.with_options(2), module.not_stored(3)) == (2, 4, 2)
    finally:
        del sys.modules[source.stem]
    stored = {p.name.split(".")[1].split("-")[0] for p in (tmp_path / "__pycache__").glob("*.nbi")}
    assert stored == {"bare", "with_options"}


def test_it_says_when_a_library_was_imported_before(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", object())
    assert keep_compiled_code() is False
    monkeypatch.delitem(sys.modules, "umap")
    monkeypatch.delitem(sys.modules, "pynndescent", raising=False)
    assert keep_compiled_code() is True
