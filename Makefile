# Two commands for a newcomer: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# The console's browser libraries (htmx, ECharts) come from npm. package.json sits at the repo
# root, beside pyproject.toml, so both dependency lists are found in one place; the files are
# copied into an ignored static folder, so no third-party file is committed and none comes from
# a CDN. The stamp reruns `npm ci` only when the lock file changes.
VENDOR := src/siyu/console/static/vendor
ASSETS_STAMP := $(VENDOR)/.installed

.PHONY: run test lint bench install assets clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

$(ASSETS_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	touch $@

assets: $(ASSETS_STAMP)

install: $(STAMP) $(ASSETS_STAMP)

run: $(STAMP) $(ASSETS_STAMP)
	$(BIN)/siyu init
	$(BIN)/siyu serve

test: $(TEST_STAMP) $(ASSETS_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest; status=$$?; if [ $$status -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$status

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@ $(TEST_STAMP) $(STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) var .pytest_cache node_modules $(VENDOR)
