"""Vendoring: npm's files the page loads, copied from node_modules into web/vendor (a CommonJS file wrapped as an
ES module, Pyodide's stdlib zip re-stored), with brotli siblings; made again when npm's files or the list change."""

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from serving import brotli
from serving.folders import NODE_MODULES, ROOT, SetupError, replace_dir


@dataclass(frozen=True)
class Vendored:
    """Files copied from one node_modules folder into one web/vendor folder."""

    src: str
    dest: str
    patterns: tuple[str, ...]
    commonjs: bool = False  # wrap a CommonJS file as an ES module named *.mjs


# Everything the page loads from npm. Source maps (*.map) are never copied.
VENDOR = (
    Vendored("@pyscript/core/dist", "pyscript", ("*",)),
    Vendored(
        "pyodide",
        "pyodide",
        ("pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"),
    ),
    Vendored(
        "onnxruntime-web/dist",
        "ort",
        ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"),
    ),
    Vendored("katex/dist", "katex", ("katex.min.css", "katex.mjs")),
    Vendored("katex/dist/fonts", "katex/fonts", ("*.woff2",)),
    # highlight.js's npm "es/core.js" only re-exports the CommonJS lib/core.js, which a browser cannot
    # import, so core is wrapped; the language file is already a dependency-free ES module.
    Vendored("highlight.js/lib", "hljs", ("core.js",), commonjs=True),
    Vendored("highlight.js/es/languages", "hljs", ("python.js",)),
    Vendored("highlight.js/styles", "hljs", ("github.css", "github-dark.css")),
)

VENDOR_DIR = ROOT / "web" / "vendor"
LOCKFILE = ROOT / "package-lock.json"
VENDOR_MARKER = ".vae-explainer-vendor"


def _esm_wrap(source: str) -> str:
    """Turn a dependency-free CommonJS file into an ES module whose default export is `module.exports`."""
    return f"const module = {{ exports: {{}} }};\n{source}\nexport default module.exports;\n"


def vendor(src: Path, dest: Path) -> int:
    """Copy the VENDOR files from `src` (node_modules) into `dest`; returns the number of files. Their brotli
    siblings are quick ones unless cached at the quality asked for (serving or building finishes them)."""
    if not src.is_dir():
        raise SetupError(f"{src} not found: run `npm ci` first")
    copied = 0

    def fill(staging: Path) -> None:
        nonlocal copied
        for entry in VENDOR:
            out = staging / entry.dest
            out.mkdir(parents=True, exist_ok=True)
            for pattern in entry.patterns:
                files = sorted(p for p in (src / entry.src).glob(pattern) if p.is_file() and p.suffix != ".map")
                if not files:
                    raise SetupError(f"nothing matches {entry.src}/{pattern} in {src}: run `npm ci` again")
                for file in files:
                    if entry.commonjs:
                        text = _esm_wrap(file.read_text(encoding="utf-8"))
                        (out / f"{file.stem}.mjs").write_text(text, encoding="utf-8")
                    else:
                        shutil.copyfile(file, out / file.name)
                    copied += 1

        _store_zip(staging / "pyodide" / "python_stdlib.zip")
        brotli.precompress(staging, brotli.brotli_quality(), quick=True)

    replace_dir(dest, VENDOR_MARKER, vendor_stamp(), fill)
    return copied


def vendor_stamp() -> str:
    """What a vendor folder is made from now: the VENDOR list and the treatment of its files."""
    return repr(VENDOR) + " stored-stdlib"


def _store_zip(path: Path) -> None:
    """Rewrite a zip with its members stored, not deflated. Pyodide imports the stdlib straight from this zip, and
    gzip or brotli over a stored archive compress across files: 2.4 MB → about 1.5 MB on the wire."""
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    stored = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as out:
        for info, data in members:
            info.compress_type = zipfile.ZIP_STORED
            out.writestr(info, data)
    stored.replace(path)


def ensure_vendor() -> None:
    """Vendor again when web/vendor is missing, predates package-lock.json, or VENDOR changed."""
    marker = VENDOR_DIR / VENDOR_MARKER
    try:
        current = marker.read_text(encoding="utf-8") == vendor_stamp() and (
            not LOCKFILE.exists() or marker.stat().st_mtime >= LOCKFILE.stat().st_mtime
        )
    except OSError:
        current = False
    if not current:
        print(f"Vendoring npm files into {VENDOR_DIR} ...", flush=True)
        vendor(NODE_MODULES, VENDOR_DIR)
