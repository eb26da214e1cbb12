// The interpreter module pyscript.json names. Python starts here as soon as boot.mjs imports this module, at
// the top of the page, and PyScript's later call of loadPyodide() gets that same interpreter.
//
// It starts from the memory snapshot serve.py made (snapshot/python.bin): the interpreter already started, with
// the standard library the page uses and the pure core imported. That replaces about 2 s of one main-thread
// task. A snapshot that is missing, corrupt or from another Pyodide build is not used: Python then starts as
// usual, with one console note, and the page works the same, only later.
import { loadPyodide as loadRuntime, version } from "./vendor/pyodide/pyodide.mjs";

export { version };

const here = (path) => new URL(path, import.meta.url).href;
const indexURL = here("./vendor/pyodide/");
const SNAPSHOT = "snapshot/python.bin";
const STDLIB = "snapshot/python_stdlib.zip"; // empty: the snapshot holds the stdlib modules the page uses

async function fetchSnapshot() {
  const response = await fetch(here(SNAPSHOT));
  if (!response.ok) throw new Error(`${SNAPSHOT}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const packed = bytes.subarray(0, bytes.length - 32); // then its SHA-256, written by snapshot.mjs
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", packed));
  if (packed.length < 8 || digest.some((byte, i) => byte !== bytes[packed.length + i])) {
    throw new Error(`${SNAPSHOT}: its checksum does not match: the file is truncated or corrupt`);
  }
  return unpack(packed);
}

// The memory image with its long runs of zero bytes put back (snapshot.mjs lists them in the header).
function unpack(packed) {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const [length, count] = [view.getUint32(0, true), view.getUint32(4, true)];
  const image = new Uint8Array(length);
  let from = 8 + 8 * count;
  let to = 0;
  for (let k = 0; k <= count; k++) {
    const offset = k < count ? view.getUint32(8 + 8 * k, true) : length;
    image.set(packed.subarray(from, from + offset - to), to);
    from += offset - to;
    to = k < count ? offset + view.getUint32(12 + 8 * k, true) : length;
  }
  if (from !== packed.length) throw new Error(`${SNAPSHOT}: its header does not match its size`);
  return image;
}

// Imports are synchronous, so the full stdlib, needed only if Python imports a module the snapshot lacks, is
// fetched synchronously then (pysrc/snapshot.py). Content-Encoding still applies; the bytes come as text.
globalThis.vaeFullStdlib = () => {
  const request = new XMLHttpRequest();
  request.open("GET", `${indexURL}python_stdlib.zip`, false);
  request.overrideMimeType("text/plain; charset=x-user-defined");
  request.send();
  if (request.status !== 200) throw new Error(`${indexURL}python_stdlib.zip: HTTP ${request.status}`);
  const text = request.responseText;
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
};

// Python's output goes to PyScript's streams once PyScript asks for the interpreter, to the console before.
let streams = { stdout: console.log, stderr: console.error };
const io = { stdout: (line) => streams.stdout(line), stderr: (line) => streams.stderr(line) };

async function start() {
  // The full stdlib is not downloaded at start, but a deployment without it is broken (a module the snapshot
  // lacks could not be imported, and a boot without the snapshot needs it): boot.mjs names it at once.
  const stdlib = fetch(`${indexURL}python_stdlib.zip`, { method: "HEAD" });
  const stdlibPresent = async () => {
    const response = await stdlib;
    if (!response.ok) throw new Error(`${indexURL}python_stdlib.zip: HTTP ${response.status}`);
  };
  const snapshot = fetchSnapshot();
  snapshot.catch(() => {}); // Pyodide awaits it later; a failure is reported once, below
  let problem;
  try {
    // Checked first: Pyodide only logs a stdlib it cannot fetch, and then cannot import anything new.
    const small = await fetch(here(STDLIB));
    if (!small.ok) throw new Error(`${STDLIB}: HTTP ${small.status}`);
    const pyodide = await loadRuntime({ ...io, indexURL, stdLibURL: here(STDLIB), _loadSnapshot: snapshot });
    await stdlibPresent();
    performance.mark("vae:interpreter-ready", { detail: "snapshot" });
    return pyodide;
  } catch (error) {
    problem = `${error.message}`.split("\n")[0];
  }
  console.warn(`VAE Explainer: Python starts without its snapshot (${problem}).`);
  const pyodide = await loadRuntime({ ...io, indexURL });
  performance.mark("vae:interpreter-ready", { detail: "no snapshot" });
  return pyodide;
}

const started = start();
started.catch(() => {}); // PyScript's call below reports it

export async function loadPyodide({ stdout, stderr }) {
  streams = { stdout, stderr };
  return started;
}
