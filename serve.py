"""Vendor, serve and statically build the VAE Explainer page.

The page is static files, but browsers insist on the right MIME types for ES modules and wasm, and its
JavaScript dependencies live in node_modules. This stdlib-only script copies those dependencies into
web/vendor/, serves an explicit site map on localhost, and writes the same site map into a folder that
any static host can serve as is.

    python serve.py [--host 127.0.0.1] [--port 8000]
    python serve.py --vendor
    python serve.py --build DIR
"""

import argparse
import contextlib
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import TCPServer
from urllib.parse import unquote


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

# The URL space: (folder under the root, URL prefix, suffixes served or None for all, recurse).
SITE = (
    ("web", "/", None, True),
    ("pysrc", "/pysrc/", (".py",), False),
    ("models", "/models/", (".onnx", ".bin", ".json", ".md"), True),  # models/kl/ (and its checkpoints) too
    ("training", "/training/", (".py",), False),
)

CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", CSP),
)

# Explicit, because the mimetypes module reads per-machine tables (Windows maps .js to text/plain).
MIME = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".css": "text/css",
    ".py": "text/x-python; charset=utf-8",
    ".onnx": "application/octet-stream",
    ".bin": "application/octet-stream",
    ".zip": "application/zip",
    ".woff2": "font/woff2",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
COMPRESSIBLE = {
    ".html", ".js", ".mjs", ".css", ".json", ".py", ".wasm", ".svg", ".md", ".txt", ".bin", ".onnx", ".zip",
}  # fmt: skip
BROTLI_MIN_BYTES = 16_384  # smaller files gain little from a second, precompressed encoding
IMMUTABLE_PREFIX = "/vendor/"  # versioned by package-lock.json, so browsers may keep it forever

ROOT = Path(__file__).resolve().parent
NODE_MODULES = ROOT / "node_modules"
# PyScript's own Python package, as the module its core.js writes from (the snapshot holds it compiled).
PYSCRIPT_STDLIB = Path("node_modules", "@pyscript", "core", "src", "stdlib", "pyscript.js")
VENDOR_DIR = ROOT / "web" / "vendor"
LOCKFILE = ROOT / "package-lock.json"
VENDOR_MARKER = ".vae-explainer-vendor"
BROTLI_CACHE = NODE_MODULES / ".cache" / "vae-explainer-brotli"  # brotli files by content, made once per install
SNAPSHOT_DIR = ROOT / "web" / "snapshot"
SNAPSHOT_MARKER = ".vae-explainer-snapshot"
BUILD_MARKER = ".vae-explainer-build"


class SetupError(Exception):
    """A problem the user fixes (missing npm install, unsafe build folder); reported without a traceback."""


@dataclass(frozen=True)
class Site:
    """The site map: URL path -> file, plus the resolved root that every served file must stay inside."""

    root: Path
    files: dict[str, Path]


def _gzip(data: bytes) -> bytes:
    """Gzip with a fixed mtime so the bytes (and the build) are reproducible."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def _inside(path: Path, root: Path) -> bool:
    """Whether `path`, with symlinks resolved, stays inside `root`."""
    return path.resolve().is_relative_to(root)


def _replace_dir(dest: Path, marker: str, marker_text: str, fill: Callable[[Path], None]) -> None:
    """Fill a fresh sibling folder and swap it in for `dest`.

    The server never sees a half-written folder, and a non-empty folder without our marker (something
    this script did not create) is never wiped.
    """
    if dest.exists() and not (dest.is_dir() and ((dest / marker).is_file() or not any(dest.iterdir()))):
        raise SetupError(f"refusing to overwrite {dest}: it is not empty and has no {marker} marker")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; static hosts need to read it
        fill(staging)
        (staging / marker).write_text(marker_text, encoding="utf-8")
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _esm_wrap(source: str) -> str:
    """Turn a dependency-free CommonJS file into an ES module whose default export is `module.exports`."""
    return f"const module = {{ exports: {{}} }};\n{source}\nexport default module.exports;\n"


def vendor(src: Path, dest: Path) -> int:
    """Copy the VENDOR files from `src` (node_modules) into `dest`; returns the number of files."""
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
        _precompress_brotli(staging)

    _replace_dir(dest, VENDOR_MARKER, _vendor_stamp(), fill)
    return copied


def _vendor_stamp() -> str:
    """What a vendor folder is made from now: the VENDOR list and the treatment of its files."""
    return repr(VENDOR) + f" stored-stdlib brotli-{brotli_quality()}"


def brotli_quality() -> int:
    """Brotli's quality for the precompressed files: VAE_BROTLI_QUALITY, else 11 (the smallest files, minutes on 2
    cores). `make test` asks for 5 (seconds): its tests read the same bytes once decoded. A folder made at a higher
    quality than asked for is kept; `make serve`, `build` and `bench` make a lower one again at 11."""
    text = os.environ.get("VAE_BROTLI_QUALITY", "11")
    if not (text.isdigit() and int(text) <= 11):
        raise SetupError(f"VAE_BROTLI_QUALITY must be a whole number from 0 to 11, not {text!r}")
    return int(text)


def _stamp_current(made: str, now: str) -> bool:
    """Whether a folder stamped `made` is what the stamp `now` asks for, at the same or a higher brotli quality."""
    base, _, quality = made.rpartition(" brotli-")
    wanted_base, _, wanted = now.rpartition(" brotli-")
    return base == wanted_base and quality.isdigit() and int(quality) >= int(wanted)


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


BROTLI_JS = (
    "const fs = require('fs'), z = require('zlib');"
    "const quality = Number(process.argv[1]);"
    "for (const f of process.argv.slice(2)) { const d = fs.readFileSync(f);"
    " fs.writeFileSync(f + '.br', z.brotliCompressSync(d, {params: {[z.constants.BROTLI_PARAM_QUALITY]: quality,"
    " [z.constants.BROTLI_PARAM_LGWIN]: 24, [z.constants.BROTLI_PARAM_SIZE_HINT]: d.length}})); }"
)


def _precompress_brotli(folder: Path) -> None:
    """A .br sibling for each large compressible file, made with Node's zlib (npm brings Node; Python's standard
    library has no brotli). Browsers that accept br get it; the rest get gzip.

    Brotli's best quality (11; see brotli_quality) packs the big wasm files and the Python snapshot 12-15% smaller
    than quality 9 (0.7 MB less on a cold load) but takes about a minute a file, so the files are spread over the
    cores and each result is kept in BROTLI_CACHE by content and quality: vendoring them again costs nothing.
    """
    node = shutil.which("node")
    if node is None:
        print("note: node not found, so no brotli files; gzip is served instead", file=sys.stderr)
        return
    quality = brotli_quality()
    todo = []
    for path in sorted(folder.rglob("*"), key=lambda p: -p.stat().st_size if p.is_file() else 0):
        if not (path.is_file() and path.suffix in COMPRESSIBLE and path.stat().st_size >= BROTLI_MIN_BYTES):
            continue
        cached = BROTLI_CACHE / f"{hashlib.sha256(path.read_bytes()).hexdigest()}-q{quality}.br"
        if cached.is_file():
            shutil.copyfile(cached, path.with_name(path.name + ".br"))
        else:
            todo.append((path, cached))
    workers = min(os.cpu_count() or 1, len(todo))
    command = [node, "-e", BROTLI_JS, str(quality)]
    jobs = [subprocess.Popen([*command, *(str(p) for p, _ in todo[k::workers])]) for k in range(workers)]
    if any(job.wait(timeout=900) != 0 for job in jobs):
        raise SetupError(f"brotli compression failed in {folder}")
    BROTLI_CACHE.mkdir(parents=True, exist_ok=True)
    for path, cached in todo:
        shutil.copyfile(path.with_name(path.name + ".br"), cached)


def _ensure_vendor() -> None:
    """Vendor again when web/vendor is missing, predates package-lock.json, or VENDOR changed."""
    marker = VENDOR_DIR / VENDOR_MARKER
    try:
        current = _stamp_current(marker.read_text(encoding="utf-8"), _vendor_stamp()) and (
            not LOCKFILE.exists() or marker.stat().st_mtime >= LOCKFILE.stat().st_mtime
        )
    except OSError:
        current = False
    if not current:
        print(f"Vendoring npm files into {VENDOR_DIR} ...", flush=True)
        vendor(NODE_MODULES, VENDOR_DIR)


def snapshot_modules(root: Path = ROOT) -> list[str]:
    """The modules PyScript loads for main.py (pyscript.json's "files"), which the snapshot holds imported.

    Each must import without a page: the adapter's modules may import js, but touch the DOM only when called.
    """
    files = json.loads((root / "web" / "pyscript.json").read_text(encoding="utf-8"))["files"]
    return [Path(name).stem for name in files if name.endswith(".py")]


def _snapshot_stamp(root: Path = ROOT) -> str:
    """What a snapshot is made from now: the vendored runtime, snapshot.mjs, PyScript's Python package and the
    sources of the modules it holds (a digest), and the brotli quality of its .br file."""
    digest = hashlib.sha256()
    vendor_marker = root / "web" / "vendor" / VENDOR_MARKER
    vendored = vendor_marker.read_text(encoding="utf-8") if vendor_marker.exists() else ""
    digest.update(f"{vendored} {vendor_marker.stat().st_mtime_ns if vendor_marker.exists() else 0}".encode())
    for path in [root / "snapshot.mjs", *(root / "pysrc" / f"{m}.py" for m in snapshot_modules(root))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    with contextlib.suppress(OSError):  # absent before npm ran: the snapshot cannot be made then anyway
        digest.update(b"pyscript.js\0" + (root / PYSCRIPT_STDLIB).read_bytes())
    return f"{digest.hexdigest()} brotli-{brotli_quality()}"


def make_snapshot(root: Path = ROOT) -> None:
    """Write web/snapshot/: Python's memory image (snapshot.mjs) and the empty stdlib zip the page starts with.

    The image holds the interpreter already started, with the standard library the page needs and the page's
    modules imported. A module it lacks loads the full stdlib zip when first imported (pysrc/snapshot.py).
    """
    node = shutil.which("node")
    if node is None:
        raise SetupError("node not found: the Python snapshot is made with Node.js (npm brings it)")
    pyodide = root / "web" / "vendor" / "pyodide"

    def fill(staging: Path) -> None:
        maker = [node, str(root / "snapshot.mjs"), str(pyodide), str(root / PYSCRIPT_STDLIB), str(root / "pysrc")]
        command = [*maker, str(staging), *snapshot_modules(root)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise SetupError(f"snapshot.mjs failed: {(done.stderr or done.stdout).strip()[-2000:]}")
        zipfile.ZipFile(staging / "python_stdlib.zip", "w").close()
        _precompress_brotli(staging)

    _replace_dir(root / "web" / "snapshot", SNAPSHOT_MARKER, _snapshot_stamp(root), fill)


def _ensure_snapshot() -> None:
    """Make the snapshot again when the runtime, snapshot.mjs or a core module changed since it was made.

    A snapshot that cannot be made is removed, never left stale: the page then starts Python without it.
    """
    marker = SNAPSHOT_DIR / SNAPSHOT_MARKER
    with contextlib.suppress(OSError):
        if _stamp_current(marker.read_text(encoding="utf-8"), _snapshot_stamp()):
            return
    print(f"Making the Python snapshot in {SNAPSHOT_DIR} ...", flush=True)
    try:
        make_snapshot()
    except (SetupError, OSError, subprocess.SubprocessError) as error:
        if marker.is_file():
            shutil.rmtree(SNAPSHOT_DIR)
        print(f"note: no Python snapshot ({error}); the page starts Python without one, more slowly", file=sys.stderr)


def _walk(base: Path, recurse: bool) -> Iterator[Path]:
    """Regular files under `base`, skipping dotfiles and dot-folders (.DS_Store, staging folders)."""
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if recurse else []
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if not name.startswith(".") and not name.endswith(".br") and path.is_file():
                yield path


def site_map(root: Path) -> Site:
    """Map every servable URL path to its file under `root`, per SITE; nothing else is ever served."""
    root = root.resolve()
    files = {}
    for folder, prefix, suffixes, recurse in SITE:
        base = root / folder
        for path in _walk(base, recurse):
            if (suffixes is None or path.suffix in suffixes) and _inside(path, root):
                files[prefix + path.relative_to(base).as_posix()] = path
    return Site(root, files)


def build(dest: Path, root: Path) -> tuple[int, int, int]:
    """Write the site map of `root` into `dest`, with a .gz sibling per compressible file (and the vendored .br ones).

    Returns (files, bytes, gzip bytes).
    """
    dest, root = dest.resolve(), root.resolve()
    if dest == root or dest in root.parents or dest.is_relative_to(root / "web"):
        raise SetupError(f"refusing to build into {dest}: pick a folder outside the repository root and web/")
    site = site_map(root)
    size = packed_size = 0

    def fill(staging: Path) -> None:
        nonlocal size, packed_size
        for url, file in site.files.items():
            target = staging / url.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            data = read_site_file(file)
            target.write_bytes(data)
            size += len(data)
            if file.suffix in COMPRESSIBLE:
                packed = _gzip(data)
                target.with_name(target.name + ".gz").write_bytes(packed)
                packed_size += len(packed)
                brotli = file.with_name(file.name + ".br")
                if brotli.is_file():  # for hosts that serve precompressed brotli
                    shutil.copyfile(brotli, target.with_name(target.name + ".br"))

    _replace_dir(dest, BUILD_MARKER, "Built by serve.py --build; rebuilding wipes this folder.\n", fill)
    return len(site.files), size, packed_size


def _route(target: str) -> str | None:
    """Turn a request target into a site-map key, or None for anything that tries to leave the map."""
    path = target.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/") or any(code in path.lower() for code in ("%2f", "%5c", "%00")):
        return None
    try:
        path = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None
    if "\\" in path or "\x00" in path or "//" in path or any(s in (".", "..") for s in path.split("/")):
        return None
    return "/index.html" if path == "/" else path


def _accepts(header: str | None, wanted: str) -> bool:
    """Whether an Accept-Encoding header allows a coding (present, and not with q=0)."""
    for item in (header or "").split(","):
        coding, *params = item.split(";")
        if coding.strip().lower() == wanted:
            for param in params:
                name, _, value = param.partition("=")
                if name.strip().lower() == "q":
                    try:
                        return float(value) > 0
                    except ValueError:
                        return False
            return True
    return False


def _etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match uses the weak comparison, so W/ prefixes are ignored."""
    tags = {tag.strip().removeprefix("W/") for tag in (header or "").split(",")}
    return "*" in tags or etag in tags


@dataclass
class _Entry:
    stamp: tuple[int, int]
    data: bytes
    etag: str
    packed: bytes | None = None


def _preload_python(html: str, root: Path) -> str:
    """Preload hints for the Python files PyScript fetches only once the interpreter is up (pyscript.json's
    "files" and main.py), so they are here by then instead of a round trip later."""
    try:
        files = list(json.loads((root / "web" / "pyscript.json").read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError) as error:
        print(f"note: no preload hints for the Python files ({error})", file=sys.stderr, flush=True)
        return html
    files += re.findall(r'<script type="py" src="([^"]+)"', html)
    # Low priority: at the default (high) they hold every connection to the server while PyScript's own modules wait.
    hint = '  <link rel="preload" href="{}" as="fetch" crossorigin fetchpriority="low">\n'
    links = "".join(hint.format(href) for href in files)
    return html.replace("</head>", links + "</head>", 1)


def read_site_file(path: Path) -> bytes:
    """A file as served. index.html gets the first view drawn in (pysrc/prerender.py), so the page is useful
    before Python starts; if the models are broken it is served as it is, and the page reports what failed."""
    data = path.read_bytes()
    if path.name != "index.html" or path.parent.name != "web":
        return data
    root = path.parent.parent
    data = _preload_python(data.decode("utf-8"), root).encode("utf-8")
    if str(root / "pysrc") not in sys.path:
        sys.path.insert(0, str(root / "pysrc"))
    import prerender

    models = root / "models"
    try:  # the article's measured figures, from models/teaching.json (training/teaching.py)
        data = prerender.fill_figures(data.decode("utf-8"), (models / "teaching.json").read_text()).encode("utf-8")
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"note: serving the article's figures as index.html has them ({error})", file=sys.stderr, flush=True)
    try:
        return prerender.render_index(
            data.decode("utf-8"),
            (models / "latent_map.json").read_text(),
            (models / "latent_map.bin").read_bytes(),
            (models / "presets.json").read_text(),
            (models / "presets.bin").read_bytes(),
            (models / "first_view.json").read_text(),
        ).encode("utf-8")
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"note: serving index.html without its first view ({error})", file=sys.stderr, flush=True)
        return data


class _FileCache:
    """File bytes, ETag and gzip bytes, computed once per (path, mtime, size) and shared by all threads.

    A lock per file means 50 simultaneous first requests for the 14 MB ORT wasm compress it once,
    while requests for other files carry on.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._file_locks: dict[Path, threading.Lock] = {}
        self._entries: dict[Path, _Entry] = {}

    def load(self, path: Path, packed: bool) -> tuple[bytes, str]:
        """Return (body, etag) for `path`, gzipped when `packed`."""
        with self._lock:
            file_lock = self._file_locks.setdefault(path, threading.Lock())
        with file_lock:
            st = path.stat()
            entry = self._entries.get(path)
            if entry is None or entry.stamp != (st.st_mtime_ns, st.st_size):
                data = read_site_file(path)
                entry = _Entry((st.st_mtime_ns, st.st_size), data, hashlib.sha256(data).hexdigest()[:32])
                self._entries[path] = entry
            if not packed:
                return entry.data, f'"{entry.etag}"'
            if entry.packed is None:
                entry.packed = _gzip(entry.data)
            return entry.packed, f'"{entry.etag}-gzip"'


class _Reject(Exception):
    """Stop handling a request with this status."""

    def __init__(self, status: HTTPStatus) -> None:
        super().__init__(status)
        self.status = status


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]}


def make_handler(site: Site) -> type[BaseHTTPRequestHandler]:
    """A request handler class serving exactly `site`."""
    cache = _FileCache()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The stdlib default HTTP/0.9 answers early errors (garbage request line) without a status line.
        default_request_version = "HTTP/1.0"
        timeout = 60  # idle keep-alive connections give their thread back eventually

        def version_string(self) -> str:
            """Name the app in the Server header, without advertising the Python version."""
            return "vae-explainer"

        def __getattr__(self, name: str) -> Callable[[], None]:
            """Answer any method but GET and HEAD with 405 (the stdlib would say 501)."""
            if name.startswith("do_"):
                return lambda: self.send_error(HTTPStatus.METHOD_NOT_ALLOWED)
            raise AttributeError(name)

        def parse_request(self) -> bool:
            """Also reject HTTP/0.9 ("GET /"), whose responses would carry no headers at all."""
            if not super().parse_request():
                return False
            if len(self.requestline.split()) != 3:
                self.send_error(HTTPStatus.BAD_REQUEST, "HTTP/0.9 is not supported")
                return False
            return True

        def do_GET(self) -> None:
            self._respond(with_body=True)

        def do_HEAD(self) -> None:
            self._respond(with_body=False)

        def _respond(self, with_body: bool) -> None:
            try:
                status, headers, body = self._prepare()
            except _Reject as reject:
                self.send_error(reject.status)
                return
            except Exception as exc:  # a bug must cost one request, not leak a traceback to the client
                self.log_message("internal error for %s: %r", self.path, exc)
                self.send_error(HTTPStatus.INTERNAL_SERVER_ERROR)
                return
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            if with_body and status == HTTPStatus.OK:
                self.wfile.write(body)

        def _prepare(self) -> tuple[HTTPStatus, list[tuple[str, str]], bytes]:
            """Everything that can fail happens here, before any header is sent."""
            url = _route(self.path)
            path = site.files.get(url) if url else None
            if path is None:
                raise _Reject(HTTPStatus.NOT_FOUND)
            if not _inside(path, site.root):
                raise _Reject(HTTPStatus.FORBIDDEN)
            compressible = path.suffix in COMPRESSIBLE
            accept = self.headers.get("Accept-Encoding")
            brotli = path.with_name(path.name + ".br")
            coding = (
                "br"
                if compressible and _accepts(accept, "br") and brotli.is_file()
                else "gzip"
                if compressible and _accepts(accept, "gzip")
                else None
            )
            try:
                body, etag = cache.load(brotli, False) if coding == "br" else cache.load(path, coding == "gzip")
            except OSError as exc:
                raise _Reject(HTTPStatus.NOT_FOUND) from exc
            if coding == "br":
                etag = etag[:-1] + '-br"'  # the precompressed file's own hash, marked as an encoding
            cache_control = "public, max-age=31536000, immutable" if url.startswith(IMMUTABLE_PREFIX) else "no-cache"
            headers = [("ETag", etag), ("Cache-Control", cache_control)]
            if compressible:
                headers.append(("Vary", "Accept-Encoding"))
            if _etag_matches(self.headers.get("If-None-Match"), etag):
                return HTTPStatus.NOT_MODIFIED, headers, b""
            headers.append(("Content-Type", MIME.get(path.suffix, "application/octet-stream")))
            headers.append(("Content-Length", str(len(body))))
            if coding:
                headers.append(("Content-Encoding", coding))
            return HTTPStatus.OK, headers, body

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """A short plain-text error that echoes no markup, with the security headers, then close."""
            status = HTTPStatus(code)
            body = f"{status.value} {status.phrase}{f': {message}' if message else ''}\n".encode("utf-8", "replace")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            if status == HTTPStatus.METHOD_NOT_ALLOWED:
                self.send_header("Allow", "GET, HEAD")
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def end_headers(self) -> None:
            for name, value in SECURITY_HEADERS:
                self.send_header(name, value)
            super().end_headers()

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            self.log_message('"%s" %s', self.requestline[:200], code)

        def log_message(self, format: str, *args: object) -> None:
            """One compact line per event, with control characters from the request escaped."""
            sys.stderr.write(f"{self.address_string()} {(format % args).translate(_CONTROL)}\n")

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def server_bind(self) -> None:
        """Skip HTTPServer's socket.getfqdn(), a reverse-DNS lookup that can stall startup."""
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        """A client hanging up mid-response is routine: one line, no traceback."""
        sys.stderr.write(f"{client_address[0]} connection error: {sys.exception()!r}\n")


def make_server(site: Site, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A threaded server for `site`, bound but not yet serving."""
    return _Server((host, port), make_handler(site))


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Vendor, serve or statically build the VAE Explainer.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8000, help="port to bind; 0 picks a free one")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--vendor", action="store_true", help="copy the npm files into web/vendor/ and exit")
    mode.add_argument("--snapshot", action="store_true", help="make web/snapshot/ (Python's start-up image) if stale")
    mode.add_argument("--build", metavar="DIR", type=Path, help="write the static site into DIR and exit")
    args = parser.parse_args(argv)
    try:
        if args.vendor:
            count = vendor(NODE_MODULES, VENDOR_DIR)
            print(f"Vendored {count} files into {VENDOR_DIR}")
            return 0
        _ensure_vendor()
        _ensure_snapshot()
        if args.snapshot:
            return 0
        if args.build:
            count, size, packed = build(args.build, ROOT)
            print(f"Built {count} files ({size:,} bytes; {packed:,} bytes of .gz siblings) into {args.build}")
            return 0
        server = make_server(site_map(ROOT), args.host, args.port)
    except SetupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    host, port = server.server_address[:2]
    print(f"Serving VAE Explainer at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    with server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
