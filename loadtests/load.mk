# Load tests (included by the top-level Makefile).  Every run is bounded in time and targets a server
# that is already running:
#   make load HOST=http://127.0.0.1:3000 USERS=8 DURATION=30s [SCENARIO=explain1|batch|predict|mix]
#             [RATE=20 ARRIVALS=poisson|constant] [STAGES=30:10,30:40,40:10] [RSS=1]
#             [SLO_P50_MS= SLO_P95_MS= SLO_P99_MS= SLO_P99_RATIO= SLO_FAIL_RATE= SLO_NO_5XX=1 SLO_MIN_RPS=]
#             [LOAD_OUT=dir]
# Results land in loadtests/out/<time>-<scenario>/ (summary.md, summary.json, CSV); a violated SLO fails
# the run (exit 1).  See loadtests/README.md.

# HOST is often set in a shell's environment to a host NAME: only a URL given on the command line (or
# an environment value that is a URL) is taken
ifeq ($(origin HOST),environment)
ifeq ($(findstring ://,$(HOST)),)
HOST := http://127.0.0.1:$(PORT)
endif
endif
HOST ?= http://127.0.0.1:$(PORT)
USERS ?= 4
DURATION ?= 30s
SCENARIO ?= mix
ARRIVALS ?= poisson

LOAD_ARGS = --host $(HOST) --scenario $(SCENARIO) --users $(USERS) --duration $(DURATION) \
	--arrivals $(ARRIVALS) \
	$(if $(RATE),--rate $(RATE)) $(if $(STAGES),--stages $(STAGES)) $(if $(USER_RPS),--user-rps $(USER_RPS)) \
	$(if $(BATCH),--batch $(BATCH)) $(if $(LOAD_OUT),--out $(LOAD_OUT)) $(if $(filter 1,$(RSS)),--rss) \
	$(if $(SLO_P50_MS),--slo-p50-ms $(SLO_P50_MS)) $(if $(SLO_P95_MS),--slo-p95-ms $(SLO_P95_MS)) \
	$(if $(SLO_P99_MS),--slo-p99-ms $(SLO_P99_MS)) $(if $(SLO_P99_RATIO),--slo-p99-ratio $(SLO_P99_RATIO)) \
	$(if $(SLO_FAIL_RATE),--slo-max-fail-rate $(SLO_FAIL_RATE)) $(if $(filter 1,$(SLO_NO_5XX)),--slo-no-5xx) \
	$(if $(SLO_MIN_RPS),--slo-min-rps $(SLO_MIN_RPS)) $(if $(SLO_NAME),--slo-name '$(SLO_NAME)')

.PHONY: load load-smoke load-max load-soak

load: install
	$(BIN)/python loadtests/run_load.py $(LOAD_ARGS)

# what CI runs against a server it started: a few seconds of the mix, no failure allowed
load-smoke: install
	$(BIN)/python loadtests/run_load.py --host $(HOST) --scenario mix --users 2 --duration 5s \
		--slo-max-fail-rate 0 --slo-no-5xx $(if $(LOAD_OUT),--out $(LOAD_OUT))

# the reliability measurements of loadtests/README.md against a running server (about 8 minutes):
# maximum sustainable RPS of 1-row /explain, half and twice that rate, latency after the burst
load-max: install
	$(BIN)/python loadtests/reliability.py max --host $(HOST) $(if $(LOAD_OUT),--out $(LOAD_OUT))

# bounded soak at a moderate rate with the server's RSS sampled every 5 s (5 min of the mix at 8 req/s)
SOAK ?= 5m
SOAK_RATE ?= 8
SOAK_SCENARIO ?= mix
load-soak: install
	$(BIN)/python loadtests/reliability.py soak --host $(HOST) --scenario $(SOAK_SCENARIO) --rate $(SOAK_RATE) \
		--duration $(SOAK) $(if $(LOAD_OUT),--out $(LOAD_OUT))
