"""`train`: "Train it yourself" measured in the page (issue 27, item 5), and its anchor, the same network trained with
TensorFlow.js on the same weights, batches and ε (tests/bench/tfjs.py), in the same run.

- Steps per second: the page as the learner runs it (Train: one step per animation frame, the map made every 0.4 s),
  the page's loop with nothing else (its Trainer awaited step after step), and TensorFlow.js on each backend that
  runs here, after a warm-up.
- Responsiveness: latent hovers (input → repainted) with the view open and idle, then while it trains, in the same
  page; drawing while it trains; and the long animation frames (over 50 ms, PerformanceObserver
  'long-animation-frame') in each of the two spans.
- What the README reports: how long, from Train, until the held-out map shows separated classes (leave-one-out
  10-NN accuracy of the map's 2,000 codes ≥ 0.5, training/live_runtime.knn_accuracy), and the held-out negative
  ELBO after 1 and 5 epochs at β = 1 (the page's weights, evaluated as training/live_runtime does).
"""

import base64
import json
import random
import time

import numpy as np

from page.state import AppState, encode_hash
from tests.bench.interactions import draw_events, hover_events
from tests.bench.page_js import JS_MEASURE, JS_RUN_PY
from tests.bench.settings import READY_TIMEOUT_MS, SETTLE_TIMEOUT_MS, VIEWPORT
from tests.bench.tfjs import BACKENDS, config, tfjs_server, train_tfjs
from train import loop
from training import live_runtime

SECTION = "train: Train it yourself (β = 1, learning rate 3e-3, seed 0, batch 64)"
SETTINGS = loop.Settings(seed=0, beta=1.0, learning_rate=3e-3)  # the page's defaults (page/state.py)

JS_LOAF = """() => {
  const loaf = globalThis.__benchLoaf = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) loaf.push({start: e.startTime, duration: e.duration});
  }).observe({type: 'long-animation-frame', buffered: false});
  return PerformanceObserver.supportedEntryTypes.includes('long-animation-frame');
}"""
JS_NOW = "() => [performance.now(), +document.getElementById('train-panel').dataset.step]"
JS_LOAF_BETWEEN = "([from, to]) => globalThis.__benchLoaf.filter((e) => e.start >= from && e.start < to)"

# The page's loop alone: `steps` steps awaited one after another, no frames, no map.
PY_LOOP = """
import json, time, __main__
t = __main__.app.on_demand['train'].trainer
start = time.perf_counter()
await t.train(%(steps)d)
json.dumps(%(steps)d / (time.perf_counter() - start))
"""
PY_MAP = """
import json, __main__
view = __main__.app.on_demand['train']
json.dumps([view.map_step, view.map_time, *(view.codes or ([], []))])
"""
PY_WEIGHTS = """
import base64, json, __main__
t = __main__.app.on_demand['train'].trainer
json.dumps([t.step, {n: base64.b64encode(t.state[n].data.to_py().tobytes()).decode() for n in t.names}])
"""
PY_TRAIN_TO = """
import __main__
t = __main__.app.on_demand['train'].trainer
await t.train(%(step)d - t.step)
"""


def open_view(browser, url):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(url + "#" + encode_hash(AppState(panels={"train"})))
    page.wait_for_selector("#train-panel[data-state='paused'][data-map-step='0']", state="attached",
                           timeout=READY_TIMEOUT_MS)  # fmt: skip
    page.wait_for_selector("html[data-busy=false]", state="attached", timeout=SETTLE_TIMEOUT_MS)
    return context, page


def measure(page, target, events):
    page.evaluate("() => document.getElementById('latent-plot').scrollIntoView({block: 'center'})")
    measured = page.evaluate(JS_MEASURE, {"targetId": target, "events": events, "timeoutMs": SETTLE_TIMEOUT_MS})
    return [m["total"] for m in measured if m is not None and m["started"]]


def long_frames(page, span):
    return page.evaluate(JS_LOAF_BETWEEN, span)


def bench_train(results, browser, url, settings):
    """Our page's rows, then TensorFlow.js's, then the README's figures (those need epochs: not in --check)."""
    context, page = open_view(browser, url)
    try:
        if not page.evaluate(JS_LOAF):
            results.note("train: this Chromium has no 'long-animation-frame' entries: long frames not counted")
        rng = random.Random(27)
        n = settings["train_hover"]
        start = page.evaluate(JS_NOW)
        idle = measure(page, "latent-plot", hover_events(n, rng))
        idle_draws = measure(page, "draw-canvas", draw_events(max(4, n // 2), rng))
        idle_span = [start[0], page.evaluate(JS_NOW)[0]]
        page.click("#train-run")
        page.wait_for_selector("#train-panel[data-state='training']", state="attached")
        started = page.evaluate(JS_NOW)
        hovers = measure(page, "latent-plot", hover_events(n, rng))
        draws = measure(page, "draw-canvas", draw_events(max(4, n // 2), rng))
        quiet = page.evaluate(JS_NOW)  # the steps per second without input (a frame that answers input skips its step)
        page.wait_for_timeout(settings["train_seconds"] * 1000)
        ended = page.evaluate(JS_NOW)
        page.click("#train-run")
        page.wait_for_selector("#train-panel[data-state='paused']", state="attached")
        rate = (ended[1] - quiet[1]) / (ended[0] - quiet[0]) * 1000
        loop_rate = json.loads(page.evaluate(JS_RUN_PY, PY_LOOP % {"steps": settings["train_loop_steps"]}))
        results.add(SECTION, "train_page_rate", "ours, the page training, no input (Train: a step a frame, the map)",
                    "steps/s", [rate], kind="count")  # fmt: skip
        results.add(SECTION, "train_loop_rate", "ours, the page's loop alone (Trainer.train, awaited)", "steps/s",
                    [loop_rate], kind="count")  # fmt: skip
        results.add(SECTION, "train_hover_idle", "latent hover → repainted, view open, idle", "ms", idle)
        results.add(SECTION, "train_hover", "latent hover → repainted, while training", "ms", hovers)
        results.add(SECTION, "train_draw_idle", "drawing → repainted, view open, idle", "ms", idle_draws)
        results.add(SECTION, "train_draw", "drawing → repainted, while training", "ms", draws)
        spans = (
            ("idle", idle_span, "idle (hovers, drawing)"),
            ("training", [started[0], quiet[0]], "while training (hovers, drawing)"),
            ("training_quiet", [quiet[0], ended[0]], "while training, no input"),
        )
        for key, span, label in spans:
            frames = long_frames(page, span)
            minutes = (span[1] - span[0]) / 60_000
            results.add(SECTION, f"train_loaf_{key}", f"long animation frames (> 50 ms) per minute, {label}",
                        "/min", [len(frames) / minutes], kind="count")  # fmt: skip
            if frames:
                results.add(SECTION, f"train_loaf_{key}_ms", "  their durations", "ms", [f["duration"] for f in frames])
        rates = bench_tfjs(results, browser, settings)
        if rates:
            fastest = max(rates, key=rates.get)
            results.note(
                f"train: ours {rate:.1f} steps/s in the page training ({loop_rate:.1f} for its loop alone); "
                f"TensorFlow.js's fastest backend here, {fastest}, {rates[fastest]:.1f} steps/s: ours / tfjs = "
                f"{rate / rates[fastest]:.2f} ({loop_rate / rates[fastest]:.2f} for the loop alone)"
            )
        if settings["train_epochs"]:
            readme_figures(results, page, settings["train_epochs"])
    finally:
        context.close()


def bench_tfjs(results, browser, settings):
    """Each backend's steps per second, after a warm-up (webgl compiles its shaders in the first steps)."""
    index, _, _ = live_runtime.load()
    rates = {}
    context = browser.new_context()
    try:
        page = context.new_page()
        with tfjs_server() as url:
            for backend in BACKENDS:
                cfg = config(index, SETTINGS, 3 + settings["train_tfjs_steps"], backend, warmup=3)
                try:
                    result = train_tfjs(page, url, cfg)
                except Exception as error:
                    why = f"{backend} did not train here: {' '.join(str(error).split())[:200]}"
                    results.add(SECTION, f"train_tfjs_{backend}", f"TensorFlow.js, {backend} backend", "steps/s", [],
                                why=why)  # fmt: skip
                    continue
                label = f"TensorFlow.js {result['version']}, {result['backend']} backend (variableGrads, Keras's Adam)"
                results.add(SECTION, f"train_tfjs_{backend}", label, "steps/s", [result["stepsPerSecond"]],
                            kind="count")  # fmt: skip
                rates[backend] = result["stepsPerSecond"]
    finally:
        context.close()
    return rates


def readme_figures(results, page, epochs):
    """From Reset, Train until the map's codes separate, timed from the press (up to `epochs`); then from Reset
    again, the page's loop alone to the end of epochs 1 and 5, where the weights are read out and evaluated in
    CPython as training/live_runtime evaluates its own."""
    index, data, runner = live_runtime.load()
    labels = np.frombuffer(data.test_labels, np.uint8)
    t = live_runtime.trainer(SETTINGS)
    reset(page)
    page.click("#train-run")
    begun = page.evaluate(JS_NOW)[0]
    separated, last_map, deadline = None, None, time.monotonic() + 900
    while separated is None and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        step, made, xs, ys = json.loads(page.evaluate(JS_RUN_PY, PY_MAP))
        if step == last_map or not xs:
            continue
        last_map = step
        if live_runtime.knn_accuracy(np.column_stack([xs, ys]), labels) >= 0.5:
            separated = (made - begun) / 1000, step
        elif step >= epochs * t.steps_per_epoch:
            break
    page.click("#train-run")
    page.wait_for_selector("#train-panel[data-state='paused']", state="attached")
    if separated:
        label = f"Train → the map separates (10-NN ≥ 0.5; step {separated[1]})"
        results.add(SECTION, "train_separated_s", label, "s", [separated[0]])
    else:
        results.add(SECTION, "train_separated_s", "Train → the map separates", "s", [],
                    why=f"not within {epochs} epochs")  # fmt: skip
    reset(page)
    shapes = {p["name"]: p["shape"] for p in index["parameters"]}
    for epoch in (1, 5):
        if epoch > epochs:
            break
        page.evaluate(JS_RUN_PY, PY_TRAIN_TO % {"step": epoch * t.steps_per_epoch})
        step, weights = json.loads(page.evaluate(JS_RUN_PY, PY_WEIGHTS))
        t.state = {n: runner.tensor("float32", shapes[n], base64.b64decode(w)) for n, w in weights.items()}
        bce, kl = live_runtime.test_negative_elbo(t)
        results.add(SECTION, f"train_elbo_epoch{epoch}", f"held-out negative ELBO after {epoch} epoch(s) (step {step})",
                    "nats", [bce + kl], kind="count")  # fmt: skip


def reset(page):
    page.click("#train-reset")
    page.wait_for_selector("#train-panel[data-state='paused'][data-step='0'][data-map-step='0']", state="attached",
                           timeout=READY_TIMEOUT_MS)  # fmt: skip


def main():
    """`python -m tests.bench.train`: this section alone, at the full bench's settings."""
    from playwright.sync_api import sync_playwright

    from tests.bench.results import Results, machine, table
    from tests.bench.settings import BENCH_ARGS, MODES
    from tests.bench.targets import start_checkout_server
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS, REPO, stop_server

    info, results = machine(), Results()
    proc, url = start_checkout_server(str(REPO))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *BENCH_ARGS])
            try:
                bench_train(results, browser, url, MODES["full"])
            finally:
                browser.close()
    finally:
        stop_server(proc)
    print(table(results, f"train section · {info['cpu']}, {info['cores']} cores · {info['chromium']} · load avg "
                         f"{info['loadavg'][0]:.2f}"))  # fmt: skip


if __name__ == "__main__":
    main()
