# Pingan — the two commands: `make up` (run everything on this machine) and `make test`.
# Both install what they need first: uv (see below) and the workspace.

PYTHON ?= python3
# uv: the one on PATH, else $(PYTHON)'s uv module, else installed from PyPI with $(PYTHON)'s pip, or, where
# that fails (PEP 668 refusal, no pip module), into this small virtual environment. A uv older than
# pyproject.toml's [tool.uv] required-version (what uv.lock needs) is passed over.
BOOTSTRAP_VENV ?= .pingan/uv-venv
UV_BOOTSTRAP = PYTHON='$(PYTHON)' BOOTSTRAP_VENV='$(BOOTSTRAP_VENV)' sh deploy/local/bootstrap-uv.sh
export UV_PYTHON_DOWNLOADS := never
# Python writes its bytecode caches: an environment that sets PYTHONDONTWRITEBYTECODE (this machine's does) makes every
# process, each service and each pytest worker, compile every module it imports from source again, about a second of
# CPU per process start (roster's imports 1.6 s against 0.6 s; collecting the suite 10 s against 3 s).
unexport PYTHONDONTWRITEBYTECODE
# The install compiles it once, for the libraries and the workspace: a fresh clone's pytest workers and service
# processes otherwise compiled the same modules side by side as they first imported them.
VENV := .venv
SYNC_STAMP := $(VENV)/.synced

.PHONY: help uv install up test test-fast test-durations lint typecheck shape check bench bench-outbox bench-inspection bench-roster bench-roster-year bench-alerts bench-patrol bench-city schemas clean demo

help:
	@echo "make up         start PostgreSQL, the broker and the four services (Ctrl-C stops)"
	@echo "make demo       the first demo: a stack on a day a minute and \`pingan simulate\` driving a city through it"
	@echo "make test       install and run every test against the real embedded servers"
	@echo "make test-fast  what to run after each change: unit and service tests, not the slow scenarios (< 1 min)"
	@echo "make check      ruff + mypy + the service shape's import rules (make lint / typecheck / shape: one of them)"
	@echo "make test-durations  run the suite and record its long tests' times (tests/durations.json) for the scheduler"
	@echo "make bench      scan-pipeline benchmark, what the kept outbox rows cost, then the city latency table (prints figures)"
	@echo "make bench-outbox  the kept outbox rows: relay rate with acknowledgements recorded, outbox size, republish rate"
	@echo "make bench-inspection  211 release of 5,000 findings to 300 units (prints figures)"
	@echo "make bench-roster  roster solver vs the plain cpmpy model: 10 Curtois instances + 10 generated sizes to 364x150x32, medians of 3 x 60 s (~2 h; ROSTER_BENCH_ARGS=--quick ~2 min)"
	@echo "make bench-roster-year  a 600-member township's year: 13 periods of 28 days solved in turn, fairness carried over, vs no history (~13 min)"
	@echo "make bench-alerts  10,000 alerts due at once: step due → webhook received p50/p99 vs the broker's own"
	@echo "make bench-patrol  scans per second through rounds and compliance, next to the raw broker rate"
	@echo "make bench-city  at 1x, 10x, 100x Wenzhou's patrol load: scan -> board, deadline -> notification p50/p99 vs the broker's round trip, RSS (~3 min)"
	@echo "make schemas    regenerate the JSON Schema of every event into shared/schemas and docs/asyncapi.json"
	@echo "make clean      remove .venv and the pytest, mypy and ruff caches"
	@echo "make uv         print the uv command the others use (installing uv first if needed)"

# uv's own command may be two words ("python3 -m uv"): left unquoted on purpose. The interpreter is the machine's.
$(SYNC_STAMP): pyproject.toml uv.lock shared/pyproject.toml services/*/pyproject.toml deploy/local/pyproject.toml
	@uv="$$($(UV_BOOTSTRAP))" && echo "uv: $$uv" && $$uv sync --all-packages --frozen --compile-bytecode --python $(PYTHON)
	@$(VENV)/bin/python -m compileall -q -j 0 shared/src services/*/src deploy/local/src
	@touch $@

uv:
	@$(UV_BOOTSTRAP)

install: $(SYNC_STAMP)

up: install
	$(VENV)/bin/pingan up

# The first demo: `pingan up` on compressed time (a day a minute) in a data directory of its own (compressed time
# writes a month of timestamps), then `pingan simulate` drives a seeded city through it and reconciles; both stop at
# the end. SIMULATE_ARGS passes more: e.g. SIMULATE_ARGS="--chaos --seed 7" or "--cycle-days 1" (about 5 minutes).
DEMO_DIR ?= .pingan-demo
DEMO_SCALE ?= 1440
SIMULATE_ARGS ?=
demo: install
	@mkdir -p $(DEMO_DIR) && rm -f $(DEMO_DIR)/stack.json
	@$(VENV)/bin/pingan up --data-dir $(DEMO_DIR) --clock-scale $(DEMO_SCALE) > $(DEMO_DIR)/up.log 2>&1 & up=$$!; \
	trap 'kill -INT $$up 2>/dev/null; wait $$up' EXIT INT TERM; \
	while [ ! -f $(DEMO_DIR)/stack.json ]; do \
	  kill -0 $$up 2>/dev/null || { tail -30 $(DEMO_DIR)/up.log; exit 1; }; sleep 1; done; \
	sed -n '/^  console /,/^Pingan is ready/p' $(DEMO_DIR)/up.log | grep -v '^[a-z]* *| '; \
	echo "the stack's log: $(DEMO_DIR)/up.log; open the console's /board while the city runs"; \
	$(VENV)/bin/pingan simulate --data-dir $(DEMO_DIR) $(SIMULATE_ARGS)

# The suite waits more than it computes (servers joining groups, timers, processes): three workers per core,
# each with its own embedded PostgreSQL and broker, spread it test by test, longest first (pingan_stack.test_schedule,
# by tests/durations.json). PYTEST_WORKERS=0 runs it all in this process.
PYTEST_WORKERS ?= 6
PYTEST_PARALLEL = -n $(PYTEST_WORKERS)

# The console's browser tests drive Chromium with a CJK font: Debian's packages where it can, Playwright's build
# elsewhere (deploy/local/install-browser.sh; at once when they are there). Should it fail, the suite still runs and
# the browser tests fail, saying why.
BROWSER_INSTALL = PYTHON=$(VENV)/bin/python sh deploy/local/install-browser.sh || echo "install-browser failed: the browser tests will fail" >&2

test: install
	@$(BROWSER_INSTALL)
	$(VENV)/bin/python -m pytest $(PYTEST_PARALLEL)

test-durations: install
	@$(BROWSER_INSTALL)
	PINGAN_RECORD_DURATIONS=1 $(VENV)/bin/python -m pytest $(PYTEST_PARALLEL)

test-fast: install
	@$(BROWSER_INSTALL)
	$(VENV)/bin/python -m pytest $(PYTEST_PARALLEL) -m "not slow"

lint: install
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy

# The one service shape as import rules (pyproject.toml [tool.importlinter]; docs/shape.md). --no-cache: a stale
# cache reported moved modules at their old places.
shape: install
	$(VENV)/bin/lint-imports --no-cache

check: lint typecheck shape

bench: install
	$(VENV)/bin/python bench/scan_pipeline.py
	$(VENV)/bin/python bench/outbox_retention.py
	$(VENV)/bin/python bench/city_latency.py

bench-outbox: install
	$(VENV)/bin/python bench/outbox_retention.py

bench-inspection: install
	$(VENV)/bin/python bench/inspection_release.py

# ROSTER_BENCH_ARGS passes more: e.g. "--quick", or "--instances 5,8 --sizes none --runs 1" (bench/README.md).
ROSTER_BENCH_ARGS ?=
bench-roster: install
	$(VENV)/bin/python bench/roster_nrp.py $(ROSTER_BENCH_ARGS)

bench-roster-year: install
	$(VENV)/bin/python bench/roster_year.py

bench-alerts: install
	$(VENV)/bin/python bench/alerts_latency.py

bench-patrol: install
	$(VENV)/bin/python bench/patrol_rounds.py

bench-city: install
	$(VENV)/bin/python bench/city_latency.py

# The events' contracts: a JSON Schema per event into shared/schemas, and the AsyncAPI document of every topic and event
# (docs/asyncapi.json, which every service serves at /asyncapi.json). Tests fail while either differs from the catalog.
schemas: install
	$(VENV)/bin/pingan events schemas --out shared/schemas
	$(VENV)/bin/pingan events asyncapi --out docs/asyncapi.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
