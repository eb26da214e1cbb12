"""End to end, "Explain VQ-VAE details": the real `VectorQuantizer` code beside the live graph, inside the VQ-VAE
view. Its numbers are onnxruntime + the page's quantiser in CPython; code and graph light each other up; the URL
restores it; nothing of it loads before the VQ-VAE view is opened. One page for the whole story."""

import io
import json

import numpy as np
import pytest
from test_details import PART_POINT_JS
from test_layout import DESKTOPS, PHONE, open_page
from test_page import SEVEN
from test_vq_view import TIMEOUT_MS, preset_pixels, wait_decoded

from page import code_panel
from page.state import decode_hash
from training.evaluate import session
from training.mnist import REPO
from vq import graph as vq_graph
from vq import grid as vq_grid
from vq import quantizer

pytestmark = pytest.mark.browser

VQ = REPO / "models" / "vq"
LINES_JS = """() => Array.from(document.querySelectorAll('#vq-code-lines .code-line')).map(
    line => [Number(line.children[0].textContent), line.dataset.source, line.dataset.parts])"""
LIT_JS = """() => ({
    parts: Array.from(document.querySelectorAll('#vq-graph [data-part].lit')).map(e => e.dataset.part),
    lines: Array.from(document.querySelectorAll('#vq-code-lines .code-line'))
        .map((l, i) => l.classList.contains('lit') ? i : -1).filter(i => i >= 0),
})"""


@pytest.fixture(scope="module")
def reference():
    """pixels → (vectors, indices, distances): the shipped encoder in onnxruntime and the page's quantiser."""
    codebook = quantizer.parse_codebook((VQ / "codebook.json").read_text(), (VQ / "codebook.bin").read_bytes())
    encoder = session(VQ / "encoder.onnx")

    def encode(pixels):
        (flat,) = encoder.run(None, {"image": np.asarray(pixels, np.float32).reshape(1, 28, 28, 1)})
        vectors = quantizer.grid_vectors(flat.reshape(-1).tolist(), len(codebook[0]))
        indices, _, distances = quantizer.quantize(vectors, codebook)
        return vectors, indices, distances

    return codebook, encode


def assert_shows(page, codebook, vectors, indices, shown):
    """The page's graph shows this input: the indices, and the two losses of CPython within 1e-6 relative."""
    page.wait_for_function(
        "(c) => document.getElementById('vqg-indices').dataset.indices === c",
        arg=",".join(map(str, indices)),
        timeout=TIMEOUT_MS,
    )
    expected = quantizer.quantization_losses(vectors, quantizer.lookup(indices, codebook), vq_graph.COMMITMENT_COST)
    for name, value in zip(("codebook-loss", "commitment-loss"), expected, strict=True):
        assert float(page.get_attribute(f"#vqg-{name}", "data-value")) == pytest.approx(value, rel=1e-6), name
    painted = sum(a != b for a, b in zip(indices, shown, strict=True))
    assert page.text_content("#vqg-decoder-note") == (f"cells painted: {painted}" if painted else "nearest codes")


def test_vq_details_show_the_layers_code_and_numbers_linked_both_ways(watch, server_url, reference):
    codebook, encode = reference
    page = watch.open_state(server_url, preset=7)
    early = [p for _, p in watch.requests if p.startswith(("/pysrc/vq_", "/training/"))]
    assert early == [] and page.evaluate("() => document.getElementById('vq-graph').childElementCount") == 0
    page.click("#vq-toggle")
    vectors, indices, _ = encode(preset_pixels(7))
    wait_decoded(page, indices)
    requested = {p for _, p in watch.requests}
    # with the VQ-VAE view, not before it
    assert {
        "/pysrc/vq/graph.py",
        "/pysrc/vq/browser/details_view.py",
    } <= requested  # with the VQ-VAE view, not before it
    assert "/training/vqvae.py" not in requested and page.is_hidden("#vq-details")  # the code: when opened
    assert page.get_attribute("#vq-details-toggle", "aria-expanded") == "false"

    page.click("#vq-details-toggle")
    assert page.get_attribute("#vq-details-toggle", "aria-expanded") == "true"
    page.wait_for_selector("#vq-code-lines .code-line", state="attached", timeout=TIMEOUT_MS)
    assert_shows(page, codebook, vectors, indices, indices)
    assert decode_hash(page.evaluate("() => location.hash")).vq_details

    # The code is `VectorQuantizer`, line for line as training/vqvae.py has it, maths typeset.
    source = (REPO / vq_graph.SOURCE).read_text(encoding="utf-8")
    (snippet,) = code_panel.extract(source, vq_graph.NAMES, vq_graph.SOURCE)
    lines = page.evaluate(LINES_JS)
    assert [(n, text) for n, text, _ in lines] == [
        (snippet.first_line + k, line.rstrip("\r\n"))
        for k, line in enumerate(io.StringIO(snippet.text, newline="").readlines())
    ]
    assert page.locator("#vq-code-lines .katex").count() >= 8
    parts_of = [set(parts.split()) for _, _, parts in lines]
    graph_parts = page.evaluate(
        "() => Array.from(document.querySelectorAll('#vq-graph [data-part]'), e => e.dataset.part)"
    )
    assert graph_parts == list(vq_graph.PARTS)

    # A code line lights its graph part; a graph part lights its code lines; leaving clears both.
    argmin_line = next(k for k, (_, text, _) in enumerate(lines) if "ops.argmin(" in text)
    page.locator("#vq-code-lines .code-line").nth(argmin_line).hover()
    assert page.evaluate(LIT_JS)["parts"] == ["argmin"]
    page.locator("#vq-graph").scroll_into_view_if_needed()
    for part in vq_graph.PARTS:
        point = page.evaluate(PART_POINT_JS.replace("#graph", "#vq-graph"), part)
        assert point is not None, f"no visible point of the graph's {part} part"
        page.mouse.move(*point)
        lit = page.evaluate(LIT_JS)
        assert lit == {"parts": [part], "lines": [k for k, parts in enumerate(parts_of) if part in parts]}, part
    page.mouse.move(0, 0)
    assert page.evaluate(LIT_JS) == {"parts": [], "lines": []}
    page.focus("#vq-graph [data-part='commitment_loss']")  # and by keyboard
    assert page.evaluate(LIT_JS)["lines"] == [k for k, parts in enumerate(parts_of) if "commitment_loss" in parts]

    # Pointing at a cell outlines its row; painting changes what the decoder sees, not the layer's losses.
    page.hover("#vq-vectors [data-cell='10']")
    page.wait_for_function(
        "(y) => document.getElementById('vqg-focus').getAttribute('y') === y", arg=str(vq_graph.TOP + 10 * vq_graph.ROW)
    )
    far = next(k for k in range(len(codebook)) if k != indices[24])
    page.click(f"[data-vq-code='{far}']")
    page.click("#vq-cell-24")
    shown = list(indices)
    shown[24] = far
    wait_decoded(page, shown)
    assert_shows(page, codebook, vectors, indices, shown)
    assert "Your painted grid (1 of 49 cells)" in page.text_content("#vq-losses-words")

    # A new drawing: the graph follows it (the painted cell stays painted).
    page.locator("#draw-canvas").scroll_into_view_if_needed()
    watch.draw(SEVEN)
    watch.settle()
    pixels = json.loads(watch.python("import json, __main__; json.dumps(__main__.app.pixels)"))
    drawn_vectors, drawn, _ = encode(pixels)
    drawn_shown = vq_grid.apply_edits(drawn, [far if c == 24 else None for c in range(49)])
    assert_shows(page, codebook, drawn_vectors, drawn, drawn_shown)

    # The link restores the open details; the toggle closes them again.
    fresh = watch.open(page.url)
    fresh.wait_for_selector("#vq-code-lines .code-line", state="attached", timeout=TIMEOUT_MS)
    assert fresh.get_attribute("#vq-details-toggle", "aria-expanded") == "true"
    assert_shows(fresh, codebook, drawn_vectors, drawn, drawn_shown)
    fresh.click("#vq-details-toggle")
    assert fresh.is_hidden("#vq-details")
    assert not decode_hash(fresh.evaluate("() => location.hash")).vq_details
    assert watch.errors == [] and watch.csp_violations == []


@pytest.mark.parametrize("viewport", [DESKTOPS[1], PHONE], ids=lambda v: f"{v['width']}x{v['height']}")
def test_the_vq_vae_details_open_between_the_encoder_grid_and_the_quantised_grid(browser, server_url, viewport):
    """A zoom into the quantiser's step: on a laptop under the strip, from the encoder grid's left edge to the
    quantised grid's right; on a phone, where the strip is a column, under the encoder grid and over the quantised
    grid."""
    context, watch = open_page(browser, server_url, viewport)
    try:
        page = watch.page
        watch.settle()
        page.click("#vq-toggle")
        page.wait_for_selector('#vq-vectors[data-indices]:not([data-indices=""])', state="attached", timeout=60_000)
        page.click("#vq-details-toggle")
        page.wait_for_selector('#vqg-indices[data-indices]:not([data-indices=""])', state="attached")
        encoder, details, grid = (page.locator(p).bounding_box() for p in ("#vq-vectors", "#vq-details", "#vq-grid"))
        if viewport["width"] > 600:
            assert encoder["x"] - 0.5 <= details["x"] and details["x"] + details["width"] <= grid["x"] + grid["width"]
            assert details["y"] >= max(encoder["y"] + encoder["height"], grid["y"] + grid["height"])
        else:
            assert encoder["y"] + encoder["height"] <= details["y"]
            assert details["y"] + details["height"] <= grid["y"]
        assert watch.errors == []
    finally:
        context.close()
