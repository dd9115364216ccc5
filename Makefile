# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := kmblog

.PHONY: run test install lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the project's metadata changes; the stamp keeps repeat runs quick.
# config.py too: the editable install keeps a copy of it (pyproject's force-include).
$(VENV)/.installed: pyproject.toml config.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# axe-core and Lighthouse for the browser tests, and the Nu HTML Checker (vnu.jar), from
# the npm registry at the versions the lock names. Without npm those tests are left out
# (and say so). --ignore-scripts: none of them needs one, and vnu-jar's would download a
# Java runtime where the system has none (the system's Java is the one we use).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch $@; \
	else \
		echo "npm not found: the browser tests and the HTML checker need it (apt-get install npm)"; \
	fi

# The fediverse peer of the federation tests (Fedify), with a lock of its own.
tests/federation_peer/node_modules/.installed: tests/federation_peer/package.json tests/federation_peer/package-lock.json
	@if command -v npm >/dev/null; then \
		npm --prefix tests/federation_peer ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch $@; \
	else \
		echo "npm not found: the Fedify peer of the federation tests needs it"; \
	fi

install: $(VENV)/.installed node_modules/.installed tests/federation_peer/node_modules/.installed

# `flask serve`: the development server with the job workers (mail) in threads of the
# same process: one command, one Ctrl-C. Mail goes to instance/outbox/ as .eml files
# unless KMBLOG_MAIL_SERVER is set.
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask demo
	KMBLOG_BASE_URL=$${KMBLOG_BASE_URL:-http://127.0.0.1:$(PORT)} $(BIN)/flask serve --host 127.0.0.1 --port $(PORT)

test: install
	$(BIN)/python -m pytest

# Style, the layers (import contracts in pyproject.toml, and TID251: only the web layer
# touches request, session, g and current_user) and types. CI runs it on every change.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache .ruff_cache
