# Targets match CI one to one. `make run` is the main job on embedded defaults; `make test` is
# the whole suite, starting the local PostgreSQL and Redis it needs when they are not running.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run serve test test-unit eval ranker bench lint services clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned to the CPU build, so nothing pulls a CUDA build.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: install
	$(VENV)/bin/hotline sync
	$(VENV)/bin/hotline query "thu tuc cap lai giay phep lai xe bi mat"

serve: install
	$(VENV)/bin/hotline serve

services:
	bash scripts/start-services.sh

test: install services
	$(PY) -m pytest

test-unit: install
	$(PY) -m pytest -m "not integration"

eval: install
	$(PY) -m answer_service.evaluation --output docs/evaluation.md

ranker: install
	$(PY) -m answer_service.train_ranker --cross-validate

bench: install
	$(PY) bench/bench_ingestion.py
	$(PY) bench/bench_answer_service.py

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf var .pytest_cache
