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
// Ink before Python: a stroke drawn while Python starts is inked at once, with the page's pen (prerender.py writes
// its width and the canvas's units on the canvas), and kept; drawing_view takes the strokes over when Python binds
// its own handlers, the stroke in progress included. Points are fractions of the canvas's box, as Python's are.
globalThis.vaeEarlyInk = (() => {
  const canvas = document.getElementById("draw-canvas");
  const strokes = [];
  let pointer, last, pen;
  const at = (event) => {
    const rect = canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) / rect.width, (event.clientY - rect.top) / rect.height];
  };
  const line = (from, to) => {
    pen.beginPath();
    pen.moveTo(from[0] * canvas.width, from[1] * canvas.height);
    pen.lineTo(to[0] * canvas.width, to[1] * canvas.height);
    pen.stroke();
  };
  const down = (event) => {
    if (!event.isPrimary || pointer !== undefined) return;
    event.preventDefault();
    if (!pen) { // the first stroke replaces the preset shown, as in Python (AppState.begin_stroke)
      document.getElementById("draw-placeholder")?.remove();
      pen = canvas.getContext("2d", { willReadFrequently: true }); // the options Python asks for (App.canvas)
      pen.fillStyle = "#fff";
      pen.fillRect(0, 0, canvas.width, canvas.height);
      pen.lineCap = pen.lineJoin = "round";
      pen.lineWidth = (Number(canvas.dataset.pen) / Number(canvas.dataset.units)) * canvas.width;
      pen.strokeStyle = "#111";
    }
    pointer = event.pointerId;
    canvas.setPointerCapture(pointer);
    last = at(event);
    strokes.push([...last]);
    line(last, [last[0] + 1e-5, last[1]]); // a dot, for a tap (a zero-length line may draw nothing)
  };
  const move = (event) => {
    if (event.pointerId !== pointer) return;
    const point = at(event);
    line(last, point);
    strokes.at(-1).push(...point);
    last = point;
  };
  const up = (event) => {
    if (event.pointerId === pointer) pointer = undefined;
  };
  const handlers = { pointerdown: down, pointermove: move, pointerup: up, pointercancel: up };
  for (const [name, handler] of Object.entries(handlers)) canvas.addEventListener(name, handler);
  performance.mark("vae:ink-ready"); // the bench's "strokes inked from"
  return {
    take() {
      for (const [name, handler] of Object.entries(handlers)) canvas.removeEventListener(name, handler);
      return { strokes, pointer };
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
// standard-library module the snapshot lacks loads the full stdlib (pysrc/snapshot.py, web/pyodide-loader.mjs).
const AFTER_RESTORE = `
import js
import snapshot as _snapshot
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
