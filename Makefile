# The two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
PORT ?= 8000
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: run test lint format browser nginx clean flows lock

# Exactly the versions in requirements.lock, each file checked against its hash; then
# the helpline itself, which adds nothing (--no-deps): what runs is what was tested.
$(BIN)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	@# A dependency added to pyproject.toml but not to the lock fails here, by name.
	$(BIN)/pip check || { echo 'requirements.lock lacks a dependency of pyproject.toml: run make lock'; exit 1; }
	touch $@

## Upgrade the dependencies: the newest versions pyproject.toml allows (its lower bounds),
## with the dev extras, pinned with their hashes in requirements.lock. Then `make test`.
lock: $(BIN)/.installed
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --universal \
	  --python-version 3.11 --upgrade --quiet -o requirements.lock

## Create .venv, the database (instance/), and serve on 127.0.0.1:$(PORT) (8000 unless
## `make run PORT=N`) with gunicorn, with the delivery worker (`ivr deliver`) beside it,
## stopped with it. In development it makes the demo accounts on the first run and prints
## their passwords once (`ivr demo`); the local test force listens on PORT+99.
run: $(BIN)/.installed
	$(BIN)/ivr init-instance --demo-force-port $$(( $(PORT) + 99 ))
	$(BIN)/ivr db upgrade
	$(BIN)/ivr demo --if-development
	$(BIN)/ivr deliver & deliver=$$!; \
	  trap 'kill $$deliver 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/ivr serve --bind 127.0.0.1:$(PORT)

## Lint, the house's import rules, types (mypy), check every call flow, then the whole suite
## (PostgreSQL too when TEST_POSTGRES_URL is set).
test: $(BIN)/.installed browser nginx
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/ivr flows check
	$(BIN)/pytest

## Debian's chromium, for the real-browser tests (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; \
	  else echo "chromium is not installed: the browser tests will be skipped"; fi; }

## Debian's nginx, for tests/production/ (the shipped site in front of `ivr serve`).
nginx:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx) >/dev/null; \
	  else echo "nginx is not installed: the production tests will be skipped"; fi; }

## Check every call flow in call_flows/ (also part of `make test`).
flows: $(BIN)/.installed
	$(BIN)/ivr flows check

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
