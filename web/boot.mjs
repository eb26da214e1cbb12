// The page's start. Python starts first, from its snapshot (pyodide-loader.mjs, the interpreter PyScript will
// ask for), then PyScript; if the Python runtime itself cannot load (a missing vendored file, say), Python
// cannot report it, so this watchdog names what failed instead of spinning. It also starts onnxruntime-web
// (a 14 MB wasm compile) and the two model sessions while Python starts, so they are ready when main.py runs;
// the Python adapter checks the results and reports any failure itself.
import("./pyodide-loader.mjs").catch(() => {}); // a failure is named by the watchdog and by PyScript's call

const ortModule = import("./vendor/ort/ort.wasm.min.mjs").then((ort) => {
  ort.env.wasm.wasmPaths = new URL("./vendor/ort/", location.href).href;
  ort.env.wasm.numThreads = 1;
  return ort;
});

async function session(path) {
  // undefined, not null: Pyodide turns undefined into None (null would arrive as a JsNull object).
  const result = { path, session: undefined, status: undefined, size: undefined, error: undefined };
  let response;
  try {
    response = await fetch(path);
  } catch (error) {
    return { ...result, error: `could not be fetched (${error.message})` };
  }
  if (!response.ok) return { ...result, status: response.status };
  const bytes = new Uint8Array(await response.arrayBuffer());
  let ort;
  try {
    ort = await ortModule;
  } catch (error) {
    return { ...result, error: `no onnxruntime-web backend: ${error.message}` };
  }
  try {
    return { ...result, session: await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] }) };
  } catch (error) {
    return { ...result, size: bytes.length, error: String((error && error.message) || error).split("\n")[0] };
  }
}

ortModule.catch(() => {}); // reported by Python, with the file's name, not as an unhandled rejection
globalThis.vaeWarmStart = {
  ort: ortModule,
  encoder: session("models/encoder.onnx"),
  decoder: session("models/decoder.onnx"),
};
// Input before Python: strokes, Clear, Undo and the presets answer from the first paint. This shows each at once
// (with the page's pen, and each preset's image, which prerender.py writes into the page) and keeps them, in order;
// drawing_view replays them into the app's state when Python binds its own handlers, the stroke in progress
// included, so nothing done while Python starts is lost. Places are fractions of the canvas's box, as Python's are.
globalThis.vaeEarlyInput = (() => {
  const canvas = document.getElementById("draw-canvas");
  const digit = document.getElementById("draw-placeholder"); // a preset's image, over the canvas until Python paints
  const buttons = [...document.querySelectorAll("button[data-preset]")];
  const [clear, undo] = ["clear-button", "undo-button"].map((id) => document.getElementById(id));
  const actions = []; // ["stroke", [x0, y0, x1, y1, …]], ["clear"], ["undo"], ["preset", n]: what Python replays
  const history = []; // the drawings shown before each change, as AppState's undo stack keeps them
  let shown = { preset: Number(digit.dataset.digit), strokes: [] };
  let pointer, pen;
  const at = (event) => {
    const rect = canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) / rect.width, (event.clientY - rect.top) / rect.height];
  };
  const line = (x0, y0, x1, y1) => {
    pen.beginPath();
    pen.moveTo(x0 * canvas.width, y0 * canvas.height);
    pen.lineTo(x1 * canvas.width, y1 * canvas.height);
    pen.stroke();
  };
  const paint = () => {
    for (const button of buttons) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.preset) === shown.preset));
    }
    digit.hidden = shown.preset === null;
    document.documentElement.dataset.empty = String(shown.preset === null && shown.strokes.length === 0);
    if (!digit.hidden) {
      digit.src = buttons.find((button) => Number(button.dataset.preset) === shown.preset).dataset.image;
      return;
    }
    pen ??= canvas.getContext("2d", { willReadFrequently: true }); // the options Python asks for (App.canvas)
    pen.fillStyle = "#fff";
    pen.fillRect(0, 0, canvas.width, canvas.height);
    pen.lineCap = pen.lineJoin = "round";
    pen.lineWidth = (Number(canvas.dataset.pen) / Number(canvas.dataset.units)) * canvas.width;
    pen.strokeStyle = "#111";
    for (const stroke of shown.strokes) {
      line(stroke[0], stroke[1], stroke[0] + 1e-5, stroke[1]); // a dot, for a tap (a zero-length line draws nothing)
      for (let i = 2; i < stroke.length; i += 2) line(stroke[i - 2], stroke[i - 1], stroke[i], stroke[i + 1]);
    }
  };
  const change = (action, next) => {
    actions.push(action);
    history.push(shown);
    shown = next;
    paint();
  };
  const handlers = [
    [canvas, "pointerdown", (event) => {
      if (!event.isPrimary || pointer !== undefined) return;
      event.preventDefault();
      pointer = event.pointerId;
      canvas.setPointerCapture(pointer);
      const stroke = at(event);
      change(["stroke", stroke], { preset: null, strokes: [...shown.strokes, stroke] });
    }],
    [canvas, "pointermove", (event) => {
      const stroke = shown.strokes.at(-1);
      if (event.pointerId !== pointer || !stroke) return;
      const [x, y] = at(event);
      line(stroke.at(-2), stroke.at(-1), x, y); // only the new piece, as Python draws a stroke in progress
      stroke.push(x, y);
    }],
    ...["pointerup", "pointercancel"].map((name) => [canvas, name, (event) => {
      if (event.pointerId === pointer) pointer = undefined;
    }]),
    [clear, "click", () => change(["clear"], { preset: null, strokes: [] })],
    [undo, "click", () => {
      if (!history.length) return;
      actions.push(["undo"]);
      shown = history.pop();
      paint();
    }],
    ...buttons.map((button) => [button, "click", () => {
      const preset = Number(button.dataset.preset);
      change(["preset", preset], { preset, strokes: [] });
    }]),
  ];
  for (const [target, name, handler] of handlers) target.addEventListener(name, handler);
  performance.mark("vae:early-input"); // the bench's "input answered from"
  return {
    take() {
      for (const [target, name, handler] of handlers) target.removeEventListener(name, handler);
      return { actions, pointer };
    },
  };
})();

const stage = document.querySelector('#loading [data-stage="runtime"]');
const message = document.getElementById("message");

const VENDOR_HINT = "Run `make serve`, which vendors the runtime.";
const isRuntimeFile = (path) => path.includes("/vendor/pyodide/") || path.includes("/vendor/pyscript/");
let namedFile = false; // a message naming the file that failed outranks the generic errors that follow it

function fail(text, namesFile = false) {
  if (document.documentElement.dataset.ready === "true" || (namedFile && !namesFile)) return;
  namedFile ||= namesFile;
  stage.dataset.status = "failed";
  message.hidden = false;
  message.className = "message error";
  message.textContent = text;
}

addEventListener("error", (event) => {
  const url = event.target && (event.target.src || event.target.href);
  if (url) fail(`Could not load ${new URL(url).pathname}: the file is missing or broken. ${VENDOR_HINT}`, true);
  else if (!document.documentElement.dataset.pyStarted) fail(`The Python runtime failed to start: ${event.message}`);
}, true);

addEventListener("unhandledrejection", (event) => {
  const text = String(event.reason && (event.reason.message || event.reason));
  fail(`The Python runtime failed to start: ${text}`);
});

// Pyodide fetches its own files; a missing one surfaces later as a parse error or an exit(1), or not at all.
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const path = new URL(entry.name).pathname;
    if (entry.responseStatus >= 400 && isRuntimeFile(path)) {
      fail(`Could not load ${path} (HTTP ${entry.responseStatus}). ${VENDOR_HINT}`, true);
    }
  }
}).observe({ type: "resource", buffered: true });

// Pyodide only logs a warning when its wasm fails to compile and then waits forever: name the file at once.
// Other wasm (onnxruntime-web's) is Python's to report.
const instantiateStreaming = WebAssembly.instantiateStreaming;
WebAssembly.instantiateStreaming = async (source, imports) => {
  try {
    const result = await instantiateStreaming(source, imports);
    const response = await source;
    if (isRuntimeFile(new URL(response.url).pathname)) performance.mark("vae:wasm-ready");
    return result;
  } catch (error) {
    const response = await Promise.resolve(source).catch(() => null);
    const path = response && new URL(response.url).pathname;
    if (response && response.ok && isRuntimeFile(path)) {
      fail(`Could not load ${path} (not valid WebAssembly: ${error.message}). ${VENDOR_HINT}`, true);
    }
    throw error;
  }
};

// Before main.py: a core module changed since the snapshot was made is read from its file instead, and a
// standard-library module the snapshot lacks loads the full stdlib (pysrc/page/snapshot.py, web/pyodide-loader.mjs).
const AFTER_RESTORE = `
import js
from page import snapshot as _snapshot
_snapshot.after_restore(lambda: js.vaeFullStdlib().to_bytes(), lambda text: js.console.warn(f"VAE Explainer: {text}."))
del js, _snapshot
`;

setTimeout(() => {
  if (!document.documentElement.dataset.pyStarted) fail("The Python runtime did not start within 60 s. The browser console names the file that failed.");
}, 60000);

try {
  const { hooks } = await import("./vendor/pyscript/core.js");
  // PyScript serialises its worker hooks with Function(), which the page's Content-Security-Policy (no
  // 'unsafe-eval') forbids. The app runs on the main thread and starts no worker, so those hooks are unused.
  for (const name of ["onReady", "onBeforeRun", "onBeforeRunAsync", "onAfterRun", "onAfterRunAsync"]) {
    hooks.worker[name].clear();
  }
  hooks.main.onBeforeRunAsync.add(() => performance.mark("vae:pyscript-ready"));
  hooks.main.codeBeforeRunAsync.add(AFTER_RESTORE);
} catch (error) {
  fail(`Could not load the PyScript runtime (/vendor/pyscript/core.js): ${error.message}. ${VENDOR_HINT}`, true);
}
