# Two entry points (see README): `make verify` runs the main job, `make test` the test suite.
# Both create and reuse .venv; HARNESS_DATA_DIR defaults to ../shared/data when present.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HARNESS_DATA_DIR ?= $(abspath ../shared/data)
export HARNESS_STORE ?= $(abspath .harness-store)
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: venv verify test bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# Main job. For now: all-layer representations of the tiny tier's five tasks with the
# offline default model, and a per-task summary (the claim run is `harness verify`).
verify: $(STAMP)
	$(BIN)/harness extract --tier tiny --model minilm-l6

test: $(STAMP)
	$(BIN)/python -m pytest tests -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/asv run --python=same --quick --show-stderr

clean:
	rm -rf $(VENV) .harness-store
