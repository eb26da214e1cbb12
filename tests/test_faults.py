"""Faults at load: each broken file gets a specific message, what can still work keeps working, nothing spins.

The site is built once with `serve.py --build`, then each fault is a hard-linked copy with one file broken,
served by the standard library's plain static server: the static build must pass these checks on any host.
"""

import functools
import hashlib
import os
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from serving.build import build
from serving.folders import ROOT

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    dest = tmp_path_factory.mktemp("site") / "dist"
    build(dest, ROOT)
    return dest


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def broken_site(built, tmp_path):
    """A hard-linked copy of the build, one file replaced, served by http.server; yields (site dir, url)."""
    servers = []

    def make(path, content):
        site = tmp_path / "site"
        shutil.copytree(built, site, copy_function=os.link)
        target = site / path
        target.unlink()
        if content is not None:
            target.write_bytes(content)
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/"

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


def loaded(watch, url):
    """Open the page and wait until loading has ended one way or the other (never spinning)."""
    page = watch.open(url, ready=False)
    page.wait_for_selector("html[data-ready=true], #loading [data-status=failed]", state="attached", timeout=90_000)
    page.wait_for_selector("#message:not([hidden])", timeout=30_000)
    return page


def assert_nothing_spinning(page):
    page.wait_for_selector("html[data-ready=true]", state="attached", timeout=30_000)
    assert page.locator("#loading [data-status=loading]").count() == 0


def test_static_build_works_on_a_plain_server(built, broken_site, watch):
    url = broken_site("models/MODEL_CARD.md", b"# not needed by the page\n")
    page = watch.open(url)
    watch.settle()
    assert watch.errors == [] and watch.foreign == [] and watch.csp_violations == []
    assert page.locator("#scatter path").count() == 10
    assert len(watch.vector("mu")) == 2


def test_static_build_works_under_a_sub_path(built, tmp_path, watch):
    """Hosted at /vae/ on a plain static server, the page starts Python from its snapshot all the same."""
    shutil.copytree(built, tmp_path / "host" / "vae", copy_function=os.link)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path / "host")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = watch.open(f"http://127.0.0.1:{server.server_port}/vae/")
        watch.settle()
        assert page.evaluate("performance.getEntriesByName('vae:interpreter-ready')[0].detail") == "snapshot"
        assert watch.errors == [] and watch.foreign == [] and watch.csp_violations == []
        assert all(path.startswith("/vae/") for _, path in watch.requests)
        assert len(watch.vector("mu")) == 2
    finally:
        server.shutdown()
        server.server_close()


def test_missing_encoder(broken_site, watch):
    page = loaded(watch, broken_site("models/encoder.onnx", None))
    assert "models/encoder.onnx is missing" in page.inner_text("#message")
    assert_nothing_spinning(page)
    assert page.get_attribute("#loading [data-stage=models]", "data-status") == "failed"
    assert page.locator("#scatter path").count() == 10  # the latent map still works


def test_truncated_decoder(broken_site, built, watch):
    data = (built / "models/decoder.onnx").read_bytes()[:5000]
    page = loaded(watch, broken_site("models/decoder.onnx", data))
    assert re.search(r"models/decoder\.onnx is not a valid ONNX model \(5000 bytes\)", page.inner_text("#message"))
    assert_nothing_spinning(page)
    assert len(watch.vector("mu")) == 2  # the encoder still runs
    page.click("[data-preset='1']")
    watch.settle()
    assert len(watch.vector("mu")) == 2


def test_corrupt_encoder(broken_site, built, watch):
    size = (built / "models/encoder.onnx").stat().st_size
    page = loaded(watch, broken_site("models/encoder.onnx", bytes(range(256)) * (size // 256)))
    assert "models/encoder.onnx is not a valid ONNX model" in page.inner_text("#message")
    assert_nothing_spinning(page)


def test_latent_map_disagrees_with_manifest(broken_site, built, watch):
    data = (built / "models/latent_map.bin").read_bytes()[:-10]
    page = loaded(watch, broken_site("models/latent_map.bin", data))
    text = page.inner_text("#message")
    assert "models/latent_map.bin holds 89990 bytes, but its manifest declares 90000" in text
    assert_nothing_spinning(page)
    assert page.get_attribute("#loading [data-stage=map]", "data-status") == "failed"
    assert len(watch.vector("mu")) == 2  # the models still work


def test_missing_onnxruntime_wasm(broken_site, watch):
    page = loaded(watch, broken_site("vendor/ort/ort-wasm-simd-threaded.wasm", None))
    assert "onnxruntime-web could not start" in page.inner_text("#message")
    assert_nothing_spinning(page)


RUNTIME_FAULTS = [
    pytest.param("vendor/pyodide/pyodide.asm.wasm", None, "(HTTP 404)", id="missing-wasm"),
    pytest.param("vendor/pyodide/pyodide.asm.wasm", b"\0asm" + bytes(1000), "not valid WebAssembly", id="corrupt-wasm"),
    pytest.param("vendor/pyodide/pyodide-lock.json", None, "(HTTP 404)", id="missing-lock"),
    pytest.param("vendor/pyodide/python_stdlib.zip", None, "(HTTP 404)", id="missing-stdlib"),
    pytest.param("vendor/pyscript/core.js", None, "Could not load the PyScript runtime", id="missing-pyscript"),
]


@pytest.mark.parametrize(("path", "content", "why"), RUNTIME_FAULTS)
def test_broken_python_runtime_file_is_named_at_once(broken_site, watch, path, content, why):
    """Pyodide itself only logs these, or waits forever; the page names the file well before its 60 s timeout."""
    page = watch.open(broken_site(path, content), ready=False)
    page.wait_for_selector("#loading [data-stage=runtime][data-status=failed]", state="attached", timeout=30_000)
    message = page.inner_text("#message")
    assert f"/{path}" in message, message
    assert why in message, message
    assert "make serve" in message
    assert page.get_attribute("html", "data-ready") is None


def _other_build(data):
    """The snapshot as another Pyodide build would have made it: its build id (image bytes 16-48) differs."""
    body = bytearray(data[:-32])
    image_start = 8 + 8 * int.from_bytes(body[4:8], "little")  # after snapshot.mjs's list of zero runs
    body[image_start + 20] ^= 0xFF
    return bytes(body) + hashlib.sha256(body).digest()


SNAPSHOT_FAULTS = [
    pytest.param("snapshot/python.bin", lambda data: None, "snapshot/python.bin: HTTP 404", id="missing"),
    pytest.param("snapshot/python.bin", lambda data: data[: len(data) // 2], "checksum does not match", id="truncated"),
    pytest.param(
        "snapshot/python.bin",
        lambda data: data[:5_000_000] + bytes([data[5_000_000] ^ 1]) + data[5_000_001:],
        "checksum does not match",
        id="corrupt",
    ),
    pytest.param("snapshot/python.bin", _other_build, "Snapshot build id mismatch", id="other-pyodide"),
    pytest.param("snapshot/python_stdlib.zip", lambda data: None, "snapshot/python_stdlib.zip: HTTP 404", id="no-zip"),
]


@pytest.mark.parametrize(("path", "damage", "why"), SNAPSHOT_FAULTS)
def test_a_bad_snapshot_is_skipped_and_python_starts_without_it(broken_site, built, watch, path, damage, why):
    page = watch.open(broken_site(path, damage((built / path).read_bytes())))
    watch.settle()
    ours = [w for w in watch.warnings if w.startswith("VAE Explainer")]
    assert len(ours) == 1 and ours[0].startswith("VAE Explainer: Python starts without its snapshot (")
    assert any(why in w for w in watch.warnings), watch.warnings
    assert page.evaluate("performance.getEntriesByName('vae:interpreter-ready')[0].detail") == "no snapshot"
    assert page.locator("#message").is_hidden()
    assert len(watch.vector("mu")) == 2
    page.click("[data-preset='7']")
    watch.settle()
    assert len(watch.vector("mu")) == 2


def test_a_core_module_changed_since_the_snapshot_is_read_from_its_file(broken_site, built, watch):
    source = (built / "pysrc/page/svg.py").read_text() + "\nCHANGED_AFTER_THE_SNAPSHOT = True\n"
    page = watch.open(broken_site("pysrc/page/svg.py", source.encode()))
    watch.settle()
    assert page.evaluate("performance.getEntriesByName('vae:interpreter-ready')[0].detail") == "snapshot"
    changed = [w for w in watch.warnings if "changed since the Python snapshot was made: read from the file" in w]
    assert len(changed) == 1 and "page/svg.py" in changed[0]
    fresh = "from page import svg; from vae import latent_plot; from vae.browser import latent_view; "
    fresh += "latent_view.num is svg.num is latent_plot.num"
    assert watch.python(fresh) and watch.python("from page import svg; svg.CHANGED_AFTER_THE_SNAPSHOT")
    assert page.locator("#message").is_hidden() and len(watch.vector("mu")) == 2


# ---- the "Why the KL term?" view: a broken checkpoint is named, the rest keeps working ----


def open_kl(watch, url, **state):
    from page.state import AppState, encode_hash

    page = watch.open(url + "#" + encode_hash(AppState(panels={"kl"}, **state)))
    page.wait_for_selector("#kl-status:not(:empty)", timeout=30_000)
    page.wait_for_function("() => !document.getElementById('kl-status').textContent.includes('…')", timeout=60_000)
    return page


def test_a_corrupt_checkpoint_is_named_and_the_rest_keeps_working(broken_site, built, watch):
    path = "models/kl/epoch-05/encoder.onnx"
    data = bytearray((built / path).read_bytes())
    data[len(data) // 2] ^= 0xFF  # same length: only its sha256 tells
    page = open_kl(watch, broken_site(path, bytes(data)), kl_epoch=5)
    assert f"{path} is corrupt" in page.inner_text("#kl-status")
    assert "kl-status-error" in page.get_attribute("#kl-status", "class")
    # The page and the view's other checkpoints still work.
    page.focus("#kl-epoch")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.getElementById('kl-panel').dataset.shown === 'epoch-10'", timeout=60_000)
    page.click("[data-preset='1']")
    watch.settle()
    assert len(watch.vector("mu")) == 2
    assert not [e for e in watch.errors if "epoch-05" not in e]


def test_a_missing_kl_index_is_named(broken_site, watch):
    page = open_kl(watch, broken_site("models/kl/index.json", None))
    assert "models/kl/index.json is missing" in page.inner_text("#kl-status")
    watch.settle()
    assert len(watch.vector("mu")) == 2


# ---- the VQ-VAE view: a broken codebook or a model of the wrong shape is named, the VAE story keeps working ----


def _flipped(built, path):
    data = bytearray((built / path).read_bytes())
    data[len(data) // 2] ^= 0xFF  # same length: only its sha256 tells
    return bytes(data)


def _other_shape(built, path):
    """The manifest read as 32 codes of 4 numbers: the same bytes and sha256, so only the encoder can tell."""
    import json

    manifest = json.loads((built / path).read_text())
    manifest.update(num_codes=32, code_dim=4, shape=[32, 4])
    return json.dumps(manifest).encode()


@pytest.mark.parametrize(
    ("path", "content", "named"),
    [
        (
            "models/vq/codebook.bin",
            _flipped,
            "models/vq/codebook.bin does not match the sha256 in models/vq/codebook.json",
        ),
        (
            "models/vq/codebook.json",
            _other_shape,
            "models/vq/encoder.onnx gave 392 numbers, expected 196 (7×7 vectors of 4): the model and the codebook",
        ),
        (
            "models/vq/encoder.onnx",
            lambda built, path: (built / "models/encoder.onnx").read_bytes(),  # the VAE's: μ and log σ², not 7×7×8
            "models/vq/encoder.onnx gave 2 numbers, expected 392",
        ),
        (
            "models/vq/decoder.onnx",
            lambda built, path: (built / "models/decoder.onnx").read_bytes(),  # the VAE's: it wants z, 2 numbers
            "models/vq/decoder.onnx could not run on a 1×7×7×8 input",
        ),
    ],
)
def test_a_broken_vq_file_is_named_and_the_vae_keeps_working(broken_site, built, watch, path, content, named):
    from page.state import AppState, encode_hash

    url = broken_site(path, content(built, path))
    page = watch.open(url + "#" + encode_hash(AppState(panels={"vq"})))
    page.wait_for_selector("#vq-status.vq-status-error", timeout=60_000)
    assert named in page.inner_text("#vq-status")
    page.click("[data-preset='1']")
    watch.settle()
    assert len(watch.vector("mu")) == 2 and page.locator("#message").is_hidden()
    assert page.locator("#reconstruction.unavailable").count() == 0
    assert [e for e in watch.errors if "Traceback" in e or e.startswith("pageerror")] == []  # named, not crashed


def test_a_broken_prior_is_named_and_the_vq_view_keeps_working(watch, server_url):
    """pixelcnn.onnx missing, then a valid model of the wrong kind in its place (the VQ-VAE's decoder: it wants 7×7×8
    code vectors, not 7×7×16 one-hot codes), on one page: each named in the prior's line, the view still paints."""
    from page.state import AppState, encode_hash

    page = watch.open(server_url + "#" + encode_hash(AppState(preset=7, panels={"vq"})))
    page.wait_for_selector('#vq-reconstruction[data-codes]:not([data-codes=""])', state="attached", timeout=60_000)
    before = page.get_attribute("#vq-reconstruction", "data-codes")
    prior = "**/models/vq/pixelcnn.onnx"
    page.route(prior, lambda route: route.fulfill(status=404, body=b""))
    page.click("#vq-sample")
    page.wait_for_selector("#vq-prior-status.vq-status-error", timeout=60_000)
    assert "models/vq/pixelcnn.onnx is missing (the server answered 404)" in page.inner_text("#vq-prior-status")
    page.unroute(prior)
    decoder = (ROOT / "models/vq/decoder.onnx").read_bytes()
    page.route(prior, lambda route: route.fulfill(body=decoder))
    page.click("#vq-sample")  # pressing again loads again
    page.wait_for_selector("#vq-prior-status:has-text('could not run')", timeout=60_000)
    assert "models/vq/pixelcnn.onnx could not run on a 1×7×7×16 input" in page.inner_text("#vq-prior-status")
    page.wait_for_selector(f"#vq-reconstruction[data-codes='{before}']", state="attached")  # the grid is back
    page.click("[data-vq-code='3']")
    page.click("#vq-fill")  # painting and decoding still work
    page.wait_for_selector("#vq-reconstruction[data-codes='" + ",".join(["3"] * 49) + "']", state="attached")
    assert "vq-status-error" not in page.get_attribute("#vq-status", "class")
    assert [e for e in watch.errors if "Traceback" in e or e.startswith("pageerror")] == []
