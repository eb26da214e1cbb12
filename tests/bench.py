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
"""

import argparse
import contextlib
import datetime
import hashlib
import http.server
import importlib.util
import itertools
import json
import math
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import timeit
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, REPO, stop_server

sys.path.insert(0, str(REPO / "pysrc"))  # tests.conftest does this too; explicit for `python -m tests.bench`

from page import artifacts, state
from vae import decoder, digit_input, latent_plot

BENCH_ARGS = ["--enable-precise-memory-info", "--js-flags=--expose-gc"]
VIEWPORT = {"width": 1300, "height": 950}
READY_TIMEOUT_MS = 120_000
SETTLE_TIMEOUT_MS = 10_000
MB = 1e6

# The strokes phase: three strokes of STROKE_POINTS positions (a pointerdown, then pointermoves; fewer with
# --check), one event every STROKE_PERIOD_MS (a mouse or pen reports at 125 Hz or more).
STROKE_POINTS = 211
STROKE_PERIOD_MS = 8.0

# Settings per mode. A "cold run" is one load in a fresh browser context, followed by `warm` reloads.
MODES = {
    "check": {  # every phase with a handful of inputs: tests/test_bench.py checks that everything is measured
        "runs": 1,
        "warm": 1,
        "hover": 6,
        "draw": 6,
        "soak": 40,
        "trace": 10,
        "core_repeat": 2,
        "kl_switches": 2,
        "vq_draw": 4,
        "vq_paint": 3,
        "vq_strokes": 1,
        "stroke_points": 64,  # the strokes phase's: a third of a hand's stroke, in a third of the time
        "autorange": False,  # one call per core sample
    },
    "quick": {
        "runs": 2,
        "warm": 1,
        "hover": 30,
        "draw": 30,
        "soak": 300,
        "trace": 40,
        "core_repeat": 5,
        "kl_switches": 5,
        "vq_draw": 20,
        "vq_paint": 14,
        "vq_strokes": 1,
        "stroke_points": STROKE_POINTS,
        "autorange": True,
    },
    "full": {
        "runs": 5,
        "warm": 2,
        "hover": 200,
        "draw": 200,
        "soak": 5000,
        "trace": 400,
        "core_repeat": 20,
        "kl_switches": 40,
        "vq_draw": 200,
        "vq_paint": 140,
        "vq_strokes": 3,
        "stroke_points": STROKE_POINTS,
        "autorange": True,
    },
}

# Metric key: (target text, comparison, value in the metric's unit). Metrics not listed are informational.
TARGETS = {
    "useful_paint": ("≤ 1.0 s", "le", 1.0),
    "ready": ("≤ 2.5 s", "le", 2.5),
    "hover": ("p95 ≤ 16 ms", "p95le", 16.0),
    "draw": ("p95 ≤ 16 ms", "p95le", 16.0),
    "bytes_cold": ("≤ 8 MB", "le", 8.0),
    "js_heap_growth": ("< 10 MB", "lt", 10.0),
    "wasm_growth": ("< 10 MB", "lt", 10.0),
    "pyproxies_left": ("0", "le", 0.0),
    "hiwire_growth": ("0", "le", 0.0),
    "kl_switch_epoch": ("p95 ≤ 100 ms", "p95le", 100.0),
    "kl_switch_beta": ("p95 ≤ 100 ms", "p95le", 100.0),
    "vq_files_cold": ("0", "le", 0.0),
}


def strokes_section(points):
    return f"strokes: 3 × {points} pointer positions, one every {STROKE_PERIOD_MS:g} ms"


# Every file the VQ-VAE view loads when it is first opened (app.ON_DEMAND["vq"]'s modules and models/vq/).
VQ_FILES = re.compile(r"/models/vq/|/pysrc/vq/[\w/]+\.py$")
VQ_SECTION = "VQ-VAE view: open, then input → VQ reconstruction repainted"

# With --baseline: (metric key, cache, statistic, label, unit) compared as current / baseline.
COMPARED = (
    ("ready", "cold", "median", "load → interactive (data-ready)", "s"),
    ("ready", "cold", "p95", "load → interactive (data-ready)", "s"),
    ("ready", "warm", "median", "load → interactive (data-ready)", "s"),
    ("useful_paint", "cold", "median", "first useful paint", "s"),
    ("useful_paint", "warm", "median", "first useful paint", "s"),
    ("bytes_cold", "cold", "median", "bytes on the wire", "MB"),
    ("hover", "", "median", "latent hover → repainted", "ms"),
    ("hover", "", "p95", "latent hover → repainted", "ms"),
    ("draw", "", "median", "drawing → repainted", "ms"),
    ("draw", "", "p95", "drawing → repainted", "ms"),
    ("strokes_work", "", "median", "strokes: per-frame work", "ms"),
    ("strokes_work", "", "p95", "strokes: per-frame work", "ms"),
)

# Against the floor page (issues 13 and 15): (metric key, the floor's key for the same gesture, label, allowed p95
# above the floor's in ms or None, bar text). The floor repaints its one canvas in the handler of any pointer event,
# so its drawing rows stand for painting codes too.
FLOOR_COMPARED = (
    ("hover", "hover", "latent hover → repainted", 8.0, "p95 ≤ floor p95 + 8 ms"),
    ("draw", "draw", "drawing → repainted", 8.0, "p95 ≤ floor p95 + 8 ms"),
    ("strokes_work", "strokes_work", "strokes: per-frame work (handlers + work)", None, "p95 ≤ 8 ms"),
    ("vq_draw", "draw", "VQ-VAE open: drawing → VQ repainted", 8.0, "p95 ≤ floor p95 + 8 ms"),
    ("vq_paint", "draw", "VQ-VAE: painting codes → repainted", 8.0, "p95 ≤ floor p95 + 8 ms"),
    ("vq_strokes_work", "strokes_work", "VQ-VAE open: strokes, per-frame work", None, "p95 ≤ 8 ms"),
)
STROKES_BAR_MS = 8.0

# A realistic hand-drawn 4 in drawing-canvas units (0-280): three strokes of raw pointer samples.
FOUR = [
    [(95 - i * 1.6, 40 + i * 4.2) for i in range(33)],  # the slanted left stroke
    [(42 + i * 5.0, 178 - (i % 3) * 0.6) for i in range(37)],  # the crossbar, slightly wobbly
    [(178 + (i % 2) * 0.8, 30 + i * 5.2) for i in range(45)],  # the long right stroke
]


# ---------------------------------------------------------------------------------------------------------
# Statistics and the result table


def percentile(values, q):
    """Nearest-rank percentile: an observed value, never an interpolation (p95 of 2 runs is the worse one)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


class Results:
    """Every figure the run produced, in print order, plus notes and raw details for the JSON."""

    def __init__(self):
        self.metrics = []
        self.notes = []
        self.details = {}

    def add(self, section, key, label, unit, samples, cache="", kind="time", scale=1.0, why=None):
        """One row. `samples` are in `unit` after `scale`; an empty list with `why` is an explicit n/a."""
        samples = [v * scale for v in samples]
        row = {
            "section": section,
            "key": key,
            "label": label,
            "cache": cache,
            "unit": unit,
            "kind": kind,  # time | size | count | delta | span (a time that may be 0)
            "n": len(samples),
            "median": statistics.median(samples) if samples else None,
            "p95": percentile(samples, 95) if samples else None,
            "max": max(samples) if samples else None,
            "samples": samples,
            "target": None,
            "meets_target": None,
            "unavailable": why if not samples else None,
        }
        target = TARGETS.get(key)  # the page's targets judge this checkout only, not a baseline or the floor
        if target and samples:
            text, op, value = target
            figure = row["p95"] if op.startswith("p95") else row["median"]
            row["target"] = text
            row["meets_target"] = figure < value if op == "lt" else figure <= value
        elif target:
            row["target"] = target[0]
        self.metrics.append(row)
        return row

    def note(self, text):
        self.notes.append(text)


def fmt(value, unit):
    if value is None:
        return "n/a"
    if unit == "count":
        return f"{value:.0f}"
    if unit == "ratio":
        return f"{value:.2f}"
    if unit in ("µs", "ms") and abs(value) < 10:
        return f"{value:.2f} {unit}"
    if unit in ("µs", "ms"):
        return f"{value:.1f} {unit}"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:+.2f} MB" if value < 0 else f"{value:.2f} MB"
    return f"{value:g} {unit}"


def table(results, header):
    """The one plain-text table: sections as separator rows, columns aligned."""
    columns = ("metric", "cache", "n", "median", "p95", "max", "target", "")
    rows, section = [], None
    for m in results.metrics:
        if m["section"] != section:
            section = m["section"]
            rows.append(("section", f"[{section}]"))
        verdict = "" if m["meets_target"] is None else ("ok" if m["meets_target"] else "OVER")
        if m["unavailable"]:
            cells = (m["label"], m["cache"], "0", "n/a", "n/a", "n/a", m["target"] or "", "")
            rows.append(("row", cells))
            rows.append(("why", f"    n/a: {m['unavailable']}"))
            continue
        cells = (
            m["label"],
            m["cache"],
            str(m["n"]),
            fmt(m["median"], m["unit"]),
            fmt(m["p95"], m["unit"]),
            fmt(m["max"], m["unit"]),
            m["target"] or "",
            verdict,
        )
        rows.append(("row", cells))
    widths = [len(c) for c in columns]
    for kind, cells in rows:
        if kind == "row":
            widths = [max(w, len(c)) for w, c in zip(widths, cells, strict=True)]

    def line(cells):
        parts = []
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            parts.append(cell.ljust(width) if i in (0, 1, 6, 7) else cell.rjust(width))
        return "  ".join(parts).rstrip()

    out = [header, "", line(columns), line(["-" * w for w in widths])]
    for kind, cells in rows:
        out.append(line(cells) if kind == "row" else cells)
    if results.notes:
        out.append("")
        out.extend(f"note: {n}" for n in results.notes)
    return "\n".join(out)


def machine():
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    try:
        chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        chromium = "Chromium (version unknown)"
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "chromium": chromium,
        "python": platform.python_version(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "loadavg": list(load) if load else None,
    }


# ---------------------------------------------------------------------------------------------------------
# The pages under test: this checkout, another revision in a git worktree (--baseline), and the floor page


FLOOR = Path(__file__).resolve().parent / "floor"  # the floor page: repaints in its handler, does no work


class Target:
    """One page under test: its name in the output, its key prefix in the JSON, where it is served from."""

    def __init__(self, name, prefix, label, url=None, busy_signal=True):
        self.name = name  # "current", "baseline", "floor"
        self.prefix = prefix  # "" for the current checkout (the keys CI checks), else "baseline:" / "floor:"
        self.label = label  # e.g. "current 6bff683+ (boot.mjs names …)"
        self.short = label.split(" (")[0]  # e.g. "current 6bff683+"
        self.url = url
        self.busy_signal = busy_signal  # whether the page sets data-busy="true" while it works
        self.page = None
        self.context = None

    def section(self, section):
        return section if self.name == "current" else f"{section} · {self.short}"


def git(*args, cwd=REPO):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def describe(cwd=REPO, paths=("web", "pysrc", "serve.py", "models", "package-lock.json")):
    """(short sha, subject, dirty) of a checkout; dirty means uncommitted changes to what the page is made of."""
    sha = git("rev-parse", "--short", "HEAD", cwd=cwd)
    subject = git("log", "-1", "--format=%s", cwd=cwd)
    dirty = bool(git("status", "--porcelain", "--", *paths, cwd=cwd))
    return sha, subject, dirty


def checkout_label(name, sha, subject, dirty, width=60):
    """'current 6bff683+ (boot.mjs names a missing…)': + marks uncommitted changes; the subject is shortened."""
    short = subject if len(subject) <= width else subject[: width - 1].rstrip() + "…"
    return f"{name} {sha}{'+' if dirty else ''} ({short})"


def baseline_worktree(rev):
    """A git worktree of `rev` under build/baseline-<sha>, made once and reused, with this checkout's
    node_modules and its own vendored files (its own `serve.py --vendor`). Returns (path, full sha)."""
    try:
        sha = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"error: --baseline {rev}: not a commit here ({error.stderr.strip()})") from None
    path = REPO / "build" / f"baseline-{sha[:7]}"
    if path.exists():
        try:
            at = git("rev-parse", "HEAD", cwd=path)
        except subprocess.CalledProcessError:
            at = None
        if at != sha:
            raise SystemExit(f"error: {path} exists but is not a worktree at {sha[:7]}: remove it and rerun")
        if git("status", "--porcelain", "--untracked-files=no", cwd=path):
            raise SystemExit(f"error: {path} has local changes: remove it (git worktree remove --force) and rerun")
    else:
        print(f"  baseline: git worktree add {path.relative_to(REPO)} {sha[:7]}", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        git("worktree", "add", "--detach", str(path), sha)
    modules = path / "node_modules"
    if not modules.exists():
        modules.symlink_to(REPO / "node_modules", target_is_directory=True)
    if not (path / "web" / "vendor").exists():
        print("  baseline: serve.py --vendor (its own vendoring)…", flush=True)
        subprocess.run([sys.executable, "serve.py", "--vendor"], cwd=path, check=True, stdout=subprocess.DEVNULL)
    return path, sha


def start_checkout_server(root, timeout=600):
    """`serve.py --port 0` of the checkout at `root` (its own serve.py, which serves its own folder); returns
    (process, base URL). Lines before the address (a serve.py that vendors first says so) are skipped."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(root) / "serve.py"), "--port", "0"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        bufsize=1,
    )
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line.strip())
        if "http://" in line:
            url = line[line.index("http://") :].split()[0]
            return proc, url if url.endswith("/") else url + "/"
    proc.kill()
    proc.wait()
    proc.stdout.close()
    raise RuntimeError(f"{root}/serve.py did not start: {seen[-3:]!r}")


def serve_module(root):
    """The serve module of the checkout at `root` (for its site map), imported under a name of its own."""
    root = Path(root).resolve()
    if root == REPO:
        sys.path.insert(0, str(REPO))
        import serve

        return serve
    name = f"serve_{hashlib.sha1(str(root).encode()).hexdigest()[:8]}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, root / "serve.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    return sys.modules[name]


@contextlib.contextmanager
def floor_server():
    """The floor page from a static server in a thread, on loopback only; yields its URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(FLOOR), **kwargs)

        def end_headers(self):
            self.send_header("Cache-Control", "no-cache")
            super().end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# ---------------------------------------------------------------------------------------------------------
# Pure helpers for the comparisons (unit-tested in tests/test_bench.py)


def ratio(current, baseline):
    """current / baseline, or None when either is missing or the baseline is 0."""
    if current is None or baseline is None or baseline == 0:
        return None
    return current / baseline


def columns(header, rows, right=()):
    """Plain aligned columns: `header` and each row are lists of strings; indices in `right` are right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


# The cold load's milestones in page order: (point, performance mark or None, segment label that ends there).
BREAKDOWN = (
    ("wasm-start", None, "before the Pyodide wasm request (HTML, scripts)"),
    ("wasm-ready", "vae:wasm-ready", "Pyodide wasm fetch + compile"),
    ("interpreter-ready", "vae:interpreter-ready", "interpreter start"),
    ("pyscript-ready", "vae:pyscript-ready", "PyScript's own start"),
    ("python-started", "vae:python-started", "importing our modules"),
    ("models-ready", "vae:models-ready", "models ready (after Python started; 0 if earlier)"),
    ("first-frame", "vae:first-frame", "first frame"),
    ("data-ready", "data-ready", "first frame → data-ready"),
)
WASM_PATH = "/vendor/pyodide/pyodide.asm.wasm"


def load_segments(marks, resources):
    """One cold load's breakdown: [{key, label, ms, missing, fallback}] per segment (ms None and `missing` naming
    the mark when a mark is missing; `fallback` saying what stood in for one), then one merged row per run of
    missing marks (from the last point seen to the next: "not split"), then the end to end.

    Points come from the page's performance marks (vae:*), except: the wasm request's start from resource
    timing, and vae:wasm-ready falls back to the wasm's responseEnd (download only, not compile) when missing.
    models-ready counts from python-started (0 if the models were ready first)."""
    wasm = next((r for r in resources if r["name"] == WASM_PATH), None)
    points, labels, fallback = {}, {}, None
    for point, mark, label in BREAKDOWN:
        labels[point] = label
        if point == "wasm-start":  # navigation start when the wasm was not fetched (then the segment is 0)
            points[point] = wasm["start"] if wasm else 0.0
        elif mark in marks:
            points[point] = marks[mark]
        elif point == "wasm-ready" and wasm and wasm.get("end"):
            points[point] = wasm["end"]
            fallback = "download only: no vae:wasm-ready mark"
        else:
            points[point] = None
    if points["models-ready"] is not None and points["python-started"] is not None:
        points["models-ready"] = max(points["models-ready"], points["python-started"])
    rows, merged, gap, previous = [], [], 0, ("navigation", 0.0)
    for point, mark, _ in BREAKDOWN:
        t = points[point]
        missing = mark if t is None else "an earlier mark" if gap else None
        rows.append({"key": point, "label": labels[point], "ms": None if missing else t - previous[1],
                     "missing": missing, "fallback": fallback if point == "wasm-ready" else None})  # fmt: skip
        if t is None:
            gap += 1
            continue
        if gap:
            label = f"  not split: {previous[0]} → {point} ({gap + 1} segments above)"
            merged.append({"key": f"{previous[0]}..{point}", "label": label, "ms": t - previous[1], "missing": None,
                           "fallback": None})  # fmt: skip
            gap = 0
        previous = (point, t)
    rows.extend(merged)
    rows.append({"key": "total", "label": "end to end: navigation → data-ready", "ms": marks.get("data-ready"),
                 "missing": None if "data-ready" in marks else "data-ready", "fallback": None})  # fmt: skip
    return rows


def core_cases():
    """(key, label, function) for each hot path, on realistic inputs; each function returns its result."""
    manifest = (REPO / "models" / "latent_map.json").read_text()
    mu, labels, (lo, hi) = artifacts.parse_latent_map(manifest, (REPO / "models" / "latent_map.bin").read_bytes())
    plot = latent_plot.LatentPlot(latent_plot.square_domain(lo, hi))
    smooth = [digit_input.catmull_rom(s) for s in FOUR]
    image = digit_input.preprocess(smooth)
    app_state = state.AppState(strokes=[list(s) for s in FOUR], seed=123456789, pinned_z=[0.5, -1.25])
    app_state.panels = {"details", "loss"}
    hashed = state.encode_hash(app_state)
    return [
        ("core_preprocess", "digit_input.preprocess (3 strokes, smoothed)", lambda: digit_input.preprocess(smooth)),
        ("core_catmull_rom", "digit_input.catmull_rom (3 strokes)", lambda: [digit_input.catmull_rom(s) for s in FOUR]),
        (
            "core_scatter",
            f"latent_plot.scatter_markup ({len(mu):,} points)",
            lambda: latent_plot.scatter_markup(plot, mu, labels),
        ),
        ("core_grayscale", "decoder.grayscale_rgba (784 px)", lambda: decoder.grayscale_rgba(image)),
        ("core_encode_hash", "state.encode_hash (3 strokes)", lambda: state.encode_hash(app_state)),
        ("core_decode_hash", "state.decode_hash (3 strokes)", lambda: state.decode_hash(hashed)),
    ]


def bench_core(results, repeat, autorange=True):
    for key, label, fn in core_cases():
        timer = timeit.Timer(fn)
        number = 1
        if autorange:
            number, _ = timer.autorange()  # loops per sample: enough for ≥ 0.2 s
            number = max(1, number // 4)  # ≥ 50 ms per sample keeps --quick quick
        per_call = [t / number for t in timer.repeat(repeat=repeat, number=number)]
        unit, scale = ("µs", 1e6) if statistics.median(per_call) < 1e-3 else ("ms", 1e3)
        results.add("core (CPython)", key, label, unit, per_call, scale=scale)


# ---------------------------------------------------------------------------------------------------------
# In-page JavaScript: one init script that only observes the load, and functions for page.evaluate()

# Load milestones, relative to navigation start (performance.now()). Installed with add_init_script, which
# runs it when each document is created, before any of the page's own scripts, so nothing early is missed (the
# first view is prerendered into index.html). A MutationObserver catches DOM changes at once and canvases are
# polled every 10 ms. "Useful" means the latent map (10 scatter paths), the preset digit (#encoder-input) and
# its reconstruction (#reconstruction) are all shown, each either drawn on its canvas or as the prerendered
# placeholder image; "useful paint" is the end of the first frame rendered once that holds, or the first
# contentful paint if that is later (load() takes the later of the two).
JS_LOAD_INIT = """(() => {
  const key = Symbol.for('vae-bench-load');
  if (globalThis[key]) return;
  const marks = {}, flips = [], frames = [];
  let resolveDone, painting = false, wasUseful = false, finished = false;
  const done = new Promise((r) => { resolveDone = r; });
  globalThis[key] = { marks, flips, done };
  try {  // long animation frames: what kept the main thread from rendering, script by script
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) frames.push({ start: e.startTime, duration: e.duration,
        blocking: e.blockingDuration, scripts: e.scripts.map((x) => ({ duration: x.duration,
          invoker: x.invoker, source: x.sourceURL, fn: x.sourceFunctionName })) });
    }).observe({ type: 'long-animation-frame', buffered: true });
  } catch (error) { /* not supported: no breakdown */ }
  const stamp = (name) => { if (!(name in marks)) marks[name] = performance.now(); };
  const afterFrame = () => new Promise((resolve) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve(performance.now());
    channel.port2.postMessage(0);
  }));
  const inked = (id) => {
    const canvas = document.getElementById(id);
    if (!canvas || !canvas.getContext) return false;
    // The same options as the page's, so asking first cannot change the context the page gets.
    const data = canvas.getContext('2d', { willReadFrequently: true })
      .getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && data[i] < 200) return true;
    return false;
  };
  const placeholder = (id) => {
    const img = document.getElementById(`${id}-placeholder`);
    return !!(img && img.getAttribute('src') && img.complete && img.naturalWidth > 0 && img.checkVisibility());
  };
  const finish = (error) => {
    if (finished) return;
    finished = true;
    observer.disconnect();
    const root = document.documentElement;
    const stages = {};
    for (const li of document.querySelectorAll('#loading [data-stage]')) stages[li.dataset.stage] = li.dataset.status;
    for (const e of performance.getEntriesByType('paint')) marks[e.name] = e.startTime;
    for (const e of performance.getEntriesByType('mark')) if (e.name.startsWith('vae:')) marks[e.name] = e.startTime;
    const resources = performance.getEntriesByType('resource').map((e) => ({
      name: new URL(e.name).pathname, start: e.startTime, end: e.responseEnd,
      transfer: e.transferSize, encoded: e.encodedBodySize, decoded: e.decodedBodySize }));
    const message = document.getElementById('message');
    resolveDone({ marks, flips, frames, error, stages, resources, message: message ? message.textContent : '',
                  ready: root.dataset.ready === 'true' });
  };
  const check = () => {
    if (finished) return;
    const root = document.documentElement;
    if (!root) return;
    if (root.dataset.pyStarted) stamp('python started (data-py-started)');
    for (const li of document.querySelectorAll('#loading [data-stage]')) {
      if (li.dataset.status === 'ok') stamp(`stage "${li.dataset.stage}" ok`);
      if (li.dataset.status === 'failed') stamp(`stage "${li.dataset.stage}" FAILED`);
    }
    const map = document.querySelectorAll('#scatter path').length === 10;
    const digit = inked('encoder-input') || placeholder('encoder-input');
    const recon = inked('reconstruction') || placeholder('reconstruction');
    if (map) stamp('latent map shown');
    if (digit) stamp('preset digit shown');
    if (recon) stamp('reconstruction shown');
    if (inked('encoder-input')) stamp('#encoder-input canvas drawn');
    if (inked('reconstruction')) stamp('#reconstruction canvas drawn');
    const useful = map && digit && recon;
    if (useful !== wasUseful) {
      flips.push({ t: performance.now(), useful, map, digit, recon });
      wasUseful = useful;
    }
    if (useful && !painting) {
      painting = true;
      stamp('useful (in the DOM)');
      afterFrame().then((t) => { marks['useful paint'] = t; check(); });
    }
    if (root.dataset.ready === 'true') stamp('data-ready');
    if ('data-ready' in marks && 'useful paint' in marks) finish(null);
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { subtree: true, childList: true, attributes: true });
  const tick = () => { check(); if (!finished) setTimeout(tick, 10); };
  tick();
  globalThis[key].timeout = (ms) => setTimeout(() => finish(`not interactive and useful after ${ms} ms`), ms);
})();"""

JS_LOAD_RESULT = """async (timeoutMs) => {
  const state = globalThis[Symbol.for('vae-bench-load')];
  if (!state) return { error: 'the load observer (an init script) did not run in this document' };
  state.timeout(timeoutMs);
  return await state.done;
}"""

# Shared helpers, prepended to the interaction scripts below.
JS_HELPERS = """
  const root = document.documentElement;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const afterFrame = () => new Promise((resolve) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve(performance.now());
    channel.port2.postMessage(0);
  }));
  // The page's work is done when <html> and the `also` element (a view working apart from the page's frames, as
  // the VQ-VAE panel) both say data-busy="false"; <html> first, since its frame is what starts the view's work.
  // With `also` and `caughtUp` false, <html>'s "behind" is done too: the views in view are, and a story out of view
  // (the VAE's, above the VQ-VAE panel) catches up once the input pauses. Each interaction starts caught up.
  const busyOf = (el) => el.dataset.busy === 'true';
  const idleOf = (el, timeoutMs, what, done = ['false']) => new Promise((resolve, reject) => {
    if (done.includes(el.dataset.busy)) { resolve(performance.now()); return; }
    const observer = new MutationObserver(() => {
      if (done.includes(el.dataset.busy)) {
        observer.disconnect(); clearTimeout(timer); resolve(performance.now());
      }
    });
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`data-busy of ${el.id ? '#' + el.id : '<html>'} was still "${el.dataset.busy}" ${timeoutMs} ms `
                       + `after ${what}`));
    }, timeoutMs);
    observer.observe(el, { attributes: true, attributeFilter: ['data-busy'] });
  });
  const idle = async (timeoutMs, what, also = null, caughtUp = false) => {
    const at = await idleOf(root, timeoutMs, what, also && !caughtUp ? ['false', 'behind'] : ['false']);
    return also ? await idleOf(also, timeoutMs, what) : at;
  };
  const center = (el, fx, fy) => {
    const r = el.getBoundingClientRect();
    return { clientX: r.left + r.width * fx, clientY: r.top + r.height * fy };
  };
  const pointer = (type, el, fx, fy, buttons) => new PointerEvent(type, {
    ...center(el, fx, fy), bubbles: true, cancelable: true, composed: true, pointerId: 1,
    pointerType: 'mouse', isPrimary: true, button: type === 'pointermove' ? -1 : 0, buttons });
"""

# One measured interaction per item: [type, fx, fy] with fx, fy fractions of the target's box. Each starts
# at a random phase of the frame (input arrives whenever the hand moves) and is split into: the page's
# event handler (synchronous, inside dispatchEvent), the work after it until data-busy="false" (numbers and
# canvases written; the page starts it at once when the frame has none yet, else at the next animation frame)
# and the wait until the next frame has been rendered (rAF, then a posted task): the repaint the user sees.
# It also counts the animation frames begun from the input to that repaint: 1 means the very next frame.
JS_MEASURE = (
    """async ({ targetId, events, timeoutMs, press = false, alsoId = null }) => {"""
    + JS_HELPERS
    + """
  const target = document.getElementById(targetId);
  const also = alsoId && document.getElementById(alsoId);
  const out = [];
  for (const [type, fx, fy] of events) {
    await idle(timeoutMs, 'the previous event', also, true);
    await afterFrame();
    await sleep(Math.random() * 16.7);
    const buttons = type !== 'pointerup' && (press || targetId === 'draw-canvas') ? 1 : 0;
    const event = pointer(type, target, fx, fy, buttons);
    const t0 = performance.now();
    target.dispatchEvent(event);
    const handled = performance.now();
    const started = busyOf(root) || (also && busyOf(also));
    if (type === 'pointerup') { out.push(null); continue; }
    let frames = 0, counting = true;
    const count = () => {
      if (!counting) return;
      frames++;
      requestAnimationFrame(count);
    };
    requestAnimationFrame(count);
    const idleAt = await idle(timeoutMs, `a ${type} on #${targetId}`, also);
    const paintAt = await afterFrame();
    counting = false;
    out.push({ started, total: paintAt - t0, handler: handled - t0, work: idleAt - handled,
               present: paintAt - idleAt, frames });
  }
  return out;
}"""
)

# Strokes at a hand's pace: for each stroke (fractions of the target's box), a pointerdown, the moves and a
# pointerup, one event due every periodMs from the stroke's start. Input reaches pages aligned to animation
# frames, so at each frame's rAF every event due by then is dispatched (two per frame at 8 ms and 60 Hz; more
# after a slow frame, as a real pointer's backlog). Per frame it records the handlers' time (sync) and the
# work after them until data-busy="false": the page's per-frame work. The next frame's events wait for that.
JS_STROKES = (
    """async ({ targetId, strokes, periodMs, timeoutMs, alsoId = null }) => {"""
    + JS_HELPERS
    + """
  const target = document.getElementById(targetId);
  const also = alsoId && document.getElementById(alsoId);
  const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve(performance.now())));
  const frames = [], ms = [], counts = [];
  for (const stroke of strokes) {
    await idle(timeoutMs, 'the previous stroke', also, true);
    const events = [['pointerdown', ...stroke[0]], ...stroke.slice(1).map((p) => ['pointermove', ...p]),
                    ['pointerup', ...stroke[stroke.length - 1]]];
    let next = 0;
    const start = await nextFrame();
    let now = start;
    while (next < events.length) {
      const due = Math.min(events.length, Math.floor((now - start) / periodMs) + 1);
      if (due > next) {
        const count = due - next;
        const t0 = performance.now();
        for (; next < due; next++) {
          const [type, fx, fy] = events[next];
          target.dispatchEvent(pointer(type, target, fx, fy, type === 'pointerup' ? 0 : 1));
        }
        const handled = performance.now();
        const idleAt = await idle(timeoutMs, `pointer events on #${targetId}`, also);
        frames.push({ events: count, handler: handled - t0, work: idleAt - handled });
      }
      if (next < events.length) now = await nextFrame();
    }
    ms.push(performance.now() - start);
    counts.push(events.length);
  }
  return { frames, ms, events: counts };
}"""
)

# Many mixed interactions, each awaited until the page is idle: hover, strokes, presets, clear, resample.
JS_SOAK = (
    """async ({ count, seed, timeoutMs }) => {"""
    + JS_HELPERS
    + """
  let s = seed >>> 0;
  const rand = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 4294967296; };
  const plot = document.getElementById('latent-plot');
  const draw = document.getElementById('draw-canvas');
  const presets = [...document.querySelectorAll('[data-preset]')];
  const clear = document.getElementById('clear-button');
  const resample = document.getElementById('resample-button');
  const counts = { hover: 0, draw: 0, preset: 0, clear: 0, resample: 0 };
  const t0 = performance.now();
  let done = 0;
  const act = async (what, fn) => {
    if (done >= count) return;
    fn(); counts[what]++; done++;
    await idle(timeoutMs, what);
  };
  let cycle = 0;
  while (done < count) {
    for (let i = 0; i < 12; i++) {
      await act('hover', () => plot.dispatchEvent(pointer('pointermove', plot, rand(), rand(), 0)));
    }
    let x = 0.2 + rand() * 0.6, y = 0.2 + rand() * 0.6;
    await act('draw', () => draw.dispatchEvent(pointer('pointerdown', draw, x, y, 1)));
    for (let i = 0; i < 4; i++) {
      x = Math.min(0.95, Math.max(0.05, x + (rand() - 0.5) * 0.2));
      y = Math.min(0.95, Math.max(0.05, y + (rand() - 0.5) * 0.2));
      await act('draw', () => draw.dispatchEvent(pointer('pointermove', draw, x, y, 1)));
    }
    await act('draw', () => draw.dispatchEvent(pointer('pointerup', draw, x, y, 0)));
    if (cycle % 3 === 2) await act('clear', () => clear.click());
    else await act('preset', () => presets[Math.floor(rand() * presets.length)].click());
    await act('resample', () => resample.click());
    cycle++;
  }
  return { counts, ms: performance.now() - t0 };
}"""
)

# Memory readings, each after forced garbage collection (--js-flags=--expose-gc). The Pyodide interpreter is
# reached the way PyScript's own modules reach it: polyscript's env registry on globalThis.
JS_MEMORY = """async () => {
  for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setTimeout(r, 30)); }
  const out = { js_heap: performance.memory.usedJSHeapSize, wasm: null, hiwire: null, diagnostics: null, why: null };
  if (typeof window.vaeDiagnostics === 'function') out.diagnostics = JSON.parse(window.vaeDiagnostics());
  try {
    const registry = globalThis[Symbol.for('polyscript')];
    if (!registry) throw new Error("PyScript's registry globalThis[Symbol.for('polyscript')] is missing");
    const py = await registry.env['py-script'];
    out.wasm = py._module.HEAP8.buffer.byteLength;
    out.hiwire = py._module._hiwire_num_refs();
  } catch (error) { out.why = String(error && error.message || error); }
  return out;
}"""

# Which prerendered placeholders (first view) are still shown on top of the live canvases.
JS_PLACEHOLDERS = """() => ['draw', 'encoder-input', 'reconstruction'].filter((id) => {
  const img = document.getElementById(`${id}-placeholder`);
  return img && img.getAttribute('src') && img.checkVisibility();
})"""

# PyProxy leak check: Pyodide's own allocation tracing (used by its test suite) records every PyProxy made
# and forgets it when destroy() is called. Tracing keeps proxies alive, so it runs apart from the memory soak.
JS_TRACE = """async (on) => {
  const py = await globalThis[Symbol.for('polyscript')].env['py-script'];
  const m = py._module;
  if (on) { m.pyproxy_alloc_map.clear(); m.enable_pyproxy_allocation_tracing(); return null; }
  for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setTimeout(r, 30)); }
  m.disable_pyproxy_allocation_tracing();
  const sites = {};
  for (const stack of m.pyproxy_alloc_map.values()) {
    const frames = String(stack).split('\\n').slice(1).map((f) => f.trim());
    const internal = /pyodide\\.asm|trace_pyproxy|pyproxy_new|wasm-function/;
    const site = frames.find((f) => !internal.test(f)) || frames[2] || '?';
    sites[site] = (sites[site] || 0) + 1;
  }
  const left = m.pyproxy_alloc_map.size;
  m.pyproxy_alloc_map.clear();
  return { left, sites };
}"""

# The page's hot paths inside Pyodide on the page itself, plus the ONNX runs through the app's own sessions,
# timed with time.perf_counter in a scratch namespace (the app's state is only read).
PY_IN_PAGE = """
import json, time, __main__
from vae import decoder, digit_input
from page import state

FOUR = %(four)s

def per_call(fn, n):
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1000

async def per_call_async(fn, n):
    t = time.perf_counter()
    for _ in range(n):
        await fn()
    return (time.perf_counter() - t) / n * 1000

async def run(repeat):
    app = getattr(__main__, "app", None)
    smooth = [digit_input.catmull_rom(s) for s in FOUR]
    image = digit_input.preprocess(smooth)
    out = {}
    for _ in range(repeat):
        out.setdefault("preprocess", []).append(per_call(lambda: digit_input.preprocess(smooth), 3))
        out.setdefault("grayscale", []).append(per_call(lambda: decoder.grayscale_rgba(image), 20))
        out.setdefault("encode_hash", []).append(per_call(lambda: state.encode_hash(app.state), 20))
        if app is not None and app.models.decoder is not None:
            out.setdefault("ort_decode", []).append(await per_call_async(lambda: app.models.decode([[0.5, -0.5]]), 10))
        if app is not None and app.models.encoder is not None:
            out.setdefault("ort_encode", []).append(await per_call_async(lambda: app.models.encode(image), 10))
        if app is not None:
            out.setdefault("render", []).append(per_call(app.render, 10))
    return json.dumps(out)

await run(%(repeat)d)
"""

JS_RUN_PY = """async (code) => {
  const py = await globalThis[Symbol.for('polyscript')].env['py-script'];
  const scratch = py.globals.get('dict')();
  try { return await py.runPythonAsync(code, { globals: scratch }); } finally { scratch.destroy(); }
}"""


# ---------------------------------------------------------------------------------------------------------
# The page


class Errors:
    """Console errors and page errors of every page the benchmark opens: a broken page is worth saying."""

    def __init__(self):
        self.items = []

    def watch(self, page):
        page.on("console", lambda m: m.type == "error" and self.items.append(m.text[:300]))
        page.on("pageerror", lambda e: self.items.append(f"pageerror: {str(e)[:300]}"))


def prime_server(base_url, root=REPO):
    """Ask serve.py for every compressible file once, gzipped, so its per-process gzip cache is warm.

    Returns (seconds it took, files): the one-off cost the first visitor after a server start pays on top.
    """
    serve = serve_module(root)  # the checkout's own site map
    urls = [url for url, path in serve.site_map(Path(root)).files.items() if path.suffix in serve.COMPRESSIBLE]

    def get(url):
        request = urllib.request.Request(base_url.rstrip("/") + url, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return len(response.read())

    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(get, urls))
    return time.perf_counter() - t, len(urls)


def wire_bytes(requests):
    """Bytes on the wire for finished requests: response body (as sent, so gzipped) + response headers.

    Returns (total, {path: bytes}, {path: times fetched}).
    """
    total, per_url, fetched = 0, {}, {}
    for request in requests:
        sizes = request.sizes()
        n = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        total += n
        path = re.sub(r"^https?://[^/]+", "", request.url)
        per_url[path] = per_url.get(path, 0) + n
        fetched[path] = fetched.get(path, 0) + 1
    return total, per_url, fetched


def load(page, navigate, errors_seen):
    """Navigate, then collect what the init script observed from the document's creation."""
    navigate()
    for attempt in range(3):
        try:
            record = page.evaluate(JS_LOAD_RESULT, READY_TIMEOUT_MS)
            break
        except Exception as error:  # evaluate can land in the previous document just as it is replaced
            if attempt == 2 or "context was destroyed" not in str(error):
                raise
            page.wait_for_timeout(50)
    marks = record["marks"]
    if "useful paint" in marks:
        # Nothing is on screen before the first contentful paint (a presentation time), which can come after
        # the end of the frame the page rendered first: useful paint is the later of the two.
        marks["useful frame rendered"] = marks["useful paint"]
        marks["useful paint"] = max(marks["useful paint"], marks.get("first-contentful-paint", 0.0))
    if record["error"]:
        raise RuntimeError(
            f"the page did not become useful and interactive: {record['error']}; stages {record.get('stages')}; "
            f"message {record.get('message')!r}; console errors {errors_seen.items[-5:]}"
        )
    return record


# Resources whose download end is worth a milestone row: the big runtime files and the models.
KEY_RESOURCES = (
    "/vendor/pyodide/pyodide.asm.wasm",
    "/vendor/pyodide/python_stdlib.zip",
    "/vendor/ort/ort-wasm-simd-threaded.wasm",
    "/models/decoder.onnx",
)


def long_frames(record):
    """(ms of long animation frames before data-ready, [(script, ms), …] longest first), or None."""
    frames = record.get("frames") or []
    if not frames:
        return None
    ready = record["marks"]["data-ready"]
    frames = [f for f in frames if f["start"] < ready]
    by_script = {}
    for f in frames:
        for x in f["scripts"]:
            source = x["source"].rsplit("/", 1)[-1] or "(inline)"
            name = f"{x['invoker'] or '?'} [{source}{':' + x['fn'] if x['fn'] else ''}]"
            by_script[name] = by_script.get(name, 0.0) + x["duration"]
    return sum(f["duration"] for f in frames), sorted(by_script.items(), key=lambda kv: -kv[1])


def load_run(browser, target, settings, errors):
    """One cold load of `target` in a fresh context, then its warm reloads. Returns (cold record, warm records,
    cold bytes, warm bytes, requests, per-URL bytes, paths fetched twice, (context, page))."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(script=JS_LOAD_INIT)
    page = context.new_page()
    errors.watch(page)
    finished = []
    page.on("requestfinished", lambda request, into=finished: into.append(request))
    cold = load(page, lambda p=page: p.goto(target.url, wait_until="commit"), errors)
    page.wait_for_timeout(300)  # stragglers (late requests) finish and are counted
    total, per_url, fetched = wire_bytes(finished)
    requests = len(finished)
    warm, warm_bytes = [], []
    for _ in range(settings["warm"]):
        finished.clear()
        warm.append(load(page, lambda p=page: p.reload(wait_until="commit"), errors))
        page.wait_for_timeout(300)
        warm_bytes.append(wire_bytes(finished)[0])
    twice = {path for path, n in fetched.items() if n > 1}
    return cold, warm, total, warm_bytes, requests, per_url, twice, (context, page)


def bench_loads(results, browser, targets, settings, errors):
    """Cold loads (fresh context each) and warm reloads (same context) of each target, interleaved run by run
    (baseline, current, baseline, current, …) so that drift on the machine hits both alike. Each target's last
    context stays open for the interaction phases. Returns {target name: cold records}."""
    runs = {t.name: {"cold": [], "warm": [], "cold_bytes": [], "warm_bytes": [], "requests": [], "per_url": None,
                     "twice": set(), "vq_cold": []} for t in targets}  # fmt: skip
    for run in range(settings["runs"]):
        for target in targets:
            r = runs[target.name]
            if target.context:
                target.context.close()
            cold, warm, total, warm_bytes, requests, per_url, twice, (target.context, target.page) = load_run(
                browser, target, settings, errors
            )
            r["cold"].append(cold)
            r["warm"].extend(warm)
            r["cold_bytes"].append(total)
            r["warm_bytes"].extend(warm_bytes)
            r["requests"].append(requests)
            r["per_url"] = r["per_url"] or per_url
            r["vq_cold"].append(sorted(path for path in per_url if VQ_FILES.search(path)))
            r["twice"] |= twice
            marks = cold["marks"]
            print(
                f"  load {run + 1}/{settings['runs']} {target.name}: cold useful {marks['useful paint'] / 1e3:.2f} s, "
                f"ready {marks['data-ready'] / 1e3:.2f} s"
                + (f"; warm ready {warm[-1]['marks']['data-ready'] / 1e3:.2f} s" if warm else ""),
                flush=True,
            )
    for target in targets:
        report_loads(results, target, runs[target.name])
    return {t.name: runs[t.name]["cold"] for t in targets}


def report_loads(results, target, r):
    cold, warm, p = r["cold"], r["warm"], target.prefix
    section = target.section("load (headless Chromium, serve.py on loopback)")
    for key, label, mark in (
        ("useful_paint", "first useful paint (map + preset + reconstruction)", "useful paint"),
        ("ready", "load → interactive (data-ready)", "data-ready"),
    ):
        for records, cache in ((cold, "cold"), (warm, "warm")):
            if records:
                results.add(section, p + key, label, "s", [x["marks"][mark] for x in records], cache, scale=1e-3)
    if cold and all("vae:early-input" in x["marks"] for x in cold):  # older checkouts (a baseline) lack it
        label = "input answered from (strokes, presets; kept for Python)"
        marks = [x["marks"]["vae:early-input"] for x in cold]
        results.add(section, p + "input_answered", label, "s", marks, "cold", scale=1e-3)
    label = "bytes on the wire (body + headers)"
    results.add(section, p + "bytes_cold", label, "MB", r["cold_bytes"], "cold", "size", 1 / MB)
    if r["warm_bytes"]:
        results.add(section, p + "bytes_warm", label, "MB", r["warm_bytes"], "warm", "size", 1 / MB)
    results.add(section, p + "requests_cold", "requests", "count", r["requests"], "cold", "count")
    if target.name != "floor":
        label = "  of which VQ-VAE files (they load when the view opens)"
        results.add(section, p + "vq_files_cold", label, "count", [len(v) for v in r["vq_cold"]], "cold", "count")
        early = sorted({path for paths in r["vq_cold"] for path in paths})
        if early:
            results.note(f"{target.name}: VQ-VAE files fetched in a cold load, before the view was opened: {early}")

    # Where a load's time goes: every milestone seen in all its runs, plus when the big files arrived (a warm
    # reload takes them from the HTTP cache).
    for records, cache in ((cold, "cold"), (warm, "warm")):
        if not records:
            continue
        ms = target.section(f"load milestones (ms after navigation start, {cache})")
        rows = {}
        for name in records[0]["marks"]:
            if name not in ("useful paint", "data-ready") and all(name in x["marks"] for x in records):
                rows[name] = [x["marks"][name] for x in records]
        for path in KEY_RESOURCES:
            ends = [next((e["end"] for e in x["resources"] if e["name"] == path), None) for x in records]
            if all(v is not None for v in ends):
                rows[f"{path.rsplit('/', 1)[-1]} {'downloaded' if cache == 'cold' else 'from the cache'}"] = ends
        key = "mark:" if cache == "cold" else "warm-mark:"
        for name, values in sorted(rows.items(), key=lambda kv: statistics.median(kv[1])):
            results.add(ms, f"{p}{key}{name}", name, "ms", values, cache)
    ms = target.section("load milestones (ms after navigation start, cold)")

    blocked = [long_frames(x) for x in cold]
    if all(b is not None for b in blocked):
        label = "main thread in long animation frames (sum)"
        kind = "time" if target.busy_signal else "span"  # a page that does no work may have no long frame
        results.add(ms, p + "long_frames", label, "ms", [b[0] for b in blocked], "cold", kind)
        top = ", ".join(f"{name} {t:.0f} ms" for name, t in blocked[0][1][:4])
        who = "" if target.name == "current" else f" ({target.short})"
        results.note(f"cold load{who}, longest script work in long animation frames before data-ready: {top}")

    for records, cache in ((cold, "cold"), (warm, "warm")):
        for x in records:
            lost = [f for f in x["flips"] if not f["useful"] and f["t"] > x["marks"].get("useful (in the DOM)", 1e18)]
            if lost:
                f = lost[0]
                missing = [k for k in ("map", "digit", "recon") if not f[k]]
                back = next((g["t"] for g in x["flips"] if g["useful"] and g["t"] > f["t"]), None)
                results.note(
                    f"{target.name} {cache} load: the useful first view disappeared at {f['t']:.0f} ms (missing: "
                    f"{', '.join(missing)}) and came back at {back:.0f} ms"
                    if back
                    else f"{target.name} {cache} load: the useful first view disappeared at {f['t']:.0f} ms and "
                    "never came back"
                )
                break
    if r["twice"]:
        results.note(f"{target.name}: fetched more than once in one cold load: {', '.join(sorted(r['twice']))}")
    if target.name == "current":
        top = sorted(r["per_url"].items(), key=lambda kv: -kv[1])[:5]
        results.note("largest cold transfers: " + ", ".join(f"{path} {n / MB:.2f} MB" for path, n in top))
        results.details["bytes_per_url_cold"] = dict(sorted(r["per_url"].items(), key=lambda kv: -kv[1]))
    results.details[f"{p}loads"] = {"cold": cold, "warm": warm}


def breakdown(cold):
    """A load's breakdown, median over the loads (cold ones, or warm reloads): [{key, label, ms, samples, missing}]."""
    per_run = [load_segments(x["marks"], x["resources"]) for x in cold]
    out = []
    for i, row in enumerate(per_run[0]):
        samples = [run[i]["ms"] for run in per_run if i < len(run) and run[i]["key"] == row["key"]]
        ok = len(samples) == len(per_run) and all(v is not None for v in samples)
        out.append({**row, "ms": statistics.median(samples) if ok else None, "samples": samples if ok else []})
    return out


def breakdown_table(breakdowns, labels, cache="cold"):
    """Side by side: one column per checkout (`breakdowns` {name: rows}, `labels` {name: column title}), plus
    current/baseline when both are there. Rows are matched by key; merged 'not split' rows appear as they come."""
    names = list(breakdowns)
    keys, label_of = [], {}
    for name in names:
        for row in breakdowns[name]:
            if row["key"] not in label_of:
                keys.append(row["key"])
                label_of[row["key"]] = row["label"]
    total = [k for k in keys if k == "total"]
    keys = [k for k in keys if k != "total"] + total  # merged rows of any checkout before the end to end
    both = "current" in breakdowns and "baseline" in breakdowns
    header = [f"segment (ms, median of {cache} loads)", *(labels[n] for n in names)] + (["ratio"] if both else [])
    rows = []
    for key in keys:
        values = {n: next((r for r in breakdowns[n] if r["key"] == key), None) for n in names}
        cells = [label_of[key]]
        for n in names:
            row = values[n]
            if row is None:
                cells.append("")
            elif row["ms"] is None:
                cells.append(f"n/a ({row['missing']} missing)" if row.get("missing") else "n/a")
            else:
                cells.append(f"{row['ms']:.0f}" + (f" ({row['fallback']})" if row.get("fallback") else ""))
        if both:
            a, b = values["current"], values["baseline"]
            x = ratio(a and a["ms"], b and b["ms"])
            if (a and a.get("fallback")) != (b and b.get("fallback")):
                x = None  # a download against a download + compile: no ratio
            cells.append("" if x is None else f"{x:.2f}")
        rows.append(cells)
    return columns(header, rows, right=set(range(1, len(header))))


def hover_events(n, rng):
    """Distinct positions spread over the plot (fractions of its box), in a shuffled order."""
    side = math.ceil(math.sqrt(n))
    cells = [((i % side + rng.random()) / side, (i // side + rng.random()) / side) for i in range(side * side)]
    rng.shuffle(cells)
    return [["pointermove", 0.08 + 0.84 * x, 0.05 + 0.84 * y] for x, y in cells[:n]]


def draw_events(n, rng):
    """Strokes of one pointerdown and nine pointermoves each (the pointerups are not measured)."""
    events, measured = [], 0
    while measured < n:
        x, y = 0.2 + rng.random() * 0.6, 0.15 + rng.random() * 0.3
        dx, dy = (rng.random() - 0.5) * 0.06, 0.05
        events.append(["pointerdown", x, y])
        measured += 1
        for _ in range(min(9, n - measured)):
            x, y = min(0.95, max(0.05, x + dx)), min(0.95, y + dy)
            events.append(["pointermove", x, y])
            measured += 1
        events.append(["pointerup", x, y])
    return events


def bench_interactions(results, target, settings):
    page, p = target.page, target.prefix
    section = target.section("interaction: input → reconstruction repainted")
    rng = random.Random(20240601)
    page.wait_for_selector("html[data-busy=false]", state="attached", timeout=SETTLE_TIMEOUT_MS)
    covered = page.evaluate(JS_PLACEHOLDERS)
    if covered:
        results.note(
            f"{target.name}: after data-ready the prerendered placeholder images still cover the live canvases "
            f"({', '.join('#' + c for c in covered)}): the repaints measured below are drawn under them"
        )
    results.details[f"{p}placeholders_shown_after_ready"] = covered
    plans = (
        ("hover", "latent-plot", hover_events(settings["hover"], rng), "latent hover (pointermove)"),
        ("draw", "draw-canvas", draw_events(settings["draw"], rng), "drawing (pointerdown/move)"),
    )
    # The very first input after data-ready pays one-off costs (code still warming up): shown on its own row,
    # then a few unmeasured hovers, so the rows below describe the steady state.
    first = page.evaluate(
        JS_MEASURE, {"targetId": "latent-plot", "events": hover_events(1, rng), "timeoutMs": SETTLE_TIMEOUT_MS}
    )[0]
    results.add(section, p + "first_hover", "first hover after data-ready: total", "ms", [first["total"]])
    page.evaluate(
        JS_MEASURE, {"targetId": "latent-plot", "events": hover_events(5, rng), "timeoutMs": SETTLE_TIMEOUT_MS}
    )
    for key, element, events, label in plans:
        if key == "draw":
            page.click("#clear-button")
            page.wait_for_selector("html[data-busy=false]", state="attached", timeout=SETTLE_TIMEOUT_MS)
        measured = page.evaluate(JS_MEASURE, {"targetId": element, "events": events, "timeoutMs": SETTLE_TIMEOUT_MS})
        interaction_rows(results, target, section, key, label, measured)


def interaction_rows(results, target, section, key, label, measured):
    """The rows of one JS_MEASURE run: the total, its parts and the frames, over the events that started work."""
    p = target.prefix
    measured = [m for m in measured if m is not None]
    if target.busy_signal:
        idle = [m for m in measured if not m["started"]]
        if idle:
            results.note(
                f"{target.name}: {len(idle)} of {len(measured)} {key} events did not set data-busy=true (no work ran)"
            )
        done = [m for m in measured if m["started"]]
    else:  # the floor does all its work in the handler: every event counts
        done = measured
    results.add(section, p + key, f"{label}: total", "ms", [m["total"] for m in done])
    parts = (
        ("handler", "event handler (sync, in dispatch)"),
        ("work", "work after the handler until data-busy=false"),
        ("present", "until that result's frame is rendered"),
    )
    for part, part_label in parts:
        # The floor's work after the handler is 0 by design: "span" rows may be 0 (kind "time" may not).
        kind = "time" if target.busy_signal else "span"
        results.add(section, f"{p}{key}_{part}", f"  of which: {part_label}", "ms", [m[part] for m in done],
                    kind=kind)  # fmt: skip
    label = "  frames begun until repainted (1 = the next frame)"
    results.add(section, f"{p}{key}_frames", label, "ratio", [m["frames"] for m in done], kind="count")
    results.details[f"{p}interaction_{key}"] = done


def stroke_paths(points=STROKE_POINTS):
    """Three strokes (the 4 of FOUR) resampled to `points` positions each, as fractions of the drawing canvas."""
    out = []
    for stroke in FOUR:
        lengths = [0.0]
        for (x0, y0), (x1, y1) in itertools.pairwise(stroke):
            lengths.append(lengths[-1] + math.hypot(x1 - x0, y1 - y0))
        path, j = [], 0
        for i in range(points):
            s = lengths[-1] * i / (points - 1)
            while j < len(stroke) - 2 and lengths[j + 1] < s:
                j += 1
            span = (lengths[j + 1] - lengths[j]) or 1.0
            f = min(1.0, max(0.0, (s - lengths[j]) / span))
            x = stroke[j][0] + (stroke[j + 1][0] - stroke[j][0]) * f
            y = stroke[j][1] + (stroke[j + 1][1] - stroke[j][1]) * f
            path.append([round(x / 280, 5), round(y / 280, 5)])
        out.append(path)
    return out


def bench_strokes(results, target, settings):
    """Three long strokes at a hand's pace; per frame, the page's work: handlers + work until data-busy=false."""
    page = target.page
    page.click("#clear-button")
    page.wait_for_selector("html[data-busy=false]", state="attached", timeout=SETTLE_TIMEOUT_MS)
    points = settings["stroke_points"]
    strokes_rows(results, target, target.section(strokes_section(points)), "strokes", stroke_paths(points))


def strokes_rows(results, target, section, key, strokes, also=None):
    """Run JS_STROKES on the drawing canvas (`also`: a view's element whose data-busy counts too) and add its rows
    under `key`: `key`_work, _handler, _events, _frames, _rate."""
    p = target.prefix
    out = target.page.evaluate(
        JS_STROKES,
        {"targetId": "draw-canvas", "strokes": strokes, "periodMs": STROKE_PERIOD_MS, "timeoutMs": SETTLE_TIMEOUT_MS,
         "alsoId": also},
    )  # fmt: skip
    frames = out["frames"]
    kind = "time" if target.busy_signal else "span"
    results.add(section, f"{p}{key}_work", "per-frame work: handlers + work until idle", "ms",
                [f["handler"] + f["work"] for f in frames], kind=kind)  # fmt: skip
    results.add(section, f"{p}{key}_handler", "  of which: event handlers (sync)", "ms",
                [f["handler"] for f in frames], kind="span")  # fmt: skip
    results.add(section, f"{p}{key}_events", "  pointer events per frame", "ratio",
                [f["events"] for f in frames], kind="count")  # fmt: skip
    results.add(section, f"{p}{key}_frames", "  frames that delivered events", "count", [len(frames)], kind="count")
    pace = sum(out["events"]) / max(1e-9, sum(out["ms"])) * 1e3
    results.add(section, f"{p}{key}_rate", "  events delivered per second", "count", [pace], kind="count")
    results.details[f"{p}{key}"] = out


def row_of(results, key, cache=""):
    return next((m for m in results.metrics if m["key"] == key and m["cache"] == cache and not m["unavailable"]), None)


def comparisons(results, targets):
    """The figures issue 13 judges, side by side: {"baseline": rows, "floor": rows}, each row a dict."""
    names = {t.name for t in targets}
    out = {}
    if "baseline" in names:
        rows = []
        for key, cache, stat, label, unit in COMPARED:
            a, b = row_of(results, key, cache), row_of(results, "baseline:" + key, cache)
            cur, base = a and a[stat], b and b[stat]
            rows.append({"key": key, "cache": cache, "stat": stat, "label": label, "unit": unit,
                         "baseline": base, "current": cur, "ratio": ratio(cur, base)})  # fmt: skip
        out["baseline"] = rows
    if "floor" in names:
        rows = []
        for key, floor_key, label, bar, bar_text in FLOOR_COMPARED:
            entry = {"key": key, "label": label, "bar_ms": bar, "bar_text": bar_text}
            for t in targets:
                m = row_of(results, t.prefix + (floor_key if t.name == "floor" else key))
                entry[t.name] = {"p50": m and m["median"], "p95": m and m["p95"]}
            mine = entry["current"]["p95"]
            if bar is not None:
                for name in ("current", "baseline"):
                    if name in entry:
                        p95, floor = entry[name]["p95"], entry["floor"]["p95"]
                        entry[f"{name}_minus_floor_p95"] = None if p95 is None or floor is None else p95 - floor
                d = entry["current_minus_floor_p95"]
                entry["current_meets_bar"] = None if d is None else d <= bar
            else:
                entry["current_meets_bar"] = None if mine is None else mine <= STROKES_BAR_MS
            rows.append(entry)
        out["floor"] = rows
    return out


def comparison_text(comp, labels):
    """The comparison tables as text (see comparisons())."""
    parts = []
    if "baseline" in comp:
        header = ["metric", "stat", labels["baseline"], labels["current"], "current/baseline"]
        rows = [[r["label"] + (f", {r['cache']}" if r["cache"] else ""), "p50" if r["stat"] == "median" else "p95",
                 fmt(r["baseline"], r["unit"]), fmt(r["current"], r["unit"]),
                 "n/a" if r["ratio"] is None else f"{r['ratio']:.2f}"] for r in comp["baseline"]]  # fmt: skip
        parts.append(columns(header, rows, right={2, 3, 4}))
    if "floor" in comp:
        names = [n for n in ("floor", "current", "baseline") if n in comp["floor"][0]]
        header = ["interaction (ms)", *(f"{labels[n]} p50 / p95" for n in names)]
        header += [f"{n} − floor, p95" for n in names if n != "floor"] + ["bar"]
        rows = []
        for r in comp["floor"]:
            cells = [r["label"]]
            for n in names:
                v = r[n]
                cells.append(f"{fmt(v['p50'], 'ms')} / {fmt(v['p95'], 'ms')}")
            for n in names:
                if n == "floor":
                    continue
                d = r.get(f"{n}_minus_floor_p95")
                cells.append("" if r["bar_ms"] is None else "n/a" if d is None else f"{d:+.1f} ms")
            verdict = {None: "", True: "ok", False: "OVER"}[r["current_meets_bar"]]
            cells.append(f"current {r['bar_text']}: {verdict}" if verdict else r["bar_text"])
            rows.append(cells)
        parts.append(columns(header, rows, right=set(range(1, len(header) - 1))))
    return "\n\n".join(parts)


def bench_memory(results, page, context, settings):
    section = f"memory over {settings['soak']:,} mixed interactions (after forced GC)"
    before = page.evaluate(JS_MEMORY)
    dom_before = dom_counters(page, context)
    t = time.perf_counter()
    counts, soak_ms, remaining, batch = {}, 0.0, settings["soak"], 0
    while remaining > 0:
        n = min(250, remaining)
        part = page.evaluate(JS_SOAK, {"count": n, "seed": 7 + batch, "timeoutMs": SETTLE_TIMEOUT_MS})
        for k, v in part["counts"].items():
            counts[k] = counts.get(k, 0) + v
        soak_ms += part["ms"]
        remaining -= n
        batch += 1
        if settings["soak"] >= 1000 and batch % 4 == 0:
            print(f"  soak: {settings['soak'] - remaining:,}/{settings['soak']:,}", flush=True)
    elapsed = time.perf_counter() - t
    page.wait_for_selector("html[data-busy=false]", state="attached", timeout=SETTLE_TIMEOUT_MS)
    after = page.evaluate(JS_MEMORY)
    dom_after = dom_counters(page, context)
    interactions = sum(counts.values())
    results.details["soak"] = {
        "before": before,
        "after": after,
        "dom_before": dom_before,
        "dom_after": dom_after,
        "counts": counts,
        "seconds": elapsed,
    }

    def delta(key, label, unit, a, b, scale=1.0):
        results.add(section, key, label, unit, [(b - a) * scale], kind="delta")

    delta("js_heap_growth", "JS heap growth (usedJSHeapSize)", "MB", before["js_heap"], after["js_heap"], 1 / MB)
    results.add(section, "js_heap_after", "  JS heap after", "MB", [after["js_heap"] / MB], kind="size")
    if before["wasm"] is not None and after["wasm"] is not None:
        delta("wasm_growth", "Pyodide wasm memory growth", "MB", before["wasm"], after["wasm"], 1 / MB)
        results.add(section, "wasm_after", "  Pyodide wasm memory after", "MB", [after["wasm"] / MB], kind="size")
        delta("hiwire_growth", "JS values held by Python (hiwire) growth", "count", before["hiwire"], after["hiwire"])
    else:
        results.add(section, "wasm_growth", "Pyodide wasm memory growth", "MB", [], why=before["why"] or after["why"])
    d0, d1 = before["diagnostics"], after["diagnostics"]
    if d0 and d1:
        delta("py_objects_growth", "Python objects growth", "count", d0["python_objects"], d1["python_objects"])
        delta("event_proxies_growth", "event-handler proxies growth", "count", d0["event_proxies"], d1["event_proxies"])
        frames = (d1["frames"] - d0["frames"]) / max(1, interactions)
        results.add(section, "frames_per_interaction", "frames run per interaction", "ratio", [frames], kind="count")
    else:
        results.note("window.vaeDiagnostics() is missing: Python object and frame counts were not measured")
    if dom_before and dom_after:
        for name, label in (("nodes", "DOM nodes growth"), ("jsEventListeners", "JS event listeners growth")):
            delta(f"dom_{name}_growth", label, "count", dom_before[name], dom_after[name])
    results.add(section, "soak_rate", "mixed interaction until idle, mean", "ms", [soak_ms / max(1, interactions)])

    try:
        page.evaluate(JS_TRACE, True)
        page.evaluate(JS_SOAK, {"count": settings["trace"], "seed": 99, "timeoutMs": SETTLE_TIMEOUT_MS})
        page.wait_for_selector("html[data-busy=false]", state="attached", timeout=SETTLE_TIMEOUT_MS)
        traced = page.evaluate(JS_TRACE, False)
    except Exception as error:  # an internal API that moved: report it, measure the rest
        why = f"Pyodide's PyProxy allocation tracing was unreachable: {str(error).splitlines()[0][:200]}"
        results.add(section, "pyproxies_left", "PyProxies never destroyed", "count", [], why=why)
    else:
        label = f"PyProxies never destroyed ({settings['trace']} more, traced)"
        results.add(section, "pyproxies_left", label, "count", [traced["left"]], kind="count")
        results.details["pyproxy_sites"] = traced["sites"]
        if traced["left"]:
            top = sorted(traced["sites"].items(), key=lambda kv: -kv[1])[:3]
            results.note("PyProxies left undestroyed, by creation site: " + "; ".join(f"{n}× {s}" for s, n in top))


def dom_counters(page, context):
    """Documents, DOM nodes and JS event listeners, from the DevTools protocol (Memory.getDOMCounters); None if
    the protocol refuses. (Runtime.queryObjects, which could list every WebAssembly.Memory, hangs on this page.)"""
    try:
        cdp = context.new_cdp_session(page)
        try:
            return cdp.send("Memory.getDOMCounters")
        finally:
            cdp.detach()
    except Exception:
        return None


JS_KL_SWITCH = """async ({kind, value, name, pauseMs = 0}) => {
  const panel = document.getElementById('kl-panel');
  await new Promise((resolve) => setTimeout(resolve, pauseMs));  // a click's pace: the last move has ended
  const t0 = performance.now();
  if (kind === 'open') document.getElementById('kl-toggle').click();
  else if (kind === 'epoch') {
    const slider = document.getElementById('kl-epoch');
    slider.value = value;
    slider.dispatchEvent(new Event('input', {bubbles: true}));
  } else document.querySelector(value).click();
  await new Promise((resolve, reject) => {
    if (panel.dataset.shown === name) return resolve();
    const watcher = new MutationObserver(() => {
      if (panel.dataset.shown === name) { watcher.disconnect(); resolve(); }
    });
    watcher.observe(panel, {attributes: true, attributeFilter: ['data-shown']});
    setTimeout(() => { watcher.disconnect(); reject(new Error(`${name} was not shown`)); }, 60000);
  });
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  return performance.now() - t0;
}"""


KL_PAUSE_MS = 800  # between timed switches: a learner's clicks, after the 700 ms move of the codes (style.css)


def bench_kl_view(results, page, settings):
    """The "Why the KL term?" view: opening it (its modules, index and first checkpoint load then), and switching
    to a checkpoint or model already loaded (issue 14: repainted within 100 ms)."""
    section = "KL view: switch → repainted (loaded entries)"
    index = json.loads((REPO / "models" / "kl" / "index.json").read_text())
    epochs = sorted(int(e) for e in index["checkpoints"])
    names = {e: index["checkpoints"][str(e)] for e in epochs}
    first = page.evaluate(JS_KL_SWITCH, {"kind": "open", "value": None, "name": names[epochs[-1]]})
    results.add(section, "kl_open", "open the view: modules, index, first checkpoint", "ms", [first])
    wire = """(part) => performance.getEntriesByType('resource').filter((e) => e.name.includes(part))
        .reduce((sum, e) => sum + e.transferSize, 0)"""
    opened = page.evaluate(wire, "/kl")
    results.add(section, "kl_bytes_open", "  bytes on the wire to open it", "MB", [opened / MB], kind="size")
    loading = [page.evaluate(JS_KL_SWITCH, {"kind": "epoch", "value": i, "name": names[e]}) for i, e in
               enumerate(epochs)]  # fmt: skip
    results.add(section, "kl_first_show", "  a checkpoint shown for the first time (its files load)", "ms", loading)
    rng = random.Random(14)
    shown, times = len(epochs) - 1, []
    for _ in range(settings["kl_switches"]):
        i = rng.choice([k for k in range(len(epochs)) if k != shown])
        switch = {"kind": "epoch", "value": i, "name": names[epochs[i]], "pauseMs": KL_PAUSE_MS}
        times.append(page.evaluate(JS_KL_SWITCH, switch))
        shown = i
    results.add(section, "kl_switch_epoch", "switch epoch (loaded)", "ms", times)
    betas = sorted(index["betas"], key=float)
    page.evaluate(JS_KL_SWITCH, {"kind": "mode", "value": "#kl-mode-beta", "name": index["betas"]["1"]})
    for beta in betas:  # each model shown once first: its files load and its map and grid are drawn
        value = f"[data-kl-beta='{beta}']"
        page.evaluate(JS_KL_SWITCH, {"kind": "beta", "value": value, "name": index["betas"][beta]})
    times, current = [], betas[-1]
    for _ in range(settings["kl_switches"]):
        beta = rng.choice([b for b in betas if b != current])
        value = f"[data-kl-beta='{beta}']"
        switch = {"kind": "beta", "value": value, "name": index["betas"][beta], "pauseMs": KL_PAUSE_MS}
        times.append(page.evaluate(JS_KL_SWITCH, switch))
        current = beta
    results.add(section, "kl_switch_beta", "switch β (loaded)", "ms", times)
    everything = page.evaluate(wire, "/kl")
    results.add(section, "kl_bytes_all", "bytes on the wire, every checkpoint and model", "MB", [everything / MB],
                kind="size")  # fmt: skip


JS_VQ_OPEN = (
    """async ({ timeoutMs }) => {"""
    + JS_HELPERS
    + """
  const panel = document.getElementById('vq-panel');
  const picture = document.getElementById('vq-reconstruction');
  const toggle = document.getElementById('vq-toggle');
  if (toggle.getAttribute('aria-expanded') === 'true') throw new Error('the VQ-VAE view was open already');
  // Decoded and idle; a page whose panel says nothing of its work (no data-busy: older revisions) once decoded.
  const shown = () => !!picture.dataset.codes && panel.dataset.busy !== 'true';
  const t0 = performance.now();
  toggle.click();
  await new Promise((resolve, reject) => {
    if (shown()) { resolve(); return; }
    const watcher = new MutationObserver(() => {
      if (shown()) { watcher.disconnect(); clearTimeout(timer); resolve(); }
    });
    watcher.observe(panel, { attributes: true, subtree: true, attributeFilter: ['data-busy', 'data-codes'] });
    const timer = setTimeout(() => {
      watcher.disconnect();
      reject(new Error(`the VQ-VAE view showed no decoded grid ${timeoutMs} ms after it was opened (status: `
                       + `${document.getElementById('vq-status').textContent})`));
    }, timeoutMs);
  });
  const paintAt = await afterFrame();
  const files = performance.getEntriesByType('resource').map((e) => ({ name: new URL(e.name).pathname,
    transfer: e.transferSize }));
  return { ms: paintAt - t0, files, signal: 'busy' in panel.dataset };
}"""
)


def cell_centre(cell):
    """The centre of a cell of the 7×7 grid, as fractions of the grid's box."""
    return (cell % 7 + 0.5) / 7, (cell // 7 + 0.5) / 7


def paint_drags(shown, count, rng):
    """Paint strokes over the 7×7 grid, `count` measured events in all: each stroke goes along one row (a
    pointerdown in its first cell, a pointermove into each next one) with a code none of its cells shows, so every
    event is a real edit. `shown` is the grid on screen; returns [(code, events)] (events as JS_MEASURE takes)."""
    grid, drags, measured = list(shown), [], 0
    while measured < count:
        row = rng.randrange(7)
        cells = range(row * 7, row * 7 + 7)
        code = rng.choice([k for k in range(16) if all(grid[c] != k for c in cells)])
        n = min(7, count - measured)
        events = [["pointerdown" if i == 0 else "pointermove", *cell_centre(c)] for i, c in enumerate(cells[:n])]
        events.append(["pointerup", *cell_centre(cells[n - 1])])
        for c in cells[:n]:
            grid[c] = code
        drags.append((code, events))
        measured += n
    return drags


def bench_vq_view(results, target, settings):
    """The VQ-VAE view (issue 15): nothing of it loads before it is opened; opening it; and, with it open, drawing
    and painting codes onto its grid, each until its reconstruction is repainted (the same measures as the VAE
    story's, the panel's data-busy counted with the page's)."""
    page, p = target.page, target.prefix
    section = target.section(VQ_SECTION)
    if not page.query_selector("#vq-toggle"):
        results.note(f"{target.name}: no VQ-VAE view (#vq-toggle) on this page: its rows are not measured")
        return
    page.click("#clear-button")
    page.wait_for_selector("html[data-busy=false]", state="attached", timeout=SETTLE_TIMEOUT_MS)
    opened = page.evaluate(JS_VQ_OPEN, {"timeoutMs": READY_TIMEOUT_MS})
    files = [f for f in opened["files"] if VQ_FILES.search(f["name"])]
    results.add(section, p + "vq_open", "open the view: modules, codebook, both models, first picture", "ms",
                [opened["ms"]])  # fmt: skip
    results.add(section, p + "vq_bytes_open", "  bytes on the wire to open it", "MB",
                [sum(f["transfer"] for f in files) / MB], kind="size")  # fmt: skip
    results.add(section, p + "vq_files_open", "  files it fetched", "count", [len(files)], kind="count")
    if not opened["signal"]:  # an older revision (a baseline) is only noted; this checkout must say it
        why = "the VQ-VAE panel sets no data-busy, so its repaints cannot be timed"
        if target.name == "current":
            raise RuntimeError(why)
        results.note(f"{target.name}: {why}")
        return
    rng = random.Random(15)
    page.evaluate("() => document.getElementById('vq-reconstruction').scrollIntoView({ block: 'center' })")
    measured = page.evaluate(
        JS_MEASURE,
        {"targetId": "draw-canvas", "events": draw_events(settings["vq_draw"], rng), "timeoutMs": SETTLE_TIMEOUT_MS,
         "alsoId": "vq-panel"},
    )  # fmt: skip
    interaction_rows(results, target, section, "vq_draw", "drawing (pointerdown/move)", measured)
    painted = []
    page.evaluate("() => document.getElementById('vq-grid').scrollIntoView({ block: 'center' })")  # elementFromPoint
    shown = [int(k) for k in page.get_attribute("#vq-reconstruction", "data-codes").split(",")]
    for code, events in paint_drags(shown, settings["vq_paint"], rng):
        page.evaluate("(k) => document.querySelector(`[data-vq-code='${k}']`).click()", code)
        painted += page.evaluate(
            JS_MEASURE,
            {"targetId": "vq-grid", "events": events, "timeoutMs": SETTLE_TIMEOUT_MS, "press": True,
             "alsoId": "vq-panel"},
        )  # fmt: skip
    interaction_rows(results, target, section, "vq_paint", "painting codes on the grid (pointerdown/move)", painted)
    page.evaluate("() => document.getElementById('vq-reset').click()")
    page.click("#clear-button")
    page.wait_for_selector("#vq-panel[data-busy=false]", state="attached", timeout=SETTLE_TIMEOUT_MS)
    strokes = stroke_paths()[: settings["vq_strokes"]]  # whole strokes: this view's frames are slow, few per stroke
    label = f"VQ-VAE view open, strokes: {len(strokes)} × {STROKE_POINTS} pointer positions"
    strokes_rows(results, target, target.section(label), "vq_strokes", strokes, also="vq-panel")
    page.click("#vq-toggle")  # closed again: the phases after this one measure the page without it


def bench_in_page(results, page, settings):
    section = "core (Pyodide, in the page; ORT through the app's sessions)"
    repeat = max(3, settings["core_repeat"] // 2)
    labels = {
        "preprocess": "digit_input.preprocess (3 strokes, smoothed)",
        "grayscale": "decoder.grayscale_rgba (784 px)",
        "encode_hash": "state.encode_hash (current state)",
        "ort_encode": "Models.encode (ORT run + copies)",
        "ort_decode": "Models.decode, 1 z (ORT run + copies)",
        "render": "App.render (DOM writes, 2 putImageData)",
    }
    try:
        code = PY_IN_PAGE % {"four": repr(FOUR), "repeat": repeat}
        figures = json.loads(page.evaluate(JS_RUN_PY, code))
    except Exception as error:
        results.add(
            section,
            "page_preprocess",
            labels["preprocess"],
            "ms",
            [],
            why=f"Pyodide was unreachable from page.evaluate: {str(error).splitlines()[0][:200]}",
        )
        return
    for key, label in labels.items():
        if key in figures:
            results.add(section, f"page_{key}", label, "ms", figures[key])


# ---------------------------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description="Benchmark the VAE Explainer page and its pure core.")
    parser.add_argument("--quick", action="store_true", help="fewer runs and interactions (well under 2 minutes)")
    parser.add_argument("--check", action="store_true", help="every phase with a few inputs, figures not to be read")
    parser.add_argument("--runs", type=int, help="cold loads (each followed by warm reloads)")
    parser.add_argument(
        "--inputs", type=int, help="hovers and drawing moves each (a p95 of the quick mode's 30 moves a lot)"
    )
    parser.add_argument("--json", type=Path, default=REPO / "build" / "bench.json", help="where to write the JSON")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also bench REV (a git worktree under build/, served by its own serve.py) in the same run: loads "
        "interleaved with this checkout's, and each figure as a ratio current/baseline",
    )
    args = parser.parse_args(argv)
    mode = "check" if args.check else "quick" if args.quick else "full"
    settings = dict(MODES[mode])
    if args.runs is not None:
        if args.runs < 1:
            parser.error("--runs must be at least 1")
        settings["runs"] = args.runs
    if args.inputs is not None:
        if args.inputs < 1:
            parser.error("--inputs must be at least 1")
        settings["hover"] = settings["draw"] = args.inputs
    info = machine()
    header = (
        f"VAE Explainer benchmark ({mode}) · {info['cpu']}, {info['cores']} cores · {info['chromium']} · "
        f"Python {info['python']} · {info['date']}"
        + (f" · load avg {info['loadavg'][0]:.2f}" if info["loadavg"] else "")
    )
    print(header, flush=True)
    checkouts = {"current": {"root": str(REPO), **dict(zip(("sha", "subject", "dirty"), describe(), strict=True))}}
    current = Target("current", "", checkout_label("current", checkouts["current"]["sha"],
                     checkouts["current"]["subject"], checkouts["current"]["dirty"]))  # fmt: skip
    targets = [current]
    if args.baseline:
        root, sha = baseline_worktree(args.baseline)
        sha, subject, dirty = describe(root)
        checkouts["baseline"] = {"root": str(root), "rev": args.baseline, "sha": sha, "subject": subject,
                                 "dirty": dirty}  # fmt: skip
        targets.insert(0, Target("baseline", "baseline:", checkout_label("baseline", sha, subject, dirty)))
    floor = Target("floor", "floor:", "floor (tests/floor)", busy_signal=False)
    for target in targets:
        print(f"  {target.label}", flush=True)
    results = Results()
    started = time.perf_counter()

    print("core (CPython)…", flush=True)
    bench_core(results, settings["core_repeat"], settings["autorange"])

    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is missing: run `make setup` (it installs Debian's chromium)", file=sys.stderr)
        return 2
    errors = Errors()
    failures = []
    breakdowns, warm_breakdowns = {}, {}

    def phase(name, section, rows, fn, *fn_args):
        """Run one phase; if the page blocks it, say exactly how in the table (n/a rows) and carry on."""
        print(f"{name}…", flush=True)
        try:
            return fn(*fn_args)
        except Exception as error:
            why = f"{name} failed: {' '.join(str(error).split())[:400]}"
            failures.append(why)
            measured = {m["key"] for m in results.metrics}
            for key, label, unit in rows:
                if key not in measured:
                    results.add(section, key, label, unit, [], why=why)
            return None

    with contextlib.ExitStack() as stack:
        for target in targets:
            proc, target.url = start_checkout_server(checkouts[target.name]["root"])
            stack.callback(stop_server, proc)
        floor.url = stack.enter_context(floor_server())
        for target in targets:
            seconds, files = prime_server(target.url, checkouts[target.name]["root"])
            label = f"serve.py first requests: gzip {files} files once"
            results.add(target.section("server"), target.prefix + "server_gzip", label, "s", [seconds])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *BENCH_ARGS])
            try:
                colds = phase(
                    "loads" + (" (interleaved: " + ", ".join(t.name for t in targets) + ")" if len(targets) > 1
                               else ""),
                    "load (headless Chromium, serve.py on loopback)",
                    [(t.prefix + key, label, unit) for t in targets for key, label, unit in (
                        ("useful_paint", "first useful paint", "s"), ("ready", "load → interactive (data-ready)", "s"),
                        ("bytes_cold", "bytes on the wire (body + headers)", "MB"))],
                    bench_loads, results, browser, targets, settings, errors,
                )  # fmt: skip
                if colds:
                    for target in targets:
                        breakdowns[target.name] = breakdown(colds[target.name])
                        warm = results.details[target.prefix + "loads"]["warm"]
                        if warm:
                            warm_breakdowns[target.name] = breakdown(warm)
                floor_loaded = phase(
                    "floor page",
                    floor.section("load"),
                    [("floor:ready", "load → interactive (data-ready)", "s")],
                    bench_loads, results, browser, [floor], {**settings, "runs": 1, "warm": 0}, errors,
                )  # fmt: skip
                ready = [t for t in targets if t.page] + ([floor] if floor_loaded else [])
                for target in ready:
                    phase(
                        f"interactions ({target.name})",
                        target.section("interaction: input → reconstruction repainted"),
                        [(target.prefix + "hover", "latent hover (pointermove): total", "ms"),
                         (target.prefix + "draw", "drawing (pointerdown/move): total", "ms")],
                        bench_interactions, results, target, settings,
                    )  # fmt: skip
                for target in ready:
                    phase(
                        f"strokes ({target.name})",
                        target.section(strokes_section(settings["stroke_points"])),
                        [(target.prefix + "strokes_work", "per-frame work: handlers + work until idle", "ms")],
                        bench_strokes, results, target, settings,
                    )  # fmt: skip
                for target in ready:
                    if target is floor:
                        continue
                    phase(
                        f"VQ-VAE view ({target.name})",
                        target.section(VQ_SECTION),
                        [(target.prefix + "vq_draw", "drawing (pointerdown/move): total", "ms"),
                         (target.prefix + "vq_paint", "painting codes on the grid (pointerdown/move): total", "ms")],
                        bench_vq_view, results, target, settings,
                    )  # fmt: skip
                for target in ready:
                    if target is not current and target.context:
                        target.context.close()
                if current.page:
                    phase(
                        "memory",
                        f"memory over {settings['soak']:,} mixed interactions (after forced GC)",
                        [("js_heap_growth", "JS heap growth (usedJSHeapSize)", "MB")],
                        bench_memory, results, current.page, current.context, settings,
                    )  # fmt: skip
                    bench_in_page(results, current.page, settings)
                    phase(
                        "KL view",
                        "KL view: switch → repainted (loaded entries)",
                        [("kl_switch_epoch", "switch epoch (loaded)", "ms")],
                        bench_kl_view, results, current.page, settings,
                    )  # fmt: skip
                    current.context.close()
            finally:
                browser.close()
    if errors.items:
        results.note(f"{len(errors.items)} console/page errors, first: {errors.items[0]}")
    results.note(
        "interaction latency: PointerEvents dispatched from page.evaluate at a random phase of the frame; 'total' "
        "ends after the first frame painted once data-busy is false (rAF, then a posted task)"
    )
    results.note(
        f"strokes: {settings['stroke_points']} positions per stroke, one event due every {STROKE_PERIOD_MS:g} ms, "
        "those due dispatched together at each frame's rAF; per-frame work = their handlers + the work until "
        "data-busy=false"
    )
    results.note(f"finished in {time.perf_counter() - started:.0f} s")
    labels = {t.name: t.short for t in targets} | {"floor": "floor"}
    comp = comparisons(results, [*targets, floor] if floor.page else targets)
    print()
    print(table(results, header))
    print()
    print("checkouts:")
    for target in targets:
        print(f"  {target.label}")
    for cache, rows in (("cold", breakdowns), ("warm", warm_breakdowns)):
        if rows:
            print()
            print(breakdown_table(rows, labels, cache))
    text = comparison_text(comp, labels)
    if text:
        print()
        print(text)
    payload = {
        "machine": info,
        "mode": mode,
        "settings": settings,
        "checkouts": checkouts,
        "metrics": results.metrics,
        "breakdown": breakdowns,
        "breakdown_warm": warm_breakdowns,
        "comparison": comp,
        "notes": results.notes,
        "details": results.details,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {args.json}")
    for why in failures:
        print(f"error: {why}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
