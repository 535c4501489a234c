"""Configuration travels as arguments, never through ``os.environ``: no project module writes the
process environment (except switches a third-party library reads only from there), and none reads
a ``REASONLAKE_*`` variable at import time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO

PACKAGES = ("reasonlake", "reasons", "dagster_project", "flink", "lake", "feature_repo")
# file -> the variables it may set: Hugging Face / tokenizers switches read only from the environment
ALLOWED = {
    "reasons/embedding/backends.py": {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM"},
}
WRITERS = {"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__"}


def _environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def environment_writes(path: Path) -> list[tuple[int, str]]:
    """(line, variable or '?') of every write to ``os.environ`` / ``os.putenv`` in a module."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                if isinstance(t, ast.Subscript) and _environ(t.value):
                    key = t.slice.value if isinstance(t.slice, ast.Constant) else "?"
                    out.append((node.lineno, str(key)))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if _environ(node.func.value) and node.func.attr in WRITERS:
                arg = node.args[0] if node.args else None
                out.append((node.lineno, str(arg.value) if isinstance(arg, ast.Constant) else "?"))
            elif node.func.attr == "putenv":
                out.append((node.lineno, "?"))
    return out


def test_no_module_writes_the_process_environment():
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            relative = path.relative_to(REPO).as_posix()
            bad = [(line, key) for line, key in environment_writes(path) if key not in ALLOWED.get(relative, set())]
            if bad:
                found[relative] = bad
    assert not found, f"os.environ written outside the allowed switches: {found}"


def test_the_guard_finds_every_kind_of_write(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import os\nos.environ['A'] = '1'\nos.environ.update(B='2')\nos.environ.setdefault('C', '3')\n"
        "del os.environ['D']\nos.putenv('E', '5')\nos.environ.get('F')\n"
    )
    assert sorted(line for line, _ in environment_writes(module)) == [2, 3, 4, 5, 6]


def test_importing_the_project_reads_no_reasonlake_variable():
    code = """
import os, sys
class Spy(dict):
    read = set()
    def __getitem__(self, k):
        Spy.read.add(k); return dict.__getitem__(self, k)
    def get(self, k, d=None):
        Spy.read.add(k); return dict.get(self, k, d)
    def __contains__(self, k):
        Spy.read.add(k); return dict.__contains__(self, k)
os.environ = Spy(os.environ)
os.environ["REASONLAKE_HOME"] = "/nowhere"
import importlib, pkgutil
PACKAGES = __PACKAGES__
for package in PACKAGES:
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
print(sorted(k for k in Spy.read if k.startswith("REASONLAKE_")))
"""
    code = code.replace("__PACKAGES__", repr(PACKAGES))
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
