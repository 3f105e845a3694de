# dlflow: two commands do all the set-up on a fresh machine.
#   make run   installs into .venv if needed, then trains, evaluates and exports the digits convnet
#   make test  installs into .venv if needed, then runs the test suite (under 10 minutes on 2 cores)
#   make test-all  also runs the slow tests (full trainings to target accuracy, 8-trial tuning, ...)
#   make fuzz  runs the fuzzers in full (500 configs through validate, 150 bad data files through collect,
#              60 configs through validate --build and train, schemathesis against serve's API)
#   make lint  ruff check and ruff format --check (the settings are in pyproject.toml)
#   make docs  regenerates docs/config.md from the config schema (a test fails when it is stale)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= configs/digits_convnet.yaml

.PHONY: install run test test-all fuzz soak bench lint docs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,mlflow]"
	touch $(STAMP)

run: install
	$(BIN)/dlflow train $(CONFIG)
	$(BIN)/dlflow evaluate $$($(BIN)/python -c "import yaml,sys; print(yaml.safe_load(open('$(CONFIG)'))['name'])")
	$(BIN)/dlflow export $$($(BIN)/python -c "import yaml,sys; print(yaml.safe_load(open('$(CONFIG)'))['name'])")

test: install
	$(BIN)/python -m pytest -q -m "not slow and not fuzz" -n auto --maxprocesses 4 --dist loadfile

test-all: install
	$(BIN)/python -m pytest -q -m "not fuzz" -n auto --maxprocesses 4 --dist loadfile

fuzz: install
	$(BIN)/python -m pytest -q -s -m fuzz -p no:xdist tests/fuzz

soak: install
	$(BIN)/python benchmarks/soak_resume.py

bench: install
	$(BIN)/python benchmarks/run.py

lint: install
	$(BIN)/ruff check dlflow tests benchmarks
	$(BIN)/ruff format --check dlflow tests benchmarks

docs: install
	$(BIN)/python -m dlflow.config.reference docs/config.md

clean:
	rm -rf runs .pytest_cache bench-results
