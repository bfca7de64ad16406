# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint test-unit fuzz bench clean

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

# Longer fuzzing than `make test` runs (docs/SECURITY.md has the figures): schemathesis against
# a stack of its own, then the decoders with many more mutated files per format.
FUZZ_EXAMPLES ?= 1000
FUZZ_CASES ?= 3000
fuzz: install
	$(BIN)/python -m tests.fuzz.api_fuzz --examples $(FUZZ_EXAMPLES)
	OCR_FUZZ_CASES=$(FUZZ_CASES) $(BIN)/python -m pytest tests/fuzz/test_decoders.py -p no:cacheprovider -q -s

bench: install
	$(BIN)/python -m pip install --quiet -e '.[worker,gateway,test,bench]'
	$(BIN)/python -m bench.sroie $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
