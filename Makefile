# Pingan — the two commands: `make up` (run everything on this machine) and `make test`.
# Both install what they need first: uv (from PyPI, with the machine's Python) and the workspace.

PYTHON ?= python3
UV := $(PYTHON) -m uv
export UV_PYTHON_DOWNLOADS := never
VENV := .venv
SYNC_STAMP := $(VENV)/.synced

.PHONY: help install up test test-fast lint typecheck check bench schemas clean

help:
	@echo "make up         start PostgreSQL, the broker and the four services (Ctrl-C stops)"
	@echo "make test       install and run every test against the real embedded servers"
	@echo "make test-fast  unit and integration tests without the slow fault scenarios"
	@echo "make check      ruff + mypy"
	@echo "make bench      scan-pipeline benchmark (prints figures)"

# uv itself comes from PyPI through the machine's pip; the interpreter is the machine's.
$(SYNC_STAMP): pyproject.toml uv.lock shared/pyproject.toml services/*/pyproject.toml deploy/local/pyproject.toml
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check 'uv>=0.5'
	$(UV) sync --all-packages --frozen --python $(PYTHON)
	@touch $@

install: $(SYNC_STAMP)

up: install
	$(VENV)/bin/pingan up

test: install
	$(VENV)/bin/python -m pytest

test-fast: install
	$(VENV)/bin/python -m pytest -m "not slow"

lint: install
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy

check: lint typecheck

bench: install
	$(VENV)/bin/python bench/scan_pipeline.py

schemas: install
	$(VENV)/bin/pingan events schemas --out shared/schemas

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
