# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCKS := requirements.lock requirements-web.lock

.PHONY: install run test lint lock lock-check test-unit fuzz faults soak bench clean

install: $(STAMP)

# Reinstall only when the dependencies or the locks change; the project itself is editable.
# The locks are constraints: .venv runs the exact versions the images ship (tools/lock_requirements.py).
$(STAMP): pyproject.toml $(LOCKS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(addprefix -c ,$(LOCKS)) -e '.[worker,gateway,client,local,test]'
	touch $(STAMP)

run: install
	$(BIN)/python -m ops.run_local

# Lint and type-check the product and check the locks first (seconds), then the whole suite.
test: install lint lock-check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# Recompile the locks after changing dependencies in pyproject.toml (keeps pins that still fit).
lock: install
	$(BIN)/python tools/lock_requirements.py $(LOCK_ARGS)
	$(MAKE) install

# Fails when a lock no longer matches pyproject.toml.
lock-check: install
	$(BIN)/python tools/lock_requirements.py --check

# The unit layer alone: no service stack, no browser, a few seconds.
test-unit: install
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

# Longer fuzzing than `make test` runs (docs/SECURITY.md has the figures): schemathesis against
# a stack of its own, then the decoders with many more mutated files per format.
FUZZ_EXAMPLES ?= 1000
FUZZ_CASES ?= 3000
fuzz: install
	$(BIN)/python -m tests.fuzz.api_fuzz --examples $(FUZZ_EXAMPLES)
	OCR_FUZZ_CASES=$(FUZZ_CASES) $(BIN)/python -m pytest tests/fuzz/test_decoders.py -p no:cacheprovider -q -s

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
	$(BIN)/python -m pip install --quiet $(addprefix -c ,$(LOCKS)) -e '.[worker,gateway,client,local,test,bench]'
	$(BIN)/python -m bench.sroie $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
