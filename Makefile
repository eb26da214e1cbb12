# VAE Explainer. `make serve` runs the app; `make test` runs every test. Both install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: serve build test lint format models bench soak screenshots setup vendor chromium clean

serve: vendor
	$(PYTHON) serve.py --port $(PORT)

build: vendor
	$(PYTHON) serve.py --build dist

# Its tests read the vendored files the same at any brotli quality: 5 takes seconds, 11 (serve, build, bench) minutes.
test: export VAE_BROTLI_QUALITY = 5
test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

lint format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

models: $(VENV)/.installed node_modules/.installed
	mkdir -p build
	$(PY) -m training 2>&1 | tee build/train.log

bench: setup
	$(PY) -m tests.bench

# PNGs of the first view and of each view, at 1440×900 and 390×844, from the real page (build/screenshots/).
screenshots: setup
	$(PY) -m tests.screenshots

setup: $(VENV)/.installed vendor chromium

# The test extra, plus the train extra so the suite's TensorFlow comparisons run too.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q '.[test,train]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The Python snapshot is made again whenever the runtime or the pure core changed (serve.py checks its stamp).
vendor: web/vendor/.vae-explainer-vendor
	$(PYTHON) serve.py --snapshot

# Vendoring (copies, a stored stdlib zip, brotli siblings) runs again only when npm's files or serve.py change.
web/vendor/.vae-explainer-vendor: node_modules/.installed serve.py
	$(PYTHON) serve.py --vendor

# Debian's Chromium drives the browser tests; Playwright must never download a browser of its own.
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "Install Chromium: sudo apt-get install -y chromium" >&2; exit 1; fi; }

clean:
	rm -rf $(VENV) node_modules web/vendor build dist

# The soak test's long mode: 5,000 random interactions in the real page.
soak: setup
	SOAK_INTERACTIONS=5000 $(PY) -m pytest tests/test_soak.py -s
