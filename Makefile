# The two commands of README.md: `make demo` and `make test`. Both set up .venv/ first (idempotent).
PY := .venv/bin/python
DEMO_HOME ?= .reasonlake/demo

.PHONY: setup setup-runtime setup-engines demo test test-fast lint ui docs bench lock clean

# The developer's environment: the runtime lock plus the test and lint tools (requirements-dev.lock).
setup:
	@bash scripts/setup.sh --dev

# What a user's commands need: the runtime lock only (requirements.lock), no test or lint tool.
setup-runtime:
	@bash scripts/setup.sh

# The Debian packages of the scale-out engines (Redis, PostgreSQL), as root: `reasonlake up --profile cluster`.
setup-engines:
	@bash scripts/setup-engines.sh

demo: setup-runtime
	@.venv/bin/reasonlake --home $(DEMO_HOME) down >/dev/null 2>&1 || true
	@rm -rf $(DEMO_HOME)
	.venv/bin/reasonlake --home $(DEMO_HOME) demo

# What CI runs (.ci/run): the linters, then every test layer (unit, integration, e2e).
test: setup lint
	PYTHONHASHSEED=0 $(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

# The quick local loop: the pure unit tests only (well under a minute).
test-fast: setup
	PYTHONHASHSEED=0 $(PY) -m pytest -q tests/unit

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	.venv/bin/mypy

ui: setup-runtime
	.venv/bin/reasonlake --home $(DEMO_HOME) ui

docs: setup-runtime
	.venv/bin/reasonlake --home $(DEMO_HOME) docs

# The hashed locks: requirements.lock (the runtime) and requirements-dev.lock (the same pins plus the
# dev extra). torch's CPU wheel comes from pip's configured find-links folder (scripts/setup.sh).
LOCK_FLAGS = --python 3.11 --generate-hashes --find-links "$$(python3 -m pip config get global.find-links)" \
  --override scripts/overrides.txt --no-emit-package sqlglotc --no-emit-package sqlglotrs
lock:
	.venv/bin/uv pip compile pyproject.toml -o requirements.lock $(LOCK_FLAGS) --excludes scripts/excludes-runtime.txt
	.venv/bin/uv pip compile pyproject.toml --extra dev -c requirements.lock -o requirements-dev.lock $(LOCK_FLAGS)

# Build outputs only: a home (.reasonlake/, the data) is deleted only by `reasonlake --home H destroy --yes`.
clean:
	rm -rf dbt/target dbt/logs .mypy_cache .ruff_cache .pytest_cache
