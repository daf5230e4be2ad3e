# The commands people and scripts call. `make run` and `make test` install first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PARTS := libs/events libs/runtime services/ingest services/projector services/query
STAMP := $(VENV)/.installed

.PHONY: install tools run test unit deploy-check bench clean

install: $(STAMP)

$(STAMP): constraints.txt requirements-dev.txt cli/pyproject.toml $(addsuffix /pyproject.toml,$(PARTS))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt $(addprefix -e ,$(PARTS)) \
		-e 'cli[embedded]' -r requirements-dev.txt  # embedded: brokers for a machine without any
	touch $@

run: install
	$(BIN)/tonypi up

# Tools the deploy checks need that PyPI does not carry (promtool); see docs/deploy.md.
tools: install
	bash deploy/ci/install-tools.sh

# Style first (seconds), then the whole suite with MQTT, NATS and PostgreSQL answering:
# those already running, else embedded ones from PyPI on free ports (tonypi with-deps).
test: install tools
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/tonypi with-deps -- $(BIN)/pytest

# The fast tier: every test that requests no broker or database fixture and is not marked
# `slow` or `integration` (tests/conftest.py marks it `unit` at collection): pure logic, the
# API against fakes. The URLs point where nothing answers, so a test that reaches a broker fails.
unit: install
	TEST_NATS_URL=nats://127.0.0.1:9 TEST_MQTT_URL=mqtt://127.0.0.1:9 \
		TEST_PG_ADMIN_URL=postgresql://postgres@127.0.0.1:9/postgres \
		$(BIN)/pytest -q -p no:schemathesis -m unit

# The container check (docs/deploy.md): the service images built and the compose stack
# started with podman in a loopback-only network namespace, a robot's messages followed
# into the API and /metrics, everything torn down. Root and Debian's archive needed.
deploy-check: install
	$(BIN)/podman-compose --version >/dev/null 2>&1 || $(BIN)/pip install --quiet -c constraints.txt -r deploy/check/requirements.txt
	bash deploy/check/run.sh

# The benchmarks of docs/ingest.md, docs/projector.md and docs/query.md, today's main (A)
# against this checkout (B) in alternating rounds, then a table of medians and B/A
# (bench/ab.py: BENCH_BASE=<ref>, BENCH=<names>, BENCH_ROUNDS=<n>, BENCH_QUICK=1). Each wants
# the machine to itself; bench/query_http.py loads the API with wrk.
bench: install
	$(BIN)/python bench/ab.py

clean:
	rm -rf $(VENV) .data
