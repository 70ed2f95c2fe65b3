# Two commands a newcomer needs: `make dev` (the local stack) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov pins its own boto3/botocore and more: it lives in its own virtualenv, run by tests/test_infra.py.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-3.3.30
STACK_STAMP := $(VENV)/.installed-stack
APT_PACKAGES := chromium chromium-driver
# The generated TypeScript client and the OpenAPI linters (tests/test_generated_client.py, tests/test_openapi_lint.py).
NODE_DIR := tests/portal_client
NODE_STAMP := $(NODE_DIR)/node_modules/.package-lock.json

.PHONY: dev test browser lint typecheck docs bench package clean checkov-venv node-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# `make dev` installs only the runtime and the local stack's packages; `make test` everything (the stack's included).
$(STACK_STAMP): requirements.txt requirements-stack.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-stack.txt
	touch $@

$(STAMP): requirements.txt requirements-stack.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(STACK_STAMP)

$(CHECKOV_STAMP):
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==3.3.30
	touch $(CHECKOV_STAMP)

checkov-venv: $(CHECKOV_STAMP)

dev: $(STACK_STAMP)
	PORT=$${PORT:-8000} $(BIN)/python -m devstack

test: $(STAMP) $(CHECKOV_STAMP) $(NODE_STAMP) browser lint typecheck
	$(BIN)/python -m pytest

# Exactly the lock file's packages (npm ci), again whenever the lock file changes.
$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "The TypeScript client check needs Node.js 20+ and npm." >&2; exit 1; }
	cd $(NODE_DIR) && npm ci --no-audit --no-fund
	touch $@

node-packages: $(NODE_STAMP)

# The browser test drives Debian's Chromium through its chromedriver (no downloads at run time).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
		:; \
	elif [ "$$(id -u)" = 0 ]; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq $(APT_PACKAGES); \
	else \
		echo "The browser test needs Chromium and its driver, and installing them needs root. Run:" >&2; \
		echo "    sudo apt-get update && sudo apt-get install -y $(APT_PACKAGES)" >&2; \
		echo "then make test again." >&2; \
		exit 1; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Generated documents (committed; a test fails when they drift from the code).
docs: $(STACK_STAMP)
	$(BIN)/python -m tools.docs docs

bench: $(STAMP)
	$(BIN)/python -m bench

package: $(STAMP)
	find chalicelib -name __pycache__ -prune -exec rm -rf {} +
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-eu-west-1} $(BIN)/chalice package --stage $${STAGE:-prod} \
		--merge-template infra/resources.json build/$${STAGE:-prod}

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) build .pytest_cache .mypy_cache .ruff_cache $(NODE_DIR)/node_modules $(NODE_DIR)/build
