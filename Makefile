# VAE Explainer. `make serve` runs the app; `make test` runs every test. Both install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: serve build test lint format models bench screenshots soak setup vendor browsers clean

# Serves at once with quick brotli siblings, and finishes them at quality 11 in the background (serving/brotli.py).
serve: vendor
	$(PYTHON) serve.py --port $(PORT)

# The build finishes the brotli siblings at quality 11 first (minutes on 2 cores, once per npm install).
build: vendor
	$(PYTHON) serve.py --build dist

# Its tests read the vendored files the same at any brotli quality: 5 takes seconds, 11 (build, bench) minutes.
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

# The first view (docs/first-view.png, the README's picture) and each view at 1440×900 and 390×844, from the real page.
screenshots: setup
	$(PY) -m tests.screenshots

setup: $(VENV)/.installed vendor browsers

# The test extra, plus the train extra so the suite's TensorFlow comparisons run too.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q '.[test,train]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The Python snapshot is made again whenever the runtime or the pure core changed (serving/snapshot.py checks its
# stamp).
vendor: web/vendor/.vae-explainer-vendor
	$(PYTHON) serve.py --snapshot

# Vendoring (copies, a stored stdlib zip, brotli siblings) runs again only when npm's files, serve.py or the
# serving package change.
web/vendor/.vae-explainer-vendor: node_modules/.installed serve.py $(wildcard serving/*.py)
	$(PYTHON) serve.py --vendor

# Debian's browsers drive the browser tests: Chromium (Playwright), Firefox ESR (WebDriver BiDi through npm
# puppeteer-core) and WebKitGTK (Selenium's WebKitGTK driver, on Xvfb). Playwright never downloads a browser of its own.
BROWSERS := /usr/bin/chromium /usr/bin/firefox-esr /usr/bin/WebKitWebDriver /usr/bin/Xvfb
browsers:
	@for b in $(BROWSERS); do test -x $$b || missing=1; done; [ -z "$$missing" ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium firefox-esr webkit2gtk-driver xvfb; \
	  else echo "Install the browsers: sudo apt-get install -y chromium firefox-esr webkit2gtk-driver xvfb" >&2; exit 1; fi; }

clean:
	rm -rf $(VENV) node_modules web/vendor build dist

# The soak test's long mode: 5,000 random interactions in the real page.
soak: setup
	SOAK_INTERACTIONS=5000 $(PY) -m pytest tests/test_soak.py -s
