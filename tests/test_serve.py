"""serve.py: the site map and the dev server's HTTP behaviour (the static build: test_build.py; vendoring and
brotli: test_vendoring.py).

Most tests serve a small fake repository under a temp folder (fake_site.py); one test checks the real
repository's site map when its files exist.
"""

import gzip
import re
import socket
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fake_site import BIG_JS, INDEX, SECRET, fetch, make_tree, start, stop

import serve
from serving.folders import ROOT
from serving.sitemap import site_map


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory)


@pytest.fixture(scope="module")
def port(tree: Path) -> Iterator[int]:
    server, thread = start(site_map(tree))
    yield server.server_address[1]
    stop(server, thread)


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
    assert set(site_map(tree).files) == {
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
    assert resp.body == site_map(tree).files[path].read_bytes()


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
    site = site_map(tree)
    site.files["/leak.txt"] = tree / "web" / "leak.txt"  # as if the link changed after the map was built
    server, thread = start(site)
    try:
        resp = fetch(server.server_address[1], "/leak.txt")
    finally:
        stop(server, thread)
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
    server, thread = start(site_map(tmp_path))
    try:
        first = fetch(server.server_address[1], "/")
        page.write_bytes(b"second")
        second = fetch(server.server_address[1], "/", {"If-None-Match": first.headers["ETag"]})
    finally:
        stop(server, thread)
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
    assert gzip.decompress(packed.body) == plain.body == site_map(tree).files[path].read_bytes()
    assert packed.headers["ETag"] != plain.headers["ETag"]
    assert fetch(port, path, {"If-None-Match": packed.headers["ETag"], "Accept-Encoding": "gzip"}).status == 304


def test_brotli_sibling_served_when_accepted(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "web").mkdir(parents=True)
    (root / "web" / "index.html").write_bytes(b"<!doctype html>" * 100)
    (root / "web" / "app.js").write_bytes(b"console.log(1);" * 100)
    (root / "web" / "app.js.br").write_bytes(b"pretend-brotli")
    site = site_map(root)
    assert "/app.js.br" not in site.files  # the sibling is an encoding, never a URL of its own
    server, thread = start(site)
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
        stop(server, thread)


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
    server, thread = start(site_map(tree))
    try:
        resp = fetch(server.server_address[1], "/index.html")
    finally:
        stop(server, thread)
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
    site = site_map(tree)
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


def test_real_repository_site_map(capsys: pytest.CaptureFixture[str]) -> None:
    site = site_map(ROOT)
    wasm = "/vendor/ort/ort-wasm-simd-threaded.wasm"
    pysrc = sorted(url for url in site.files if url.startswith("/pysrc/"))
    if wasm not in site.files or not pysrc:
        pytest.skip("web/vendor or pysrc/ not there yet (run `python serve.py --vendor`)")
    assert not [url for url in site.files if url.startswith(("/.", "/node_modules", "/tests"))]
    assert "/serve.py" not in site.files
    assert not [url for url in site.files if "axe" in url]  # the accessibility tests' checker is never shipped
    server, thread = start(site)
    try:
        port = server.server_address[1]
        for path in ("/node_modules/axe-core/axe.min.js", "/vendor/axe-core/axe.min.js", "/axe.min.js"):
            assert fetch(port, path).status == 404
        assert fetch(port, wasm, method="HEAD").headers["Content-Type"] == "application/wasm"
        resp = fetch(port, pysrc[0])
        assert resp.headers["Content-Type"] == "text/x-python; charset=utf-8"
        assert resp.body == site.files[pysrc[0]].read_bytes()
    finally:
        stop(server, thread)
