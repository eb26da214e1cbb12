"""The views opened on demand (the KL evidence, the VQ-VAE) timed from the click to the repaint, and the core's
hot paths inside Pyodide on the page itself."""

import json
import random

from tests.bench.interactions import draw_events, interaction_rows, stroke_paths, strokes_rows
from tests.bench.page_js import JS_HELPERS, JS_MEASURE, JS_RUN_PY, PY_IN_PAGE
from tests.bench.settings import FOUR, MB, READY_TIMEOUT_MS, SETTLE_TIMEOUT_MS, STROKE_POINTS, VQ_FILES, VQ_SECTION
from tests.conftest import REPO

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
