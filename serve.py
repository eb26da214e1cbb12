"""Serve the VAE Explainer page on localhost, or make what it needs and build it statically.

The page is static files, but browsers insist on the right MIME types for ES modules and wasm, and its
JavaScript dependencies live in node_modules. This stdlib-only script serves an explicit site map
(serving/sitemap.py) with the right headers; the serving package copies the npm files into web/vendor/
(serving/vendoring.py), makes the Python snapshot (serving/snapshot.py) and writes the same site map into a
folder that any static host can serve as is (serving/build.py).

    python serve.py [--host 127.0.0.1] [--port 8000]
    python serve.py --vendor
    python serve.py --snapshot
    python serve.py --build DIR

Serving starts at once with quick brotli siblings and finishes the smallest ones in the background
(serving/brotli.py); the static build finishes them first.
"""

import argparse
import contextlib
import hashlib
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import TCPServer
from urllib.parse import unquote

from serving import brotli, vendoring
from serving.build import build
from serving.folders import ROOT, SetupError
from serving.sitemap import COMPRESSIBLE, Site, gzipped, inside, read_site_file, site_map
from serving.snapshot import SNAPSHOT_DIR, ensure_snapshot

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
IMMUTABLE_PREFIX = "/vendor/"  # versioned by package-lock.json, so browsers may keep it forever


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
                entry.packed = gzipped(entry.data)
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
            if not inside(path, site.root):
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
            count = vendoring.vendor(vendoring.NODE_MODULES, vendoring.VENDOR_DIR)
            print(f"Vendored {count} files into {vendoring.VENDOR_DIR}")
            return 0
        vendoring.ensure_vendor()
        ensure_snapshot()
        if args.snapshot:
            return 0
        if args.build:
            count, size, packed = build(args.build, ROOT)
            print(f"Built {count} files ({size:,} bytes; {packed:,} bytes of .gz siblings) into {args.build}")
            return 0
        quality = brotli.brotli_quality()
        server = make_server(site_map(ROOT), args.host, args.port)
    except SetupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    host, port = server.server_address[:2]
    print(f"Serving VAE Explainer at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    brotli.finish_in_background([vendoring.VENDOR_DIR, SNAPSHOT_DIR], quality)
    with server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
