// Makes the page's Python memory snapshot (run by `serve.py`, never by the page):
//
//     node snapshot.mjs PYODIDE_DIR PYSRC_DIR OUT_DIR MODULE...
//
// Pyodide starts here in Node, the page's modules are written where PyScript writes them in the page, and
// pysrc/snapshot.py imports the standard library the page uses and MODULE... Then the interpreter's memory is
// saved to OUT_DIR/python.bin, followed by the SHA-256 of what precedes it (the page checks it before use).
// Python may hold `js` (saved as a path from globalThis, restored as the page's) but no other JavaScript
// object at that moment, so the image restores in any page.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, pysrcDir, outDir, ...modules] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(join(resolve(pyodideDir), "pyodide.mjs")).href);
const pyodide = await loadPyodide({ _makeSnapshot: true, indexURL: `${resolve(pyodideDir)}/` });

const home = pyodide.runPython("import os; os.getcwd()");
for (const name of modules) pyodide.FS.writeFile(`${home}/${name}.py`, readFileSync(join(pysrcDir, `${name}.py`)));
pyodide.runPython(`import snapshot; snapshot.take(${JSON.stringify(modules)})`);

const image = pyodide.makeMemorySnapshot();
const digest = createHash("sha256").update(image).digest();
writeFileSync(join(outDir, "python.bin"), Buffer.concat([image, digest]));
