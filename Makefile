# The two commands of README.md: `make demo` and `make test`. Both set up .venv/ first (idempotent).
PY := .venv/bin/python
DEMO_HOME ?= .reasonlake/demo

.PHONY: setup demo test test-fast ui docs bench lock clean

setup:
	@bash scripts/setup.sh

demo: setup
	@.venv/bin/reasonlake --home $(DEMO_HOME) down >/dev/null 2>&1 || true
	@rm -rf $(DEMO_HOME)
	.venv/bin/reasonlake --home $(DEMO_HOME) demo

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

ui: setup
	.venv/bin/reasonlake --home $(DEMO_HOME) ui

docs: setup
	.venv/bin/reasonlake --home $(DEMO_HOME) docs

lock:
	.venv/bin/uv pip compile pyproject.toml -o requirements.lock --python 3.11 \
	  --find-links "$$(python3 -m pip config get global.find-links)" \
	  --override scripts/overrides.txt --no-emit-package sqlglotc --no-emit-package sqlglotrs

clean:
	rm -rf .reasonlake dbt/target dbt/logs
