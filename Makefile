# shapserve: the single entry point.  Everything runs inside .venv, created from the pinned locks.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 3000
export BENTOML_HOME := $(CURDIR)/.bentoml
export BENTOML_DO_NOT_TRACK := true

.PHONY: install demo serve test test-fast lint bench load bento image clean jre

# requirements-batch.lock (pyspark, ~300 MB) is for `explain-batch --engine spark` and its tests only:
# the serving image installs requirements.lock alone (bentofile.yaml)
$(BIN)/shapserve: pyproject.toml requirements.lock requirements-dev.lock requirements-batch.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock -r requirements-dev.lock -r requirements-batch.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(BIN)/shapserve

install: $(BIN)/shapserve

demo: install
	$(BIN)/shapserve demo
	$(BIN)/shapserve serve --port $(PORT)

serve: install
	$(BIN)/shapserve serve --port $(PORT)

# Spark needs a Java runtime: Debian's default-jre-headless where none is installed
jre:
	@command -v java >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null; }

test: install jre
	$(BIN)/python -m pytest -q

test-fast: install jre
	$(BIN)/python -m pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check scorers service batch tests benchmarks loadtests
	$(BIN)/ruff format --check scorers service batch tests benchmarks loadtests
	$(BIN)/mypy scorers service batch

bench: install
	$(BIN)/python -m benchmarks.run

bento: install
	$(BIN)/shapserve demo --build

clean:
	rm -rf $(VENV) .bentoml build

# image, deployments and load tests keep their targets beside their files
-include deploy/deploy.mk
-include loadtests/load.mk
