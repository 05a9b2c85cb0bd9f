# ILMS developer commands. `make demo` and `make test` are all a fresh machine needs.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app ilms
HOST ?= 127.0.0.1
PORT ?= 5000
CATALOGS := $(wildcard ilms/translations/*/LC_MESSAGES/messages.po)

.PHONY: install demo serve test test-postgres e2e lint format translations extract-messages bench clean

install: $(VENV)/.installed $(CATALOGS:.po=.mo)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,browser,load,dev]'
	touch $@

# Compiled message catalogues are build products, made from the .po files.
ilms/translations/%/LC_MESSAGES/messages.mo: ilms/translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile -d ilms/translations -l $* >/dev/null

demo: install
	$(FLASK) db upgrade
	$(FLASK) ilms import-modules
	$(FLASK) ilms seed-demo
	@echo "ILMS is running on http://$(HOST):$(PORT)/  (Ctrl+C stops it)"
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest -m "not browser" -q -n 2 $(PYTEST_ARGS)

test-postgres: install
	ILMS_TEST_DATABASE_URL=$${ILMS_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(BIN)/pytest -m "not browser" -q -n 2 $(PYTEST_ARGS)

e2e: install
	$(BIN)/pytest -m browser -q $(PYTEST_ARGS) tests/browser

lint: install
	$(BIN)/ruff check ilms tests $(wildcard bench)
	$(BIN)/ruff format --check ilms tests $(wildcard bench)

format: install
	$(BIN)/ruff check --fix ilms tests $(wildcard bench)
	$(BIN)/ruff format ilms tests $(wildcard bench)

extract-messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o ilms/translations/messages.pot --no-location --sort-output --omit-header .
	$(BIN)/pybabel update -i ilms/translations/messages.pot -d ilms/translations --no-fuzzy-matching --ignore-obsolete

translations: install
	$(BIN)/pybabel compile -d ilms/translations

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build dist
