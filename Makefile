# The two commands of README.md: `make demo` and `make test`. Both set up .venv/ first (idempotent).
PY := .venv/bin/python
DEMO_HOME ?= .reasonlake/demo

.PHONY: setup demo test test-fast lint ui docs bench lock clean

setup:
	@bash scripts/setup.sh

demo: setup
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

ui: setup
	.venv/bin/reasonlake --home $(DEMO_HOME) ui

docs: setup
	.venv/bin/reasonlake --home $(DEMO_HOME) docs

lock:
	.venv/bin/uv pip compile pyproject.toml -o requirements.lock --python 3.11 \
	  --find-links "$$(python3 -m pip config get global.find-links)" \
	  --override scripts/overrides.txt --no-emit-package sqlglotc --no-emit-package sqlglotrs

# Build outputs only: a home (.reasonlake/, the data) is deleted only by `reasonlake --home H destroy --yes`.
clean:
	rm -rf dbt/target dbt/logs .mypy_cache .ruff_cache .pytest_cache
