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
import json
import math
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
import timeit
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, REPO, start_server, stop_server

sys.path.insert(0, str(REPO / "pysrc"))  # tests.conftest does this too; explicit for `python -m tests.bench`

import artifacts
import decoder
import digit_input
import latent_plot
import state

BENCH_ARGS = ["--enable-precise-memory-info", "--js-flags=--expose-gc"]
VIEWPORT = {"width": 1300, "height": 950}
READY_TIMEOUT_MS = 120_000
SETTLE_TIMEOUT_MS = 10_000
MB = 1e6

# Settings per mode. A "cold run" is one load in a fresh browser context, followed by `warm` reloads.
MODES = {
    "quick": {"runs": 2, "warm": 1, "hover": 30, "draw": 30, "soak": 300, "trace": 40, "core_repeat": 5},
    "full": {"runs": 5, "warm": 2, "hover": 200, "draw": 200, "soak": 5000, "trace": 400, "core_repeat": 20},
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
}

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
            "kind": kind,  # time | size | count | delta
            "n": len(samples),
            "median": statistics.median(samples) if samples else None,
            "p95": percentile(samples, 95) if samples else None,
            "max": max(samples) if samples else None,
            "samples": samples,
            "target": None,
            "meets_target": None,
            "unavailable": why if not samples else None,
        }
        target = TARGETS.get(key)
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
# The pure core in CPython (timeit)


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


def bench_core(results, repeat):
    for key, label, fn in core_cases():
        timer = timeit.Timer(fn)
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
  const idle = (timeoutMs, what) => new Promise((resolve, reject) => {
    if (root.dataset.busy === 'false') { resolve(performance.now()); return; }
    const observer = new MutationObserver(() => {
      if (root.dataset.busy === 'false') { observer.disconnect(); clearTimeout(timer); resolve(performance.now()); }
    });
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`data-busy was still "${root.dataset.busy}" ${timeoutMs} ms after ${what}`));
    }, timeoutMs);
    observer.observe(root, { attributes: true, attributeFilter: ['data-busy'] });
  });
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
    """async ({ targetId, events, timeoutMs }) => {"""
    + JS_HELPERS
    + """
  const target = document.getElementById(targetId);
  const out = [];
  for (const [type, fx, fy] of events) {
    await idle(timeoutMs, 'the previous event');
    await afterFrame();
    await sleep(Math.random() * 16.7);
    const buttons = type !== 'pointerup' && targetId === 'draw-canvas' ? 1 : 0;
    const event = pointer(type, target, fx, fy, buttons);
    const t0 = performance.now();
    target.dispatchEvent(event);
    const handled = performance.now();
    const started = root.dataset.busy === 'true';
    if (type === 'pointerup') { out.push(null); continue; }
    let frames = 0, counting = true;
    const count = () => {
      if (!counting) return;
      frames++;
      requestAnimationFrame(count);
    };
    requestAnimationFrame(count);
    const idleAt = await idle(timeoutMs, `a ${type} on #${targetId}`);
    const paintAt = await afterFrame();
    counting = false;
    out.push({ started, total: paintAt - t0, handler: handled - t0, work: idleAt - handled,
               present: paintAt - idleAt, frames });
  }
  return out;
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
import decoder, digit_input, state

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


def prime_server(base_url):
    """Ask serve.py for every compressible file once, gzipped, so its per-process gzip cache is warm.

    Returns (seconds it took, files): the one-off cost the first visitor after a server start pays on top.
    """
    sys.path.insert(0, str(REPO))
    import serve  # the site map, from the repository root

    urls = [url for url, path in serve.site_map(REPO).files.items() if path.suffix in serve.COMPRESSIBLE]

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


def bench_loads(results, browser, url, settings, errors):
    """Cold loads (fresh context each) and warm reloads (same context): milestones and bytes on the wire."""
    cold, warm = [], []
    cold_bytes, warm_bytes, cold_requests = [], [], []
    per_url_cold, twice = None, set()
    last = None
    for run in range(settings["runs"]):
        if last:
            last[0].close()
        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(script=JS_LOAD_INIT)
        page = context.new_page()
        errors.watch(page)
        finished = []
        page.on("requestfinished", lambda request, into=finished: into.append(request))
        cold.append(load(page, lambda p=page: p.goto(url, wait_until="commit"), errors))
        page.wait_for_timeout(300)  # stragglers (late requests) finish and are counted
        total, per_url, fetched = wire_bytes(finished)
        cold_bytes.append(total)
        cold_requests.append(len(finished))
        per_url_cold = per_url_cold or per_url
        twice.update(path for path, n in fetched.items() if n > 1)
        for _ in range(settings["warm"]):
            finished.clear()
            warm.append(load(page, lambda p=page: p.reload(wait_until="commit"), errors))
            page.wait_for_timeout(300)
            warm_bytes.append(wire_bytes(finished)[0])
        marks = cold[-1]["marks"]
        print(
            f"  load {run + 1}/{settings['runs']}: cold useful {marks['useful paint'] / 1e3:.2f} s, "
            f"ready {marks['data-ready'] / 1e3:.2f} s"
            + (f"; warm ready {warm[-1]['marks']['data-ready'] / 1e3:.2f} s" if warm else ""),
            flush=True,
        )
        last = (context, page)

    section = "load (headless Chromium, serve.py on loopback)"
    for key, label, mark in (
        ("useful_paint", "first useful paint (map + preset + reconstruction)", "useful paint"),
        ("ready", "load → interactive (data-ready)", "data-ready"),
    ):
        for records, cache in ((cold, "cold"), (warm, "warm")):
            if records:
                results.add(section, key, label, "s", [r["marks"][mark] for r in records], cache, scale=1e-3)
    results.add(section, "bytes_cold", "bytes on the wire (body + headers)", "MB", cold_bytes, "cold", "size", 1 / MB)
    if warm_bytes:
        results.add(
            section, "bytes_warm", "bytes on the wire (body + headers)", "MB", warm_bytes, "warm", "size", 1 / MB
        )
    results.add(section, "requests_cold", "requests", "count", cold_requests, "cold", "count")

    # Where the cold load's time goes: every milestone seen in all cold runs, plus when the big files arrived.
    ms = "load milestones (ms after navigation start, cold)"
    rows = {}
    for name in cold[0]["marks"]:
        if name not in ("useful paint", "data-ready") and all(name in r["marks"] for r in cold):
            rows[name] = [r["marks"][name] for r in cold]
    for path in KEY_RESOURCES:
        ends = [next((e["end"] for e in r["resources"] if e["name"] == path), None) for r in cold]
        if all(v is not None for v in ends):
            rows[f"{path.rsplit('/', 1)[-1]} downloaded"] = ends
    for name, values in sorted(rows.items(), key=lambda kv: statistics.median(kv[1])):
        results.add(ms, f"mark:{name}", name, "ms", values, "cold")

    blocked = [long_frames(r) for r in cold]
    if all(b is not None for b in blocked):
        results.add(
            ms, "long_frames", "main thread in long animation frames (sum)", "ms", [b[0] for b in blocked], "cold"
        )
        top = ", ".join(f"{name} {t:.0f} ms" for name, t in blocked[0][1][:4])
        results.note(f"cold load, longest script work in long animation frames before data-ready: {top}")

    for records, cache in ((cold, "cold"), (warm, "warm")):
        for r in records:
            lost = [f for f in r["flips"] if not f["useful"] and f["t"] > r["marks"].get("useful (in the DOM)", 1e18)]
            if lost:
                f = lost[0]
                missing = [k for k in ("map", "digit", "recon") if not f[k]]
                back = next((g["t"] for g in r["flips"] if g["useful"] and g["t"] > f["t"]), None)
                results.note(
                    f"{cache} load: the useful first view disappeared at {f['t']:.0f} ms (missing: "
                    f"{', '.join(missing)}) and came back at {back:.0f} ms"
                    if back
                    else f"{cache} load: the useful first view disappeared at {f['t']:.0f} ms and never came back"
                )
                break
    if twice:
        results.note(f"fetched more than once in one cold load: {', '.join(sorted(twice))}")
    top = sorted(per_url_cold.items(), key=lambda kv: -kv[1])[:5]
    results.note("largest cold transfers: " + ", ".join(f"{path} {n / MB:.2f} MB" for path, n in top))
    results.details["loads"] = {"cold": cold, "warm": warm}
    results.details["bytes_per_url_cold"] = dict(sorted(per_url_cold.items(), key=lambda kv: -kv[1]))
    return last


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


def bench_interactions(results, page, settings):
    section = "interaction: input → reconstruction repainted"
    rng = random.Random(20240601)
    page.wait_for_selector("html[data-busy=false]", state="attached", timeout=SETTLE_TIMEOUT_MS)
    covered = page.evaluate(JS_PLACEHOLDERS)
    if covered:
        results.note(
            "after data-ready the prerendered placeholder images still cover the live canvases "
            f"({', '.join('#' + c for c in covered)}): the repaints measured below are drawn under them"
        )
    results.details["placeholders_shown_after_ready"] = covered
    plans = (
        ("hover", "latent-plot", hover_events(settings["hover"], rng), "latent hover (pointermove)"),
        ("draw", "draw-canvas", draw_events(settings["draw"], rng), "drawing (pointerdown/move)"),
    )
    parts = (
        ("handler", "event handler (sync, in dispatch)"),
        ("work", "work after the handler until data-busy=false"),
        ("present", "until that result's frame is rendered"),
    )
    # The very first input after data-ready pays one-off costs (code still warming up): shown on its own row,
    # then a few unmeasured hovers, so the rows below describe the steady state.
    first = page.evaluate(
        JS_MEASURE, {"targetId": "latent-plot", "events": hover_events(1, rng), "timeoutMs": SETTLE_TIMEOUT_MS}
    )[0]
    results.add(section, "first_hover", "first hover after data-ready: total", "ms", [first["total"]])
    page.evaluate(
        JS_MEASURE, {"targetId": "latent-plot", "events": hover_events(5, rng), "timeoutMs": SETTLE_TIMEOUT_MS}
    )
    for key, target, events, label in plans:
        if key == "draw":
            page.click("#clear-button")
            page.wait_for_selector("html[data-busy=false]", state="attached", timeout=SETTLE_TIMEOUT_MS)
        measured = page.evaluate(JS_MEASURE, {"targetId": target, "events": events, "timeoutMs": SETTLE_TIMEOUT_MS})
        measured = [m for m in measured if m is not None]
        idle = [m for m in measured if not m["started"]]
        if idle:
            results.note(f"{len(idle)} of {len(measured)} {key} events did not set data-busy=true (no frame ran)")
        done = [m for m in measured if m["started"]]
        results.add(section, key, f"{label}: total", "ms", [m["total"] for m in done])
        for part, part_label in parts:
            results.add(section, f"{key}_{part}", f"  of which: {part_label}", "ms", [m[part] for m in done])
        label = "  frames begun until repainted (1 = the next frame)"
        results.add(section, f"{key}_frames", label, "ratio", [m["frames"] for m in done], kind="count")
        results.details[f"interaction_{key}"] = done


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
    parser.add_argument("--runs", type=int, help="cold loads (each followed by warm reloads)")
    parser.add_argument("--json", type=Path, default=REPO / "build" / "bench.json", help="where to write the JSON")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    settings = dict(MODES[mode])
    if args.runs is not None:
        if args.runs < 1:
            parser.error("--runs must be at least 1")
        settings["runs"] = args.runs
    info = machine()
    header = (
        f"VAE Explainer benchmark ({mode}) · {info['cpu']}, {info['cores']} cores · {info['chromium']} · "
        f"Python {info['python']} · {info['date']}"
        + (f" · load avg {info['loadavg'][0]:.2f}" if info["loadavg"] else "")
    )
    print(header, flush=True)
    results = Results()
    started = time.perf_counter()

    print("core (CPython)…", flush=True)
    bench_core(results, settings["core_repeat"])

    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is missing: run `make setup` (it installs Debian's chromium)", file=sys.stderr)
        return 2
    proc, url = start_server()
    errors = Errors()
    failures = []

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

    try:
        seconds, files = prime_server(url)
        results.add("server", "server_gzip", f"serve.py first requests: gzip {files} files once", "s", [seconds])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *BENCH_ARGS])
            try:
                loaded = phase(
                    "loads",
                    "load (headless Chromium, serve.py on loopback)",
                    [("useful_paint", "first useful paint", "s"), ("ready", "load → interactive (data-ready)", "s"),
                     ("bytes_cold", "bytes on the wire (body + headers)", "MB")],
                    bench_loads, results, browser, url, settings, errors,
                )  # fmt: skip
                if loaded:
                    context, page = loaded
                    phase(
                        "interactions",
                        "interaction: input → reconstruction repainted",
                        [("hover", "latent hover (pointermove): total", "ms"),
                         ("draw", "drawing (pointerdown/move): total", "ms")],
                        bench_interactions, results, page, settings,
                    )  # fmt: skip
                    phase(
                        "memory",
                        f"memory over {settings['soak']:,} mixed interactions (after forced GC)",
                        [("js_heap_growth", "JS heap growth (usedJSHeapSize)", "MB")],
                        bench_memory, results, page, context, settings,
                    )  # fmt: skip
                    bench_in_page(results, page, settings)
                    context.close()
            finally:
                browser.close()
    finally:
        stop_server(proc)
    if errors.items:
        results.note(f"{len(errors.items)} console/page errors, first: {errors.items[0]}")
    results.note(
        "interaction latency: PointerEvents dispatched from page.evaluate at a random phase of the frame; 'total' "
        "ends after the first frame painted once data-busy is false (rAF, then a posted task)"
    )
    results.note(f"finished in {time.perf_counter() - started:.0f} s")
    print()
    print(table(results, header))
    payload = {
        "machine": info,
        "mode": mode,
        "settings": settings,
        "metrics": results.metrics,
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
