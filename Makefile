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
DATA_FROM ?= $(MNIST_FROM)
# the folders of the data sets `make data` copies (torchvision's layout, as the registry names them)
DATA_FOLDERS ?= MNIST FashionMNIST

.PHONY: venv run test lint bench data mnist clean-results

$(STAMP): pyproject.toml
	test -x $(PY) || $(BOOTSTRAP_PY) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

# Copy the data sets' files from an existing folder in torchvision's layout
# (DATA_FROM=<folder> holding MNIST/raw/*.gz, FashionMNIST/raw/*.gz) into resources/; the
# prepare jobs verify every file by checksum. `make mnist MNIST_FROM=...` is the same.
data:
	@test -n "$(DATA_FROM)" || { echo "usage: make data DATA_FROM=<folder holding MNIST/raw/ and FashionMNIST/raw/>"; exit 2; }
	@found=0; for d in $(DATA_FOLDERS); do \
	  if [ -d "$(DATA_FROM)/$$d/raw" ]; then \
	    mkdir -p resources/$$d/raw && cp $(DATA_FROM)/$$d/raw/*-ubyte.gz resources/$$d/raw/ && chmod u+w resources/$$d/raw/* && \
	    echo "copied $(DATA_FROM)/$$d/raw -> resources/$$d/raw" && found=1; \
	  else echo "no $(DATA_FROM)/$$d/raw: skipped"; fi; \
	done; test $$found = 1 || { echo "none of $(DATA_FOLDERS) under $(DATA_FROM)"; exit 2; }

mnist: data

run: venv
	$(VENV)/bin/snakemake --cores $(CORES) $(SMK_ARGS)

# tests and benchmarks with Intel MKL's own kernels on an AMD CPU, as the workflow's jobs
# (hw1.mkl: prints LD_PRELOAD with its shim added where wanted)
MKL_PRELOAD = LD_PRELOAD="$$($(PY) -m hw1.mkl)"

test: venv
	$(MKL_PRELOAD) $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check src tests benchmarks workflow/scripts
	$(VENV)/bin/snakefmt --check Snakefile workflow
	$(VENV)/bin/snakemake --lint --cores 1

bench: venv
	$(MKL_PRELOAD) $(PY) benchmarks/engine.py

clean-results:
	rm -rf results logs benchmarks/train benchmarks/analysis .snakemake
