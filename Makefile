# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint test-unit faults soak bench clean

install: $(STAMP)

# Reinstall only when the dependency list changes; the project itself is editable.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[worker,gateway,test]'
	touch $(STAMP)

run: install
	$(BIN)/python -m ops.run_local

# Lint and type-check the product first (seconds), then the whole suite.
test: install lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# The unit layer alone: no service stack, no browser, a few seconds.
test-unit: install
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

# The fault suite alone (tests/faults: lost workers, Redis restart and Sentinel failover, gateway
# restarts, slow clients, a short soak), with its figures; `make test` runs it too.
faults: install
	$(BIN)/python -m pytest tests/faults $(PYTEST_ARGS)

# The long soak: 2,200 submissions, 2,090 of them accepted jobs (the rest refused bad uploads),
# through the whole stack (about 11 minutes on 2 shared cores).
SOAK_JOBS ?= 2200
soak: install
	SOAK_JOBS=$(SOAK_JOBS) $(BIN)/python -m pytest tests/faults/test_soak.py $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m pip install --quiet -e '.[worker,gateway,test,bench]'
	$(BIN)/python -m bench.sroie $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
