// Makes the page's Python memory snapshot (run by `serve.py`, never by the page):
//
//     node snapshot.mjs PYODIDE_DIR PYSCRIPT_STDLIB PYSRC_DIR OUT_DIR FILE...
//
// Pyodide starts here in Node, the page's modules (FILE..., paths under PYSRC_DIR such as vae/encoder.py) are
// written where PyScript writes them in the page, and pysrc/page/snapshot.py imports the standard library the
// page uses and those modules, packages included. PyScript's own Python package
// (PYSCRIPT_STDLIB, the module of @pyscript/core that holds its files) is written where PyScript writes it too,
// and compiled, not imported: it needs the page. Then the interpreter's memory is saved to OUT_DIR/python.bin,
// followed by the SHA-256 of what precedes it (the page checks it before use).
// Python may hold `js` (saved as a path from globalThis, restored as the page's) but no other JavaScript
// object at that moment, so the image restores in any page.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, pyscriptStdlib, pysrcDir, outDir, ...files] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(join(resolve(pyodideDir), "pyodide.mjs")).href);
const pyodide = await loadPyodide({ _makeSnapshot: true, indexURL: `${resolve(pyodideDir)}/` });

const home = pyodide.runPython("import os; os.getcwd()");
for (const file of files) {
  pyodide.FS.mkdirTree(`${home}/${file}`.replace(/\/[^/]+$/, ""));
  pyodide.FS.writeFile(`${home}/${file}`, readFileSync(join(pysrcDir, file)));
}
// vae/browser/models.py is the module vae.browser.models; vae/__init__.py is the package vae.
const modules = files.map((file) => file.replace(/\.py$/, "").replace(/\/__init__$/, "").replaceAll("/", "."));
const { default: pyscriptFiles } = await import(pathToFileURL(resolve(pyscriptStdlib)).href);
const write = (folder, files) => {
  pyodide.FS.mkdirTree(folder);
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === "string") pyodide.FS.writeFile(`${folder}/${name}`, content);
    else write(`${folder}/${name}`, content);
  }
};
write(`${home}/pyscript`, pyscriptFiles.pyscript);
pyodide.runPython(`from page import snapshot; snapshot.take(${JSON.stringify(modules)}, "${home}/pyscript")`);

// Runs of zero bytes of 4 KB or more (unused memory, 6 MB of the 21) stay out of the file, listed in its header
// (little-endian u32s: image length, run count, then offset and length of each run), and the page puts them
// back: less to download, decompress and check.
const ZERO_RUN = 4096;
const image = pyodide.makeMemorySnapshot();
const runs = [];
for (let i = 0; i < image.length; ) {
  let end = i;
  while (end < image.length && image[end] === 0) end++;
  if (end - i >= ZERO_RUN) runs.push([i, end - i]);
  i = end + 1;
}
const header = new Uint32Array([image.length, runs.length, ...runs.flat()]);
const pieces = [Buffer.from(header.buffer)];
let at = 0;
for (const [offset, length] of runs) {
  pieces.push(image.subarray(at, offset));
  at = offset + length;
}
pieces.push(image.subarray(at));
const packed = Buffer.concat(pieces);
writeFileSync(join(outDir, "python.bin"), Buffer.concat([packed, createHash("sha256").update(packed).digest()]));
