"""The packaging matches the code: every third-party module the project imports is declared in
``pyproject.toml`` (``[project] dependencies`` for the packages and the scripts the tests run, the
``dev`` extra allowed for the tests themselves), no test or lint tool is a runtime dependency, and the
lock files pin each package with hashes (README.md, "Set-up")."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from packaging.requirements import Requirement

from tests.support.paths import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PACKAGES = tuple(p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"])
# the scripts the tests run (bench/fit.py, scripts/train_dissatisfaction.py): runtime dependencies too
SCRIPTS = ("bench", "scripts")
TOOLS = {"pytest", "pytest-timeout", "pytest-xdist", "hypothesis", "ruff", "mypy", "import-linter"}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(extra: str | None = None) -> set[str]:
    project = PYPROJECT["project"]
    specs = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return {normalize(Requirement(spec).name) for spec in specs}


def imported_modules(path: Path) -> dict[str, int]:
    """Top-level name -> first line of every absolute import in one module."""
    out: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            out.setdefault(name.split(".")[0], node.lineno)
    return out


@cache
def distributions() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def undeclared(folders: tuple[str, ...], allowed: set[str]) -> dict[str, str]:
    """``file:line module`` -> the distributions providing it, for each third-party import in
    ``folders`` whose distribution is not in ``allowed``."""
    found = {}
    for folder in folders:
        paths = sorted((REPO / folder).rglob("*.py"))
        first_party = {*PACKAGES, "tests", *SCRIPTS}
        if folder not in PACKAGES:  # scripts and test helpers import modules beside them by path
            first_party |= {p.stem for p in paths}
        for path in paths:
            for module, line in imported_modules(path).items():
                if module in sys.stdlib_module_names or module in first_party:
                    continue
                providers = {normalize(d) for d in distributions().get(module, [])}
                if not providers & allowed:
                    where = f"{path.relative_to(REPO)}:{line} {module}"
                    found[where] = ", ".join(sorted(providers)) or "not installed"
    return found


def test_the_packages_and_the_scripts_they_run_declare_every_import():
    missing = undeclared((*PACKAGES, *SCRIPTS), declared())
    assert not missing, f"add these distributions to [project] dependencies: {missing}"


def test_the_tests_import_only_declared_distributions():
    missing = undeclared(("tests",), declared() | declared("dev"))
    assert not missing, f"add these distributions to [project] dependencies or the dev extra: {missing}"


def test_test_and_lint_tools_are_dev_only():
    assert not TOOLS & declared(), f"test/lint tools among the runtime dependencies: {TOOLS & declared()}"
    assert declared("dev") >= TOOLS


def test_the_walk_sees_nested_and_from_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import os.path\nfrom yaml import safe_load\nfrom . import sibling\n"
        "def f():\n    import sklearn.metrics as m\n    from scipy.optimize import linear_sum_assignment\n"
    )
    assert imported_modules(module) == {"os": 1, "yaml": 2, "sklearn": 5, "scipy": 6}


def lock_pins(path: Path) -> dict[str, str]:
    """Package -> its requirement entry (the pin line and its ``--hash`` continuation lines)."""
    entries: dict[str, str] = {}
    name = ""
    for line in path.read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith(("#", "-")):
            name = normalize(re.split(r"[=\[ ;]", line, maxsplit=1)[0])
            entries[name] = line
        elif name and line.strip().startswith("--hash="):
            entries[name] += " " + line.strip()
    return entries


def test_the_locks_pin_with_hashes_and_keep_the_tools_out_of_the_runtime_lock():
    runtime = lock_pins(REPO / "requirements.lock")
    dev = lock_pins(REPO / "requirements-dev.lock")
    for path, pins in (("requirements.lock", runtime), ("requirements-dev.lock", dev)):
        unhashed = [name for name, entry in pins.items() if "==" not in entry or "--hash=sha256:" not in entry]
        assert not unhashed, f"{path}: pins without a hash (run `make lock`): {unhashed}"
    assert not TOOLS & set(runtime), f"requirements.lock installs test/lint tools: {TOOLS & set(runtime)}"
    assert set(dev) >= TOOLS, f"requirements-dev.lock lacks {TOOLS - set(dev)}"
    assert declared() <= set(runtime), f"not locked (run `make lock`): {declared() - set(runtime)}"
    # the dev lock installs the runtime lock's versions: what the tests run is what users get
    changed = {
        n: (runtime[n].split()[0], dev[n].split()[0]) for n in runtime if runtime[n].split()[0] != dev[n].split()[0]
    }
    assert not changed, f"runtime pins differ between the locks: {changed}"
