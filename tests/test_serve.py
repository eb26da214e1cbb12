"""serve.py: the site map, the dev server's HTTP behaviour, vendoring and the static build.

Most tests serve a small fake repository under a temp folder, so they do not depend on files other
people are still writing; one test checks the real repository's site map when its files exist.
"""

import functools
import gzip
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import serve

SECRET = b"SECRET-never-served"
INDEX = b"<!doctype html><title>VAE</title><p>index</p>\n"
BIG_JS = b"export const weights = [" + b"0.125, " * 150_000 + b"];\n"  # ~1 MB, compresses well
FILES = {
    "web/index.html": INDEX,
    "web/style.css": b"body { margin: 0 }\n",
    "web/pyscript.json": b'{"files": {}}\n',
    "web/main.mjs": b"export const answer = 42;\n",
    "web/big.js": BIG_JS,
    "web/logo.png": b"\x89PNG\r\n\x1a\nnot really",
    "web/.hidden": SECRET,
    "web/vendor/ort/ort-wasm-simd-threaded.wasm": b"\x00asm\x01\x00\x00\x00" + bytes(range(256)) * 64,
    "web/vendor/katex/fonts/KaTeX_Main-Regular.woff2": b"wOF2" + bytes(300),
    "pysrc/loss.py": b"def kl(mu, logvar):\n    return 0.0\n",
    "pysrc/notes.txt": SECRET,
    "models/decoder.onnx": b"\x08\x07onnx-bytes" * 100,
    "models/decoder.bin": bytes(range(256)) * 8,
    "models/meta.json": b'{"latent": 2}\n',
    "models/README.md": b"# Models\n",
    "models/decoder.h5": SECRET,
    "training/vae.py": b"class VAE:\n    pass\n",
    "serve.py": SECRET,
    "pyproject.toml": SECRET,
    ".git/config": SECRET,
}


class Response(NamedTuple):
    status: int
    headers: http.client.HTTPMessage
    body: bytes


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    for name, data in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    outside = tmp_path_factory.mktemp("outside") / "secret.txt"
    outside.write_bytes(SECRET)
    (root / "web" / "leak.txt").symlink_to(outside)
    (root / "web" / "leakdir").symlink_to(outside.parent, target_is_directory=True)
    return root


def _start(site: serve.Site) -> tuple[ThreadingHTTPServer, threading.Thread]:
    server = serve.make_server(site, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


def _stop(server: ThreadingHTTPServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def port(tree: Path) -> Iterator[int]:
    server, thread = _start(serve.site_map(tree))
    yield server.server_address[1]
    _stop(server, thread)


def fetch(port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def raw(port: int, request: bytes) -> bytes:
    """Send bytes as they are and read the reply until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        for _ in range(1000):
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_site_map_holds_exactly_the_servable_files(tree: Path) -> None:
    assert set(serve.site_map(tree).files) == {
        "/index.html",
        "/style.css",
        "/pyscript.json",
        "/main.mjs",
        "/big.js",
        "/logo.png",
        "/vendor/ort/ort-wasm-simd-threaded.wasm",
        "/vendor/katex/fonts/KaTeX_Main-Regular.woff2",
        "/pysrc/loss.py",
        "/models/decoder.onnx",
        "/models/decoder.bin",
        "/models/meta.json",
        "/models/README.md",
        "/training/vae.py",
    }


def test_root_serves_index(port: int) -> None:
    resp = fetch(port, "/")
    assert (resp.status, resp.body) == (200, INDEX)
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize(
    ("path", "mime"),
    [
        ("/index.html", "text/html; charset=utf-8"),
        ("/main.mjs", "text/javascript"),
        ("/big.js", "text/javascript"),
        ("/style.css", "text/css"),
        ("/pyscript.json", "application/json"),
        ("/vendor/ort/ort-wasm-simd-threaded.wasm", "application/wasm"),
        ("/vendor/katex/fonts/KaTeX_Main-Regular.woff2", "font/woff2"),
        ("/logo.png", "image/png"),
        ("/pysrc/loss.py", "text/x-python; charset=utf-8"),
        ("/training/vae.py", "text/x-python; charset=utf-8"),
        ("/models/decoder.onnx", "application/octet-stream"),
        ("/models/decoder.bin", "application/octet-stream"),
        ("/models/meta.json", "application/json"),
        ("/models/README.md", "text/markdown; charset=utf-8"),
    ],
)
def test_mime_types_and_bytes(port: int, tree: Path, path: str, mime: str) -> None:
    resp = fetch(port, path)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == mime
    assert resp.body == serve.site_map(tree).files[path].read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/../serve.py",
        "/%2e%2e/serve.py",
        "/%2E%2E%2Fserve.py",
        "/vendor/../../serve.py",
        "/vendor/%2e%2e/%2e%2e/serve.py",
        "//etc/passwd",
        "//serve.py",
        "/..%5cserve.py",
        "/..\\serve.py",
        "/vendor%2Fort%2Fort-wasm-simd-threaded.wasm",
        "/index.html%00",
        "/index.html%00.png",
        "/./index.html",
        "/web/index.html",
        "/.git/config",
        "/serve.py",
        "/pyproject.toml",
        "/etc/passwd",
        "/.hidden",
        "/leak.txt",
        "/leakdir/secret.txt",
        "/pysrc/notes.txt",
        "/models/decoder.h5",
        "http://127.0.0.1/serve.py",
    ],
)
def test_nothing_outside_the_site_map_is_served(port: int, path: str) -> None:
    resp = fetch(port, path)
    assert resp.status in (403, 404)
    assert SECRET not in resp.body


def test_symlink_escaping_the_root_is_refused_even_if_mapped(tree: Path) -> None:
    site = serve.site_map(tree)
    site.files["/leak.txt"] = tree / "web" / "leak.txt"  # as if the link changed after the map was built
    server, thread = _start(site)
    try:
        resp = fetch(server.server_address[1], "/leak.txt")
    finally:
        _stop(server, thread)
    assert resp.status == 403
    assert SECRET not in resp.body


def test_raw_traversal_bytes_are_not_served(port: int) -> None:
    for target in (b"/../serve.py", b"/\x00", b"/\xff\xfe", b"/..\\..\\serve.py"):
        reply = raw(port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 404 ")
        assert SECRET not in reply


@pytest.mark.parametrize("path", ["/vendor/", "/vendor", "/pysrc/", "/models/", "/training/", "/vendor/ort/"])
def test_no_directory_listing(port: int, path: str) -> None:
    assert fetch(port, path).status == 404


def test_security_headers_on_every_response(port: int) -> None:
    for path in ("/", "/vendor/ort/ort-wasm-simd-threaded.wasm", "/missing"):
        headers = fetch(port, path).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Content-Security-Policy"] == serve.CSP
        assert "Python" not in headers["Server"]


def test_cache_control(port: int) -> None:
    assert fetch(port, "/vendor/ort/ort-wasm-simd-threaded.wasm").headers["Cache-Control"] == (
        "public, max-age=31536000, immutable"
    )
    assert fetch(port, "/index.html").headers["Cache-Control"] == "no-cache"
    assert fetch(port, "/models/decoder.onnx").headers["Cache-Control"] == "no-cache"


def test_etag_and_not_modified(port: int) -> None:
    first = fetch(port, "/main.mjs")
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert fetch(port, "/main.mjs").headers["ETag"] == etag
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = fetch(port, "/main.mjs", {"If-None-Match": header})
        assert (again.status, again.body) == (304, b"")
        assert again.headers["ETag"] == etag
    assert fetch(port, "/main.mjs", {"If-None-Match": '"other"'}).status == 200
    assert fetch(port, "/style.css").headers["ETag"] != etag


def test_etag_follows_file_changes(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    page = tmp_path / "web" / "index.html"
    page.write_bytes(b"one")
    server, thread = _start(serve.site_map(tmp_path))
    try:
        first = fetch(server.server_address[1], "/")
        page.write_bytes(b"second")
        second = fetch(server.server_address[1], "/", {"If-None-Match": first.headers["ETag"]})
    finally:
        _stop(server, thread)
    assert (second.status, second.body) == (200, b"second")


@pytest.mark.parametrize(
    "path", ["/big.js", "/index.html", "/vendor/ort/ort-wasm-simd-threaded.wasm", "/models/decoder.onnx"]
)
def test_gzip_round_trip(port: int, tree: Path, path: str) -> None:
    plain = fetch(port, path)
    packed = fetch(port, path, {"Accept-Encoding": "br, gzip;q=0.8"})
    assert packed.status == 200
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Vary"] == "Accept-Encoding"
    assert int(packed.headers["Content-Length"]) == len(packed.body)
    assert gzip.decompress(packed.body) == plain.body == serve.site_map(tree).files[path].read_bytes()
    assert packed.headers["ETag"] != plain.headers["ETag"]
    assert fetch(port, path, {"If-None-Match": packed.headers["ETag"], "Accept-Encoding": "gzip"}).status == 304


def test_brotli_sibling_served_when_accepted(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "web").mkdir(parents=True)
    (root / "web" / "index.html").write_bytes(b"<!doctype html>" * 100)
    (root / "web" / "app.js").write_bytes(b"console.log(1);" * 100)
    (root / "web" / "app.js.br").write_bytes(b"pretend-brotli")
    site = serve.site_map(root)
    assert "/app.js.br" not in site.files  # the sibling is an encoding, never a URL of its own
    server, thread = _start(site)
    try:
        port = server.server_address[1]
        br = fetch(port, "/app.js", {"Accept-Encoding": "gzip, deflate, br"})
        assert (br.status, br.headers["Content-Encoding"], br.body) == (200, "br", b"pretend-brotli")
        assert br.headers["Vary"] == "Accept-Encoding" and br.headers["Content-Type"] == "text/javascript"
        gz = fetch(port, "/app.js", {"Accept-Encoding": "gzip"})
        assert gz.headers["Content-Encoding"] == "gzip" and gzip.decompress(gz.body) == b"console.log(1);" * 100
        assert gz.headers["ETag"] != br.headers["ETag"]
        none = fetch(port, "/app.js", {"Accept-Encoding": "br;q=0, identity"})
        assert none.headers.get("Content-Encoding") is None and none.body == b"console.log(1);" * 100
        assert fetch(port, "/app.js.br").status == 404
    finally:
        _stop(server, thread)


def test_gzip_only_when_accepted_and_useful(port: int) -> None:
    assert "Content-Encoding" not in fetch(port, "/big.js").headers
    assert "Content-Encoding" not in fetch(port, "/big.js", {"Accept-Encoding": "gzip;q=0"}).headers
    assert "Content-Encoding" not in fetch(port, "/big.js", {"Accept-Encoding": "identity"}).headers
    for path in ("/logo.png", "/vendor/katex/fonts/KaTeX_Main-Regular.woff2"):
        headers = fetch(port, path, {"Accept-Encoding": "gzip"}).headers
        assert "Content-Encoding" not in headers
        assert "Vary" not in headers
    assert len(fetch(port, "/big.js", {"Accept-Encoding": "gzip"}).body) < len(BIG_JS) // 20


def test_head_has_get_headers_and_no_body(port: int) -> None:
    get = fetch(port, "/big.js", {"Accept-Encoding": "gzip"})
    head = fetch(port, "/big.js", {"Accept-Encoding": "gzip"}, method="HEAD")
    assert (head.status, head.body) == (200, b"")
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    assert head.headers["ETag"] == get.headers["ETag"]


def test_other_methods_are_not_allowed(port: int) -> None:
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"):
        resp = fetch(port, "/", method=method)
        assert resp.status == 405
        assert resp.headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"garbage\r\n\r\n", 400),
        (b"GET /\r\n\r\n", 400),  # HTTP/0.9: its reply would have no status line or headers
        (b"GET / HTTP/abc\r\n\r\n", 400),
        (b"GET / HTTP/1.1 extra\r\n\r\n", 400),
        (b"GET / HTTP/9.9\r\n\r\n", 505),  # well-formed but unsupported: the RFC 9110 answer
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 150 + b"\r\n", 431),
        (b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 405),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200) + b"\r\n\r\n", 400),  # TLS hello
    ],
)
def test_malformed_requests_get_a_clean_error(
    port: int, capsys: pytest.CaptureFixture[str], request_bytes: bytes, status: int
) -> None:
    reply = raw(port, request_bytes)
    assert reply.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"X-Content-Type-Options: nosniff" in reply
    assert b"Traceback" not in reply
    assert "Traceback" not in capsys.readouterr().err


def test_an_internal_error_is_a_500_without_a_traceback(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(header: str | None, etag: str) -> bool:
        raise RuntimeError("boom")

    monkeypatch.setattr(serve, "_etag_matches", explode)
    server, thread = _start(serve.site_map(tree))
    try:
        resp = fetch(server.server_address[1], "/index.html")
    finally:
        _stop(server, thread)
    assert resp.status == 500
    assert b"Traceback" not in resp.body
    assert b"boom" not in resp.body
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "boom" in err


def test_log_is_one_escaped_line_per_request(port: int, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    raw(port, b"GET /\x1b[31mred HTTP/1.1\r\n\r\n")
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "\x1b" not in err
    assert '"GET /\\x1b[31mred HTTP/1.1" 404' in err


def test_client_hanging_up_mid_response_is_one_line(port: int, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    big = b"GET /vendor/ort/ort-wasm-simd-threaded.wasm HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        sock.sendall(big * 20)  # far more than the socket buffers hold
        assert sock.recv(16).startswith(b"HTTP/1.1 200")
    err = ""
    for _ in range(100):
        err += capsys.readouterr().err
        if "connection error" in err:
            break
        time.sleep(0.05)
    assert "connection error" in err
    assert "Traceback" not in err
    assert fetch(port, "/").status == 200


def test_200_concurrent_requests(port: int, tree: Path) -> None:
    site = serve.site_map(tree)
    paths = ["/", "/big.js", "/vendor/ort/ort-wasm-simd-threaded.wasm", "/models/decoder.onnx", "/style.css"]

    def one(i: int) -> bool:
        path = paths[i % len(paths)]
        packed = i % 2 == 0
        resp = fetch(port, path, {"Accept-Encoding": "gzip" if packed else "identity"})
        body = gzip.decompress(resp.body) if packed else resp.body
        return resp.status == 200 and body == site.files["/index.html" if path == "/" else path].read_bytes()

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(one, range(200), timeout=30))
    assert all(results)


def test_build_writes_the_site_and_gzip_siblings(tree: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dist"
    count, size, packed = serve.build(dest, tree)
    site = serve.site_map(tree)
    assert count == len(site.files)
    assert size == sum(p.stat().st_size for p in site.files.values())
    built = {"/" + p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}
    gz = {url + ".gz" for url, p in site.files.items() if p.suffix in serve.COMPRESSIBLE}
    assert built == set(site.files) | gz | {"/" + serve.BUILD_MARKER}
    assert "/logo.png.gz" not in built
    assert packed == sum((dest / url.lstrip("/")).stat().st_size for url in gz)
    for url, path in site.files.items():
        assert (dest / url.lstrip("/")).read_bytes() == path.read_bytes()
        if url + ".gz" in gz:
            assert gzip.decompress((dest / (url.lstrip("/") + ".gz")).read_bytes()) == path.read_bytes()

    serve.build(dest, tree)  # a folder it built before may be rebuilt
    assert (dest / "index.html").read_bytes() == INDEX


def test_build_output_works_on_a_plain_static_server(tree: Path, tmp_path: Path) -> None:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    dest = tmp_path / "site"
    serve.build(dest, tree)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(dest)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        assert fetch(port, "/").body == INDEX
        assert fetch(port, "/index.html").body == INDEX
        assert fetch(port, "/pysrc/loss.py").body == FILES["pysrc/loss.py"]
    finally:
        _stop(server, thread)


def test_build_refuses_unsafe_destinations(tree: Path, tmp_path: Path) -> None:
    for dest in (tree, tree / "web", tree / "web" / "out", tree.parent):
        with pytest.raises(serve.SetupError):
            serve.build(dest, tree)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine")
    with pytest.raises(serve.SetupError, match="marker"):
        serve.build(precious, tree)
    assert (precious / "keep.txt").read_text() == "mine"
    assert (tree / "serve.py").read_bytes() == SECRET


def test_main_build_refuses_repo_root(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve, "_ensure_vendor", lambda: None)
    assert serve.main(["--build", str(serve.ROOT)]) == 2
    assert "refusing" in capsys.readouterr().err


needs_node_modules = pytest.mark.skipif(not serve.NODE_MODULES.is_dir(), reason="node_modules missing: npm ci")


@needs_node_modules
def test_vendor_copies_the_listed_files(tmp_path: Path) -> None:
    dest = tmp_path / "vendor"
    count = serve.vendor(serve.NODE_MODULES, dest)
    files = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}
    brotli = {f for f in files if f.endswith(".br")}
    assert count == len(files) - len(brotli) - 1  # plus the marker and the precompressed siblings
    assert {
        "pyscript/core.js",
        "pyscript/core.css",
        "pyodide/pyodide.mjs",
        "pyodide/pyodide.asm.js",
        "pyodide/pyodide.asm.wasm",
        "pyodide/python_stdlib.zip",
        "pyodide/pyodide-lock.json",
        "ort/ort.wasm.min.mjs",
        "ort/ort-wasm-simd-threaded.mjs",
        "ort/ort-wasm-simd-threaded.wasm",
        "katex/katex.min.css",
        "katex/katex.mjs",
        "katex/fonts/KaTeX_Main-Regular.woff2",
        "hljs/core.mjs",
        "hljs/python.js",
        "hljs/github.css",
        serve.VENDOR_MARKER,
    } <= files
    assert not [f for f in files if f.endswith(".map")]
    assert {f.rsplit(".", 1)[1] for f in files if f.startswith("katex/fonts/")} == {"woff2"}
    assert (dest / "ort/ort-wasm-simd-threaded.wasm").read_bytes() == (
        serve.NODE_MODULES / "onnxruntime-web/dist/ort-wasm-simd-threaded.wasm"
    ).read_bytes()
    # Large compressible files get a brotli sibling (made with node); small ones and fonts do not.
    if shutil.which("node"):
        assert {"ort/ort-wasm-simd-threaded.wasm.br", "pyodide/pyodide.asm.wasm.br"} <= brotli
        assert not [f for f in brotli if f.startswith("katex/fonts/")]
        unpacked = subprocess.run(
            [
                "node",
                "-e",
                "process.stdout.write(require('zlib').brotliDecompressSync(require('fs')"
                ".readFileSync(process.argv[1])))",
                str(dest / "ort/ort-wasm-simd-threaded.wasm.br"),
            ],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        assert unpacked == (dest / "ort/ort-wasm-simd-threaded.wasm").read_bytes()
    # The stdlib zip is re-stored uncompressed (Pyodide imports from it as is), with the same members.
    original = zipfile.ZipFile(serve.NODE_MODULES / "pyodide/python_stdlib.zip")
    stored = zipfile.ZipFile(dest / "pyodide/python_stdlib.zip")
    assert {i.compress_type for i in stored.infolist()} == {zipfile.ZIP_STORED}
    assert [i.filename for i in stored.infolist()] == [i.filename for i in original.infolist()]
    assert stored.read("asyncio/__init__.py") == original.read("asyncio/__init__.py")
    original.close()
    stored.close()
    # The highlight.js files must import nothing the browser cannot resolve.
    for name in ("core.mjs", "python.js"):
        text = (dest / "hljs" / name).read_text()
        assert not re.findall(r"^\s*import\b|\brequire\(", text, re.MULTILINE)
        assert re.search(r"^export (default|\{)", text, re.MULTILINE)

    serve.vendor(serve.NODE_MODULES, dest)  # vendoring again replaces its own folder


@needs_node_modules
@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_vendored_highlight_js_runs_as_an_es_module(tmp_path: Path) -> None:
    dest = tmp_path / "vendor"
    serve.vendor(serve.NODE_MODULES, dest)
    script = (
        'import hljs from "./vendor/hljs/core.mjs"; import python from "./vendor/hljs/python.js";'
        'hljs.registerLanguage("python", python);'
        'console.log(hljs.highlight("def f(): pass", {language: "python"}).value);'
    )
    (tmp_path / "check.mjs").write_text(script)
    out = subprocess.run(["node", str(tmp_path / "check.mjs")], capture_output=True, text=True, timeout=30, check=True)
    assert '<span class="hljs-keyword">def</span>' in out.stdout


@needs_node_modules
def test_serving_vendors_again_only_when_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lockfile = tmp_path / "package-lock.json"
    lockfile.write_text("{}")
    os.utime(lockfile, (1_000_000_000, 1_000_000_000))
    monkeypatch.setattr(serve, "VENDOR_DIR", tmp_path / "web" / "vendor")
    monkeypatch.setattr(serve, "LOCKFILE", lockfile)
    marker = tmp_path / "web" / "vendor" / serve.VENDOR_MARKER

    serve._ensure_vendor()
    assert marker.is_file()
    os.utime(marker, (1_500_000_000, 1_500_000_000))
    serve._ensure_vendor()
    assert marker.stat().st_mtime == 1_500_000_000  # up to date: left alone
    lockfile.touch()
    serve._ensure_vendor()
    assert marker.stat().st_mtime > 1_500_000_000  # package-lock.json changed: vendored again
    assert capsys.readouterr().out.count("Vendoring") == 2


def test_vendor_without_node_modules_says_npm_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(serve, "NODE_MODULES", tmp_path / "node_modules")
    monkeypatch.setattr(serve, "VENDOR_DIR", tmp_path / "web" / "vendor")
    assert serve.main(["--vendor"]) == 2
    assert "npm ci" in capsys.readouterr().err
    assert not (tmp_path / "web" / "vendor").exists()


def test_real_repository_site_map(capsys: pytest.CaptureFixture[str]) -> None:
    site = serve.site_map(serve.ROOT)
    wasm = "/vendor/ort/ort-wasm-simd-threaded.wasm"
    pysrc = sorted(url for url in site.files if url.startswith("/pysrc/"))
    if wasm not in site.files or not pysrc:
        pytest.skip("web/vendor or pysrc/ not there yet (run `python serve.py --vendor`)")
    assert not [url for url in site.files if url.startswith(("/.", "/node_modules", "/tests"))]
    assert "/serve.py" not in site.files
    assert not [url for url in site.files if "axe" in url]  # the accessibility tests' checker is never shipped
    server, thread = _start(site)
    try:
        port = server.server_address[1]
        for path in ("/node_modules/axe-core/axe.min.js", "/vendor/axe-core/axe.min.js", "/axe.min.js"):
            assert fetch(port, path).status == 404
        assert fetch(port, wasm, method="HEAD").headers["Content-Type"] == "application/wasm"
        resp = fetch(port, pysrc[0])
        assert resp.headers["Content-Type"] == "text/x-python; charset=utf-8"
        assert resp.body == site.files[pysrc[0]].read_bytes()
    finally:
        _stop(server, thread)


def test_brotli_quality_is_asked_for_and_a_better_folder_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make test` asks for quality 5; a folder made at 11 serves it too, but one made at 5 is not enough for 11."""
    monkeypatch.setenv("VAE_BROTLI_QUALITY", "5")
    asked = serve._vendor_stamp()
    assert asked.endswith(" brotli-5") and serve.brotli_quality() == 5
    assert serve._stamp_current(asked.replace("brotli-5", "brotli-11"), asked)
    assert not serve._stamp_current(asked, asked.replace("brotli-5", "brotli-11"))
    assert not serve._stamp_current("other runtime brotli-11", asked)
    for bad in ("12", "-1", "high", ""):
        monkeypatch.setenv("VAE_BROTLI_QUALITY", bad)
        with pytest.raises(serve.SetupError, match="VAE_BROTLI_QUALITY must be a whole number from 0 to 11"):
            serve.brotli_quality()
