"""The JavaScript the benchmark runs in the page: one init script that only observes the load, and functions for
page.evaluate() that dispatch real DOM events and time them, read memory and trace PyProxies."""

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
  // One input's figures, from t0 (its dispatch) and `handled` (its handlers done): the work until data-busy="false"
  // and the wait until the next frame has been rendered (rAF, then a posted task), counting the animation frames
  // begun meanwhile (1 = the very next frame).
  const repainted = async (t0, handled, started, timeoutMs, what, also) => {
    let frames = 0, counting = true;
    const count = () => {
      if (!counting) return;
      frames++;
      requestAnimationFrame(count);
    };
    requestAnimationFrame(count);
    const idleAt = await idle(timeoutMs, what, also);
    const paintAt = await afterFrame();
    counting = false;
    return { started, total: paintAt - t0, handler: handled - t0, work: idleAt - handled, present: paintAt - idleAt,
             frames };
  };
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
    out.push(await repainted(t0, handled, started, timeoutMs, `a ${type} on #${targetId}`, also));
  }
  return out;
}"""
)

# The same measurement for input from outside the page (a driver's real pointer, as puppeteer's mouse over WebDriver
# BiDi): JS_ARM waits until the page is idle, then a random phase of the frame, and listens for the next pointermove
# on window, first (capture: t0, its dispatch) and last (bubbling: its handlers done); the driver then moves the
# pointer, and JS_ARMED returns that event's figures as JS_MEASURE's, plus `queued`: from the event's creation to
# its dispatch. A real event runs microtasks after each listener, so the page's work can start and even end
# before the bubbling listener: "handler" then includes it, and whether it set data-busy="true" is read from a
# MutationObserver (called before the page's own microtasks, queued after the attribute was set).
JS_ARM = (
    """async ({ targetId, timeoutMs }) => {"""
    + JS_HELPERS
    + """
  await idle(timeoutMs, 'the previous event', null, true);
  await afterFrame();
  await sleep(Math.random() * 16.7);
  globalThis[Symbol.for('vae-bench-input')] = new Promise((resolve, reject) => {
    let t0 = null, busied = false;
    const timer = setTimeout(() => reject(new Error(`no pointermove reached #${targetId} in ${timeoutMs} ms`)),
                             timeoutMs);
    const watch = new MutationObserver((records) => {
      busied ||= busyOf(root) || records.some((r) => r.oldValue === 'true');
    });
    watch.observe(root, { attributes: true, attributeFilter: ['data-busy'], attributeOldValue: true });
    const first = () => { t0 = performance.now(); };
    const last = (event) => {
      const handled = performance.now();
      clearTimeout(timer);
      watch.disconnect();
      if (!document.getElementById(targetId).contains(event.target)) {
        reject(new Error(`the pointer moved onto ${event.target.tagName}#${event.target.id}, not #${targetId}`));
        return;
      }
      const started = busied || busyOf(root);
      repainted(t0, handled, started, timeoutMs, `a pointermove on #${targetId}`, null).then(
        (figures) => resolve({ ...figures, queued: t0 - event.timeStamp }), reject);
    };
    window.addEventListener('pointermove', first, { capture: true, once: true });
    window.addEventListener('pointermove', last, { once: true });
  });
}"""
)
JS_ARMED = """async () => await globalThis[Symbol.for('vae-bench-input')]"""

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
