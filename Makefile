# Two commands from a fresh clone: `make run` and `make test` (README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test lint install install-dev worker bench clean translations screenshots

# axe-core for the accessibility checks of the browser tests, installed into the venv (never a CDN).
AXE_VERSION := 4.14.1
AXE := $(VENV)/node_modules/axe-core/axe.min.js

# Message catalogues: the .po files are committed, the .mo files are compiled here at set-up.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -l $* -d translations

install: $(VENV)/.installed $(MO_FILES)
install-dev: $(VENV)/.installed-dev $(MO_FILES) $(AXE)

$(AXE): | $(BIN)/python
	npm install --silent --no-save --no-package-lock --prefix $(VENV) axe-core@$(AXE_VERSION)

# After changing texts: refresh the template and the catalogues, translate, commit the .po files.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output --omit-header -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-location --omit-header --width 100
	$(MAKE) install

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

# Two pytest processes (pytest-xdist): many tests wait on PostgreSQL, SMTP, Chromium or a child
# process, so two share the cores well; each builds its own SQLite file and PostgreSQL database.
TEST_PROCESSES ?= 2
test: install-dev
	$(BIN)/ruff check .
	$(BIN)/pytest -n $(TEST_PROCESSES) $(PYTEST_ARGS)

# The main pages as PNGs in docs/screenshots/ (Chromium, SQLite, demo-free test data).
screenshots: install-dev
	$(BIN)/pytest -q -p no:cacheprovider tests/browser/screenshots.py -k sqlite

clean:
	rm -rf $(VENV) .pytest_cache
