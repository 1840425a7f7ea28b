# Two commands do all set-up on a fresh machine: `make run` (the main job) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKDIR ?= /tmp/gan_jax/paper_mnist
ARGS ?=

.PHONY: setup data run smoke notebook test lint format clean

# The test extra holds torch for the parity test (tests/test_torch_reference.py), pinned to 2.13.0: that
# version resolves to the CPU-only wheel here (under 1 GB), an unpinned torch to the CUDA build (~6 GB).
$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

data: $(STAMP)
	$(BIN)/python -m gan_jax.data

run: data
	$(BIN)/python launch.py --game=nonsaturating --workdir=$(WORKDIR) $(ARGS)

smoke: data
	$(BIN)/python launch.py --config=experiments/configs/smoke.py --workdir=/tmp/gan_jax/smoke $(ARGS)

# Re-executes the quick-start notebook in place, storing its outputs (a few minutes on a CPU).
notebook: data
	$(BIN)/jupyter-execute --inplace --timeout=1800 examples/quickstart.ipynb

test: data
	$(BIN)/ruff check gan_jax tests experiments benchmarks examples docs launch.py
	$(BIN)/ruff format --check gan_jax tests experiments benchmarks examples docs launch.py
	$(BIN)/python -m pytest -q -n 2 --durations=15 tests

lint: $(STAMP)
	$(BIN)/ruff check gan_jax tests experiments benchmarks examples docs launch.py
	$(BIN)/ruff format --check gan_jax tests experiments benchmarks examples docs launch.py

format: $(STAMP)
	$(BIN)/ruff check --fix gan_jax tests experiments benchmarks examples docs launch.py
	$(BIN)/ruff format gan_jax tests experiments benchmarks examples docs launch.py

clean:
	rm -rf $(VENV) *.egg-info
