"""Benchmarks: the real page in headless Chromium against serve.py, plus the pure core's hot paths in CPython.

    python -m tests.bench [--quick] [--runs N] [--json PATH]

Prints one table (median and p95 over repeated runs; cold and warm HTTP cache where that applies) and writes
the same figures as JSON (default build/bench.json). Figures are reported against the page's targets; nothing
here ever fails on a timing, but a phase the page blocks (data-busy stuck, say) is reported as n/a with the
reason, and the exit status is then 1.

The page itself is not changed. Loads are observed by an init script (Playwright's add_init_script, installed
through the DevTools protocol, so the page's CSP does not apply) that only reads: DOM, canvases, performance
entries. Interactions are real DOM events dispatched with page.evaluate(), timed with performance.now() in the
page. Pyodide internals (wasm heap, PyProxy tracing) are reached through PyScript's registry on globalThis.

The package, one job a module: settings (modes, targets), targets (the pages under test), loads, interactions,
memory, views (opened on demand, and the core inside Pyodide), core (the core in CPython), page_js (the scripts it
runs in the page), results (figures and tables), compare (--baseline and the floor page) and __main__ (the run).
"""

import sys

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "pysrc"))  # tests.conftest does this too; explicit for `python -m tests.bench`
