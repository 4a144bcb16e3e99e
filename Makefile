# shapserve: the single entry point.  Everything runs inside .venv, created from the pinned locks.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 3000
export BENTOML_HOME := $(CURDIR)/.bentoml
export BENTOML_DO_NOT_TRACK := true

.PHONY: install clients demo serve test test-fast lint docs bench load bento image clean postgres jre chromium promtool

# requirements-batch.lock (pyspark, ~300 MB) is for `explain-batch --engine spark` and its tests only:
# the serving image installs requirements.lock and its model's extras (cli/bento.py)
# the serving core (requirements.lock) and every model's optional packages (requirements-<extra>.lock,
# scorers/runtime_packages.py): a Bento takes only those its model needs
EXTRA_LOCKS := requirements-onnx.lock requirements-lightgbm.lock requirements-xgboost.lock requirements-parquet.lock requirements-numba.lock
$(BIN)/shapserve: pyproject.toml requirements.lock $(EXTRA_LOCKS) requirements-dev.lock requirements-batch.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock $(EXTRA_LOCKS:%=-r %) -r requirements-dev.lock -r requirements-batch.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(BIN)/shapserve

install: $(BIN)/shapserve

# third-party protocol clients (KServe SDK, Triton's client) for tests/protocols: their own venv, since
# kserve pins packages below ours; the tests run them as scripts
CLIENTS := .venv-clients
$(CLIENTS)/installed: requirements-clients.lock
	test -x $(CLIENTS)/bin/python || $(PY) -m venv $(CLIENTS)
	$(CLIENTS)/bin/python -m pip install --quiet --upgrade pip
	$(CLIENTS)/bin/python -m pip install --quiet -r requirements-clients.lock
	touch $@

clients: $(CLIENTS)/installed

demo: install
	$(BIN)/shapserve demo
	$(BIN)/shapserve serve --port $(PORT)

serve: install
	$(BIN)/shapserve serve --port $(PORT)

# the store tests start their own PostgreSQL server from the distribution's binaries
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  echo "installing PostgreSQL server binaries for tests/store"; \
	  $$SUDO apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

# the dashboard's browser tests drive Debian's chromium through Playwright (never a downloaded browser)
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  echo "installing chromium for tests/dashboard"; \
	  $$SUDO apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# the drift alerts (deploy/k8s/prometheusrule.yaml) are checked and unit-tested by Debian's promtool
promtool:
	@command -v promtool >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  echo "installing prometheus (promtool) for tests/deploy"; \
	  $$SUDO apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

# Spark needs a Java runtime: Debian's default-jre-headless where none is installed
jre:
	@command -v java >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null; }

test: install clients postgres jre chromium promtool
	$(BIN)/python -m pytest -q --durations=30

test-fast: install postgres jre promtool
	$(BIN)/python -m pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check scorers service cli store batch tests benchmarks loadtests
	$(BIN)/ruff format --check scorers service cli store batch tests benchmarks loadtests
	$(BIN)/mypy scorers service cli store batch

docs: install
	$(BIN)/python docs/generate.py

bench: install
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-bench.lock
	$(BIN)/python -m benchmarks.run

bento: install
	$(BIN)/shapserve demo --build

clean:
	rm -rf $(VENV) $(CLIENTS) .bentoml build

# image, deployments and load tests keep their targets beside their files
-include deploy/deploy.mk
-include loadtests/load.mk
