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
	$(BIN)/pip install -q -e '.[test,ray]'
	touch $(STAMP)

# Main job: the tiny tier's claim verification (real fine-tuning of minilm-l6 on the five
# tasks) and its report in reports/tiny/ (verdict table, paper's numbers, Figs. 2-5).
verify: $(STAMP)
	$(BIN)/harness verify --tier tiny

# The unit tests (the Ray executor's included) and the tiny claims; the paper and full
# tiers need hours on a GPU (benchmarks/device/paper_tier.sh).
test: $(STAMP)
	$(BIN)/python -m pytest tests claims -m "not full and not paper" -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/asv run --python=same --quick --show-stderr

clean:
	rm -rf $(VENV) .harness-store
