# Two entry points (see README): `make verify` runs the main job, `make test` the test suite.
# Both check the data first, then create and reuse .venv; HARNESS_DATA_DIR defaults to
# ../shared/data.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HARNESS_DATA_DIR ?= $(abspath ../shared/data)
export HARNESS_STORE ?= $(abspath .harness-store)
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: venv data verify test bench bench-quick bench-history bench-publish clean

venv: $(STAMP)

# The data comes first, before the virtualenv (minutes on a fresh clone): download what
# is missing when the data hosts answer, else stop within seconds with one line naming
# HARNESS_DATA_DIR and `harness data download`. The check needs only the standard library;
# its progress goes to the terminal (stdout and stderr are swapped) and its error line
# becomes make's own one-line error.
DATA_CHECK = $(PYTHON) -m harness.data.check --download-if-missing --data-dir "$(HARNESS_DATA_DIR)"
data:
	$(eval DATA_PROBLEM := $(shell $(DATA_CHECK) 3>&1 1>&2 2>&3))
	$(if $(DATA_PROBLEM),$(error $(DATA_PROBLEM)))
	@true

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,ray]'
	touch $(STAMP)

# Main job: the tiny tier's claim verification (real fine-tuning of minilm-l6 on the five
# tasks) and its report in reports/tiny/ (verdict table, paper's numbers, Figs. 2-5).
verify: data $(STAMP)
	$(BIN)/harness verify --tier tiny

# The unit tests (the Ray executor's included), the quick kernel benchmarks run once as
# plain tests (--benchmark-disable: correctness, not timing) and the tiny claims; the paper
# and full tiers need hours on a GPU (benchmarks/device/paper_tier.sh).
test: data $(STAMP)
	$(BIN)/python -m pytest tests benchmarks/quick claims -m "not full and not paper" -p no:cacheprovider --benchmark-disable

# Per-change ratios: the kernel micro-benchmarks under pytest-benchmark, saved in
# .benchmarks/ (git-ignored) and compared with the previous saved run (none on the first).
BENCH_SAVED = $(wildcard .benchmarks/*/*.json)
bench-quick: $(STAMP)
	$(BIN)/python -m pytest benchmarks/quick -p no:cacheprovider --benchmark-only --benchmark-autosave --benchmark-sort=name --benchmark-columns=min,median,mean,rounds $(if $(BENCH_SAVED),--benchmark-compare,) $(BENCH_ARGS)
	$(if $(BENCH_SAVED),,@echo "bench-quick: first saved run; the next make bench-quick compares against it")

# History: asv builds each commit in its own virtualenv and stores one JSON per commit and
# machine in benchmarks/results/ (tracked). N commits back from HEAD, skipping those with
# results; only the fast geometry kernels, each timed once (--quick).
N ?= 10
ASV_MACHINE ?= ref-2core
ASV_BENCH = -b "time_distances\(.*'exact'\)" -b "time_verdicts\(.*'fast'\)" -b "time_cluster\('(separable|overlapping)', 'reference'\)"
bench-history: $(STAMP)
	$(BIN)/asv machine --yes --machine $(ASV_MACHINE)
	$(BIN)/asv run "HEAD~$(N)..HEAD" --machine $(ASV_MACHINE) --quick --skip-existing-commits --show-stderr $(ASV_BENCH)

# HTML of the stored history in .asv/html (git-ignored); `asv preview` serves it.
bench-publish: $(STAMP)
	$(BIN)/asv publish

# Every asv benchmark once against the project's own virtualenv; nothing is saved.
bench: $(STAMP)
	$(BIN)/asv run --python=same --quick --show-stderr --dry-run

clean:
	rm -rf $(VENV) .harness-store
