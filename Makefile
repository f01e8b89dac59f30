# The two commands a newcomer needs: `make run` and `make test`. CI (.ci/run) calls `make test` too.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-$(shell cat requirements/lock.txt frontend/package-lock.json | sha256sum | cut -c1-12)
MANAGE := $(BIN)/python manage.py
PYTEST_ARGS ?=

.PHONY: run test install browser setup messages lint format lock bench bench-units bench-photos bench-products bench-listings bench-kpi prove clean

run: setup
	@echo ""
	@echo "  Web:        http://127.0.0.1:8000/"
	@echo "  API docs:   http://127.0.0.1:8000/api/v1/docs/"
	@echo "  Admin:      http://127.0.0.1:8000/admin/"
	@echo "  Readiness:  http://127.0.0.1:8000/readyz"
	@echo "  Demo logins (password for all: ocop-demo-2025): admin, canbo.yenbai, tocongnghe.vanchan, chuthe.tule"
	@echo "  Ctrl-C stops everything."
	@echo ""
	$(BIN)/honcho -f Procfile start

# Tests get their own var/ (SQLite file, broker folders): a `make run` worker never takes a test's task.
test: install messages browser
	VAR_DIR=$${VAR_DIR:-$(CURDIR)/var/test} $(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser tests (tests/browser) drive Debian's Chromium: from apt, never Playwright's own downloads. Nothing to
# do once it is there; without root, the tests fail saying so.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; \
	  else \
	    echo "tests/browser need /usr/bin/chromium: run 'sudo apt-get install --no-install-recommends chromium'"; \
	  fi; \
	}

# The locked dependencies: Python (with hashes) into .venv, front-end assets from npm into
# frontend/node_modules (install scripts off: nothing runs at install time). Redone only when a lock changes.
install: $(INSTALLED)

$(INSTALLED): requirements/lock.txt frontend/package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/lock.txt
	cd frontend && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -f $(VENV)/.installed-* && touch $@

# Babel compiles the catalogues in pure Python: the machine needs no GNU gettext (only makemessages,
# a developer's tool, does).
messages: install
	$(BIN)/pybabel -q compile --domain django --directory locale

setup: install messages
	$(MANAGE) migrate --noinput
	$(MANAGE) load_admin_units
	$(MANAGE) load_catalog_reference
	$(MANAGE) load_channel_reference
	$(MANAGE) load_demo_data
	$(MANAGE) load_demo_catalog
	$(MANAGE) load_demo_orders
	$(MANAGE) storefront_setup --demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MANAGE) makemigrations --check --dry-run

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-pin every dependency (needs the network): edit pyproject.toml, then `make lock`.
lock: install
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --extra dev --generate-hashes --strip-extras --allow-unsafe -o requirements/lock.txt pyproject.toml

# Every benchmark below in one go, then one table of figures against targets, with the machine, in docs/bench.md
# (tests/bench/report.py; full size takes over an hour: smaller sizes and other databases from the environment,
# e.g. BENCH_DB_PREFIX=ocop_quick BENCH_PRODUCTS=2000 BENCH_ORDER_LINES=50000 BENCH_LISTINGS=100 BENCH_PHOTOS=4).
bench: install
	$(BIN)/python -m tests.bench.report

# Benchmark: load every unit and its lineage from scratch, then rerun with no change.
bench-units: install
	$(BIN)/python -m tests.bench.bench_load_admin_units

# Benchmark: 20 phone photos (12-48 MP) through the pipeline against a naive Pillow pipeline.
bench-photos: install
	$(BIN)/python -m tests.bench.bench_photos

# Benchmark: the product list with 100,000 products on PostgreSQL, against hand-written SQL.
bench-products: install
	$(BIN)/python -m tests.bench.bench_product_list

# Benchmark: 1,000 ready listings pushed to each mock marketplace at 50 req/s (PostgreSQL, Redis, real workers).
bench-listings: install
	$(BIN)/python -m tests.bench.bench_listings

# Benchmark: the KPI endpoints on a national data set (20,000 products, 2,000,000 order lines) on PostgreSQL,
# beside SELECT count(*) over the products; and the rollup refresh after 10,000 new order lines.
bench-kpi: install
	$(BIN)/python -m tests.bench.bench_kpi

# The long proofs (PostgreSQL and Redis; tests/prove): hostile input, faults on listings and on orders, recovery,
# then load; each bounded in time, each goes on after a failure; results in var/prove/ (PROVE_OUT).
prove: install messages
	$(BIN)/python -m tests.prove

clean:
	rm -rf $(VENV) var
