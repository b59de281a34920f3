# Two commands: `make run` (the full homework) and `make test`. Both create or update the
# pinned virtual environment first.
VENV ?= .venv
PY := $(VENV)/bin/python
BOOTSTRAP_PY ?= python3
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
CORES ?= all
SMK_ARGS ?=
PYTEST_ARGS ?=
MNIST_FROM ?=

.PHONY: venv run test lint bench mnist clean-results

$(STAMP): pyproject.toml
	test -x $(PY) || $(BOOTSTRAP_PY) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

# Copy the four MNIST files from an existing folder (MNIST_FROM=...) into resources/.
mnist:
	@test -n "$(MNIST_FROM)" || { echo "usage: make mnist MNIST_FROM=<folder holding MNIST/raw/*.gz>"; exit 2; }
	mkdir -p resources/MNIST/raw
	cp -v $(MNIST_FROM)/MNIST/raw/*-ubyte.gz resources/MNIST/raw/

run: venv
	$(VENV)/bin/snakemake --cores $(CORES) $(SMK_ARGS)

test: venv
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check src tests benchmarks workflow/scripts
	$(VENV)/bin/snakefmt --check Snakefile workflow
	$(VENV)/bin/snakemake --lint --cores 1

bench: venv
	$(PY) benchmarks/engine.py

clean-results:
	rm -rf results logs benchmarks/train benchmarks/analysis .snakemake
