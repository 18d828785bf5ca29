# rtp — the developer's entry points. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RTP := $(VENV)/bin/rtp
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup kafka-up kafka-down topics test unit lint bench demo js clean

# The local broker's port as `rtp kafka up` will use it (RTP_KAFKA_PORT, default 9092).
KAFKA_PORT := $(or $(RTP_KAFKA_PORT),9092)

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/{port}/$(KAFKA_PORT)/' | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

setup: $(VENV)/.installed ## create .venv and install rtp with its dev tools

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

kafka-up: setup ## start the local Apache Kafka (KRaft) on 127.0.0.1:{port}
	$(RTP) kafka up

kafka-down: setup ## stop the local Apache Kafka that rtp started
	$(RTP) kafka down

topics: setup ## create the declared topics, report drift
	$(RTP) topics apply

# The whole suite on a real broker: start one if none answers, stop it only if we started it.
test: setup node_modules/.installed ## run every test (unit, doctest, integration on a real broker, e2e, fault)
	@started=0; \
	if ! $(RTP) kafka status --quiet; then $(RTP) kafka up && started=1 || exit 1; fi; \
	$(RTP) topics apply >/dev/null; \
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$started = 1 ]; then $(RTP) kafka down; fi; \
	exit $$rc

unit: setup node_modules/.installed ## run the tests that need no broker or browser
	$(PY) -m pytest tests/unit pipeline topologies $(PYTEST_ARGS)

js: setup node_modules/.installed ## rebuild the tracker's minified build (pipeline/web/static/rtp.min.js) and print its sizes
	$(PY) -m pipeline.web.minify

# The tracker's build tools (terser, pinned in package-lock.json), which its unit test runs too.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

lint: setup ## ruff + mypy on the code
	$(VENV)/bin/ruff check pipeline topologies tests bench
	$(VENV)/bin/mypy pipeline topologies

bench: setup ## run the benchmarks, results in bench/results/ (RTP_BENCH_SCALE=0.2 for a quick run)
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) -m bench

demo: setup ## run the main job end to end on a local broker
	$(RTP) demo

clean: ## remove the venv, caches and the local broker's data
	-$(RTP) kafka down
	rm -rf $(VENV) node_modules .cache .pytest_cache .mypy_cache .ruff_cache .hypothesis
