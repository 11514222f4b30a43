# Bulwark: `make run` serves the embedded default; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# Tests run with DEBUG off, as in production, but over plain HTTP.
TEST_ENV := SECRET_KEY=$${SECRET_KEY:-test-secret-key-not-for-production-0123456789abcdefghijklmnop} \
	ALLOWED_HOSTS=$${ALLOWED_HOSTS:-testserver,localhost,127.0.0.1} HTTPS=0 DEBUG=0 CONN_MAX_AGE=0

.PHONY: run test lint fmt bench mutation migrate worker beat sequencer clean-venv

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Bulwark needs Python 3.11 or newer (set PYTHON=python3.11)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

run: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	@echo "Bulwark is at http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.installed-dev
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports  # the dependency rule: [tool.importlinter] in pyproject.toml

fmt: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Not part of `make test`: PostgreSQL on 127.0.0.1, 100k incidents + 1M audit entries (made on the
# first run), gunicorn on loopback, figures in bench/results.json. BENCH_ARGS="--requests 200" etc.
bench: $(VENV)/.installed
	$(PY) bench/run.py $(BENCH_ARGS)

# Not part of `make test`: mutmut on each rule module against its tests (SQLite, fixed Hypothesis seed), in
# copies under .mutation/, then a table of scores. MUTATION_ARGS="playbook --survivors" etc. (mutation/run.py).
mutation: $(VENV)/.installed-dev
	$(PY) mutation/run.py $(MUTATION_ARGS)

worker: $(VENV)/.installed
	$(VENV)/bin/celery -A config worker --loglevel=INFO

beat: $(VENV)/.installed
	$(VENV)/bin/celery -A config beat --loglevel=INFO

# With AUDIT_SEQUENCER=background: chains the audit entries requests leave pending.
sequencer: $(VENV)/.installed
	$(PY) manage.py run_audit_sequencer

clean-venv:
	rm -rf $(VENV)
