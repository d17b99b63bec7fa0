# Two commands from a fresh clone: `make run` and `make test` (README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test lint install install-dev worker bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Migrate, seed an empty database, then serve the app and the mail worker together.
# Ctrl-C reaches both (one process group): the server stops, the worker finishes its message;
# the trap waits for the worker, so that nothing outlives `make run` and nothing alarms.
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask crm seed-demo --if-empty
	@$(BIN)/flask crm worker & worker=$$!; \
	trap 'wait $$worker; exit 0' INT; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' TERM EXIT; \
	$(BIN)/flask run --host 127.0.0.1 --port 5000

worker: install
	$(BIN)/flask crm worker

lint: install-dev
	$(BIN)/ruff check .

test: install-dev
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
