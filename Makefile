# Tongxin: `make run` serves the demo, `make test` runs everything. Nothing else needs to be installed first.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/tongxin
PYTEST_WORKERS ?= 2

.PHONY: run test lint typecheck check pytest pytest-pg bench demo venv messages clean node browser \
	wheel wheelhouse lock backup restore prodstack test-replica

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

# Front-end packages (leaflet, chart.js, htmx) from npm, reinstalled when package-lock.json changes.
NPM_STAMP := node_modules/.tongxin-installed
$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

node: $(NPM_STAMP)

# Browser tests drive Debian's chromium through Playwright (a CJK font keeps their screenshots legible). Installed
# here when missing and this machine lets us; otherwise the browser tests fail and name the command to run.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium and a CJK font for the browser tests (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei; \
	  else \
	    echo "chromium or a CJK font is missing: run 'sudo apt-get install -y chromium fonts-wqy-microhei'"; \
	  fi; \
	fi

messages: venv
	$(PY) -m tongxin.core.i18n_compile

# The demo community, loaded once (a second run says so). `make demo DEMO_ARGS=--reset` starts over.
DEMO_ARGS ?=
demo: venv messages
	$(PY) manage.py migrate --no-input
	$(PY) manage.py sync_holidays
	$(PY) manage.py load_demo $(DEMO_ARGS)

# The sensors' MQTT subscriber starts too when a broker answers on MQTT_URL (default mqtt://127.0.0.1:1883).
run: demo node
	$(PY) manage.py collectstatic --no-input --verbosity 0
	$(PY) manage.py demo_logins
	@echo "同心 Tongxin: http://$(HOST):$(PORT)/  (Ctrl-C stops the server and the worker)"
	@trap 'kill 0' INT TERM EXIT; \
	  $(PY) manage.py run_huey --workers 2 & \
	  $(PY) manage.py run_sensor_ingest --when-broker-answers --stats-seconds 300 & \
	  $(PY) manage.py runserver --insecure $(HOST):$(PORT)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: venv
	$(VENV)/bin/mypy tongxin bench

check: venv messages
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

pytest: venv messages node browser
	HUEY_IMMEDIATE=1 DATABASE_URL= $(VENV)/bin/pytest -n $(PYTEST_WORKERS) -q

pytest-pg: venv messages node browser
	HUEY_IMMEDIATE=1 DATABASE_URL=$(DATABASE_URL) $(VENV)/bin/pytest -n $(PYTEST_WORKERS) -q

test: lint typecheck check pytest
	@if [ -n "$(DATABASE_URL)" ]; then $(MAKE) --no-print-directory pytest-pg; \
	  else echo "DATABASE_URL not set: PostgreSQL run skipped (CI sets it)"; fi

# The replica tests against a real streaming replica: .ci/pg_replica starts a throwaway PostgreSQL 15 primary and a
# hot standby (pg_basebackup -R) on two free ports from 55432, runs them, stops both. docs/scaling.md.
REPLICA_TESTS ?= tongxin/core/tests/test_replica.py tongxin/dashboard/tests/test_dashboard.py \
	tongxin/dashboard/tests/test_district.py
test-replica: venv messages
	bash .ci/pg_replica env HUEY_IMMEDIATE=1 $(VENV)/bin/pytest -q -rs $(REPLICA_TESTS)

bench: venv node
	$(PY) bench/run_all.py

clean:
	rm -rf var/tongxin.sqlite3* var/huey.sqlite3* var/static build dist wheelhouse tongxin/vendor_static

# --- production (docs/deploy.md, docs/operations.md) ----------------------------------------------------------
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)

# requirements.lock: every package the app needs at run time, pinned with its hashes (pip-tools). Re-run after
# changing the dependencies in pyproject.toml, and commit both.
lock: venv
	$(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-header \
	  --output-file requirements.lock pyproject.toml

# The wheel carries templates, static files (the npm packages' dist folders copied in), compiled translations.
wheel: venv messages node
	rm -rf dist/tongxin-$(VERSION)-*.whl
	@# built from a copy of the tree (no caches), so a test run writing beside it cannot pull files from under it
	tmp=$$(mktemp -d) && \
	tar --exclude=__pycache__ --exclude='*.pyc' --ignore-failed-read -cf - pyproject.toml README.md tongxin \
	  | tar -xf - -C $$tmp && \
	for pkg in $$($(PY) -c "import json; print(' '.join(json.load(open('package.json'))['dependencies']))"); do \
	  mkdir -p $$tmp/tongxin/vendor_static/$$pkg && cp -r node_modules/$$pkg/dist $$tmp/tongxin/vendor_static/$$pkg/ && \
	  cp node_modules/$$pkg/LICENSE* $$tmp/tongxin/vendor_static/$$pkg/ 2>/dev/null; true; done && \
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir $(CURDIR)/dist $$tmp; status=$$?; rm -rf $$tmp; exit $$status

# Everything an intranet host needs to install without network: the wheels of requirements.lock, the app's
# wheel, the lock itself, deploy/ and the two operator documents, in wheelhouse/ and dist/tongxin-wheelhouse-*.tar.gz.
# Build it on the same Debian release and architecture as the target (the binary wheels match its Python).
wheelhouse: wheel
	rm -rf wheelhouse && mkdir -p wheelhouse
	$(PY) -m pip download --quiet --no-deps --require-hashes -r requirements.lock --dest wheelhouse
	cp dist/tongxin-$(VERSION)-py3-none-any.whl requirements.lock docs/deploy.md docs/operations.md docs/security.md wheelhouse/
	cp -r deploy wheelhouse/deploy
	tar -czf dist/tongxin-wheelhouse-$(VERSION).tar.gz wheelhouse
	@echo "wheelhouse/ and dist/tongxin-wheelhouse-$(VERSION).tar.gz ready (docs/deploy.md, '3. Install Tongxin offline')"

# pg_dump of DATABASE_URL plus a tar of MEDIA_ROOT into BACKUP_DIR; `make restore BACKUP=<dir>` loads one into
# the (empty) database of DATABASE_URL. docs/operations.md, "Backup and restore".
BACKUP_DIR ?= var/backups
backup: venv
	$(PY) manage.py backup --dir $(BACKUP_DIR)

restore: venv
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=var/backups/tongxin-YYYYmmdd-HHMMSS"; exit 2; }
	$(PY) manage.py restore $(BACKUP)

# gunicorn + worker + nginx from the built wheel on loopback ports, checked end to end (.ci/prodstack).
prodstack:
	bash .ci/prodstack
