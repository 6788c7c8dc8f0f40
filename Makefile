# Every install step lives here: CI runs `make test` on a fresh clone of a fresh Debian machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCATOR := $(BIN)/locator
SHARED := $(abspath ../shared/data)
GEONAMES := $(SHARED)/geonames-postcodes
DEMO_COUNTRIES := fr ru mc
HOST ?= 127.0.0.1
PORT ?= 8000
SUDO := $(if $(filter 0,$(shell id -u)),,sudo )

.PHONY: run test stop lint bench bench-api bench-move system-deps browser-deps load-deps db data assets help

help:
	@echo "make run   - set everything up, load the demo data, serve on http://$(HOST):$(PORT)"
	@echo "make test  - the same set-up, then the whole test suite against a throwaway database"
	@echo "make stop  - stop the embedded PostGIS cluster"
	@echo "make lint  - ruff and mypy"
	@echo "make bench - benchmarks (writes BENCHMARKS.md)"

# PostgreSQL with PostGIS (and contrib, for unaccent/pg_trgm), installed when missing and we are root.
system-deps:
	@if [ -n "$$LOCATOR_DATABASE_URL" ]; then exit 0; fi; \
	if ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 \
	   && ls /usr/share/postgresql/*/extension/unaccent.control >/dev/null 2>&1; then exit 0; fi; \
	ver=$$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1); \
	if [ -n "$$ver" ]; then pkgs="postgresql-$$ver-postgis-3 postgresql-contrib"; \
	else pkgs="postgresql postgresql-contrib postgresql-postgis"; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "installing $$pkgs"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$pkgs; \
	else \
	  echo "PostGIS is missing. Run: sudo apt-get update && sudo apt-get install -y $$pkgs"; exit 1; \
	fi

browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else echo "Chromium is missing. Run: sudo apt-get install -y chromium"; exit 1; fi; \
	fi

# wrk: the load generator of the 64-connection test (tests/locator/test_robustness.py) and of bench/api.py.
load-deps:
	@if ! command -v wrk >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; \
	  else echo "wrk is missing. Run: sudo apt-get install -y wrk"; exit 1; fi; \
	fi

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# Where the server looks for them: LOCATOR_HOME's assets (locator.settings: .locator by default).
assets: $(VENV)/.installed
	$(BIN)/python -m maps.assets "$${LOCATOR_HOME:-.locator}/assets"

db: system-deps $(VENV)/.installed
	$(LOCATOR) db up
	$(LOCATOR) db init

# Demo data: postcodes for the demo's countries (local GeoNames files when ../shared is there, else downloaded),
# the demo locations and support lines (the demo's lines replace any others: --allow-removals). Re-running
# publishes nothing new (the diff is empty).
data: db
	@for cc in $(DEMO_COUNTRIES); do \
	  if [ -f "$(GEONAMES)/zipcodes.$$cc.csv" ]; then $(LOCATOR) ingest postcodes "$(GEONAMES)/zipcodes.$$cc.csv" --if-missing; \
	  else $(LOCATOR) ingest postcodes --country $$cc --if-missing; fi || exit 1; \
	done
	$(LOCATOR) ingest locations data/locations.csv --source demo
	$(LOCATOR) ingest support data/support.csv --allow-removals
	$(LOCATOR) refresh

run: data assets
	$(LOCATOR) serve --host $(HOST) --port $(PORT)

test: system-deps browser-deps load-deps nominatim-deps $(VENV)/.installed assets
	$(LOCATOR) db up
	$(BIN)/pytest

stop:
	@if [ -x $(LOCATOR) ]; then $(LOCATOR) db down; fi

lint: $(VENV)/.installed
	$(BIN)/ruff check locator ingest maps tests bench
	$(BIN)/mypy

# make bench: both benchmarks (ingest, then the API at 10k and 1M places); each rewrites its own section of
# BENCHMARKS.md. The 1M database is built once through the real ingest and reused by later runs.
bench: db assets load-deps
	$(BIN)/python -m bench.load --write BENCHMARKS.md
	$(BIN)/python -m bench.api --write BENCHMARKS.md

bench-api: db assets load-deps
	$(BIN)/python -m bench.api --write BENCHMARKS.md

# The daily move of the materialised window against a full recomputation, on a copy of bench-api's 1M database.
bench-move: db
	$(BIN)/python -m bench.move --database locator_bench_api_1000000

# A real, self-hosted Nominatim for tests/nominatim (marker `nominatim`): Debian's osm2pgsql, and PyPI's
# nominatim-db/nominatim-api in a venv of their own (they pin their own psycopg and SQLAlchemy; PyICU is built
# from source, hence the ICU headers and a compiler). The import of the OSM test extract (~80-120 s on 2 cores)
# is done once and reused by later runs while the extract and the Nominatim version stay the same.
NOMINATIM_VENV := .locator/nominatim/venv
NOMINATIM_VERSION := 5.3.3
.PHONY: nominatim nominatim-deps

nominatim-deps: system-deps
	@missing=""; command -v osm2pgsql >/dev/null 2>&1 || missing="$$missing osm2pgsql"; \
	pkg-config --exists icu-i18n 2>/dev/null || missing="$$missing libicu-dev pkg-config"; \
	command -v g++ >/dev/null 2>&1 || missing="$$missing g++"; \
	$(PYTHON) -c 'import sysconfig,os,sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
	  || missing="$$missing python3-dev"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else echo "Nominatim needs:$$missing. Run: sudo apt-get install -y$$missing"; exit 1; fi; \
	fi
	@if [ ! -x $(NOMINATIM_VENV)/bin/nominatim ] || ! $(NOMINATIM_VENV)/bin/nominatim --version | grep -q $(NOMINATIM_VERSION); then \
	  $(PYTHON) -m venv $(NOMINATIM_VENV) && \
	  $(NOMINATIM_VENV)/bin/pip install -q 'nominatim-db==$(NOMINATIM_VERSION)' 'nominatim-api==$(NOMINATIM_VERSION)' \
	    'uvicorn>=0.30' 'starlette>=0.40'; \
	fi

nominatim: nominatim-deps $(VENV)/.installed
	$(LOCATOR) db up
	$(BIN)/pytest -m nominatim tests/nominatim

# Ingest benchmark: the real ingest vs raw COPY + index vs geopandas to_postgis, same 1M synthetic rows (bench/load.py).
BENCH_ROWS ?= 1000000
.PHONY: bench-ingest
bench-ingest: db
	$(BIN)/python -m bench.load --rows $(BENCH_ROWS) --write BENCHMARKS.md
