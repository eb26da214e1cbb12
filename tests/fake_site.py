"""A small fake repository and an in-process server for it, shared by the serve.py and static build tests, so
they do not depend on files other people are still writing."""

import http.client
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import serve
from serving.sitemap import Site

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


def make_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small fake repository: the app's files, files that must never be served, and symlinks out of it."""
    root = tmp_path_factory.mktemp("repo")
    for name, data in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    outside = tmp_path_factory.mktemp("outside") / "secret.txt"
    outside.write_bytes(SECRET)
    (root / "web" / "leak.txt").symlink_to(outside)
    (root / "web" / "leakdir").symlink_to(outside.parent, target_is_directory=True)
    return root


def start(site: Site) -> tuple[ThreadingHTTPServer, threading.Thread]:
    server = serve.make_server(site, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


def stop(server: ThreadingHTTPServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def fetch(port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()
