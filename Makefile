# Two commands set everything up on a fresh machine with only python3 (and its venv module):
#   make serve   build the site and serve it on http://127.0.0.1:8000/open-r1-annotated/ (live reload)
#   make test    run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: serve build test lint snapshot check status bench clean

$(STAMP): pyproject.toml
	@echo "annotator: creating $(VENV) and installing annotator-docs with its test tools (about a minute, once)"
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)
	@echo "annotator: installed"

snapshot: $(STAMP)
	@$(VENV)/bin/annotator snapshot verify >/dev/null 2>&1 || $(VENV)/bin/annotator snapshot pull || \
	  echo "warning: snapshot not pulled; pages show notes without code (see README)"

serve: snapshot
	$(VENV)/bin/mkdocs serve -a 127.0.0.1:8000

# Builds into a folder beside site/ and swaps it in only when the build succeeded.
build: snapshot
	$(VENV)/bin/annotator build --strict

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check annotator_docs tests benchmarks fuzz
	$(VENV)/bin/ruff format --check annotator_docs tests benchmarks fuzz
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/site.py --corpus $(or $(CORPUS),medium)

check: $(STAMP)
	$(VENV)/bin/annotator check --strict

status: $(STAMP)
	$(VENV)/bin/annotator status

clean:
	rm -rf site .annotator-cache
