# studio — `make demo` runs a property video on the embedded defaults; `make test` runs the tests.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install browser test lint demo bench serve clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy studio_assets resources sensors

# Debian's Chromium for the Dagit browser test (Playwright drives it; no browser download).
browser:
	test -x /usr/bin/chromium || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# unit/ and pipeline/ on two workers (one test file each at a time); live/ — real daemons,
# webservers, browsers, Celery workers, timed fair share — alone afterwards.
test: lint browser
	$(BIN)/pytest -p no:cacheprovider -n 2 --dist loadfile tests/unit tests/pipeline
	$(BIN)/pytest -p no:cacheprovider tests/live

demo: $(STAMP)
	$(BIN)/studio demo

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

serve: $(STAMP)
	$(BIN)/studio serve

clean:
	rm -rf .studio .pytest_cache .mypy_cache .ruff_cache
