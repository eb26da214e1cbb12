"""End to end for the VQ-VAE view: the real page, the real models/vq/ files, onnxruntime in CPython plus the page's
own quantiser as the reference. (A corrupt codebook or a wrong-shaped model is in test_faults.py.)"""

import json

import numpy as np
import pytest
from test_page import SEVEN, canvas_pixels
from test_prior import sample, shipped_network

from training.evaluate import session
from training.mnist import REPO
from vae import decoder
from vq import grid as vq_grid
from vq import quantizer

pytestmark = pytest.mark.browser

VQ = REPO / "models" / "vq"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def reference():
    """The CPython pipeline: (codebook, encode(pixels) → indices, decode(indices) → RGBA bytes)."""
    codebook = quantizer.parse_codebook((VQ / "codebook.json").read_text(), (VQ / "codebook.bin").read_bytes())
    enc, dec = session(VQ / "encoder.onnx"), session(VQ / "decoder.onnx")

    def encode(pixels):
        (flat,) = enc.run(None, {"image": np.asarray(pixels, np.float32).reshape(1, 28, 28, 1)})
        return quantizer.quantize(quantizer.grid_vectors(flat.reshape(-1).tolist(), 8), codebook)[0]

    def decode(indices):
        grid = np.array(quantizer.lookup(indices, codebook), np.float32).reshape(1, 7, 7, 8)
        (image,) = dec.run(None, {"quantized": grid})
        return decoder.grayscale_rgba(image.reshape(-1).tolist())

    return codebook, encode, decode


def preset_pixels(digit):
    data = (REPO / "models" / "presets.bin").read_bytes()[digit * 784 : (digit + 1) * 784]
    return [b / 255 for b in data]


def codes(indices):
    return ",".join(map(str, indices))


def wait_decoded(page, indices):
    page.wait_for_function(
        "(c) => document.getElementById('vq-reconstruction').dataset.codes === c",
        arg=codes(indices),
        timeout=TIMEOUT_MS,
    )


def wait_encoded(page, indices):
    page.wait_for_function(
        "(c) => document.getElementById('vq-vectors').dataset.indices === c", arg=codes(indices), timeout=TIMEOUT_MS
    )


def assert_reconstruction(page, rgba):
    shown = np.array(canvas_pixels(page, "#vq-reconstruction"), np.int16)
    assert np.abs(shown - np.frombuffer(bytes(rgba), np.uint8).astype(np.int16)).max() <= 1


def test_vq_view_loads_on_demand_quantises_like_cpython_and_decodes_the_painted_grid(watch, server_url, reference):
    _, encode, decode = reference
    page = watch.open_state(server_url, preset=7)
    page.wait_for_timeout(500)
    early = [p for _, p in watch.requests if "/models/vq" in p or "/pysrc/vq/" in p or "quantizer" in p]
    assert early == []

    page.click("#vq-toggle")
    indices = encode(preset_pixels(7))
    wait_encoded(page, indices)  # the page's 7×7 indices equal onnxruntime + the quantiser in CPython
    wait_decoded(page, indices)
    opened = {p for _, p in watch.requests}
    assert {
        "/pysrc/vq/quantizer.py",
        "/pysrc/vq/grid.py",
        "/pysrc/vq/browser/view.py",
        "/models/vq/codebook.bin",
    } <= opened
    assert_reconstruction(page, decode(indices))
    used = quantizer.codes_used(indices)
    assert page.inner_text("#vq-usage") == f"This input uses {used} of the 16 codes."
    assert [page.inner_text(f"#vq-count-{k}") for k in range(16)] == [str(indices.count(k)) for k in range(16)]
    # The centre cell's distances are shown, its argmin marked.
    assert page.get_attribute("#vq-distances", "data-cell") == "24"
    assert page.get_attribute("#vq-distances .argmin", "data-code") == str(indices[24])
    page.hover("#vq-vectors [data-cell='10']")  # pointing at another cell shows its distances
    page.wait_for_selector("#vq-distances[data-cell='10']")
    assert page.get_attribute("#vq-distances .argmin", "data-code") == str(indices[10])
    assert page.get_attribute("#vq-vectors .lit", "data-cell") == "10"

    # "What does code k mean": the grid filled with one code, decoded; Reset returns to the encoder's choice.
    k = next(c for c in range(16) if c not in {indices[cell] for cell in (24, 25, 43, 44, 45)})  # each a real edit
    page.click(f"[data-vq-code='{k}']")
    assert page.get_attribute(f"[data-vq-code='{k}']", "aria-pressed") == "true"
    page.click("#vq-fill")
    wait_decoded(page, [k] * 49)
    assert_reconstruction(page, decode([k] * 49))
    page.click("#vq-reset")
    wait_decoded(page, indices)
    assert page.is_disabled("#vq-reset")

    # Paint with the pointer (cell 24), then with the keyboard (arrow right to cell 25, Enter).
    page.click("#vq-cell-24")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.activeElement.id") == "vq-cell-25"
    assert page.get_attribute("#vq-distances", "data-cell") == "25"  # the focused cell's distances
    page.keyboard.press("Enter")
    edited = list(indices)
    edited[24] = edited[25] = k
    wait_decoded(page, edited)
    assert_reconstruction(page, decode(edited))
    assert page.inner_text("#vq-cell-24") == f"{k}•"
    assert page.get_attribute("#vq-distances .painted", "data-code") == str(k)

    # The URL restores the mode, the paint code and the edits.
    fresh = watch.open(page.url)
    wait_decoded(fresh, edited)
    assert fresh.get_attribute("#vq-toggle", "aria-expanded") == "true"
    assert fresh.get_attribute(f"[data-vq-code='{k}']", "aria-pressed") == "true"
    assert_reconstruction(fresh, decode(edited))

    # A finger dragged along the bottom row paints the cells it crosses.
    touch = fresh.context.new_cdp_session(fresh)
    centres = []
    for cell in (43, 44, 45):
        box = fresh.locator(f"#vq-cell-{cell}").bounding_box()
        centres.append((box["x"] + box["width"] / 2, box["y"] + box["height"] / 2))
    for kind, (x, y) in zip(("touchStart", "touchMove", "touchMove"), centres, strict=True):
        touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
    touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    edited[43] = edited[44] = edited[45] = k
    wait_decoded(fresh, edited)
    assert_reconstruction(fresh, decode(edited))

    # A new drawing is encoded again, and the painted cells stay painted over it.
    watch.draw(SEVEN)
    watch.settle()
    pixels = json.loads(watch.python("import json, __main__; json.dumps(__main__.app.pixels)"))
    drawn = encode(pixels)
    wait_encoded(fresh, drawn)
    wait_decoded(fresh, vq_grid.apply_edits(drawn, [k if c in (24, 25, 43, 44, 45) else None for c in range(49)]))
    assert watch.errors == [] and watch.csp_violations == []


LIT_JS = """() => {
    const all = (selector, key) => [...document.querySelectorAll(selector)].map(e => Number(e.dataset[key]));
    return {
        vectors: all('#vq-vectors .vq-vector.lit', 'cell'), cells: all('#vq-grid .vq-cell.lit', 'cell'),
        rows: all('#vq-codebook tr.lit', 'code').sort((a, b) => a - b),
        bars: all('#vq-distances .vq-dist.lit', 'code').sort((a, b) => a - b),
        distances: Number(document.getElementById('vq-distances').dataset.cell),
        graph: Number(document.getElementById('vqg-focus').dataset.cell),
    };
}"""
MARKED_JS = """() => ({
    pointing: document.getElementById('vq-flow').classList.contains('pointing'),
    vectors: [...document.querySelectorAll('#vq-vectors .vq-vector.marked')].map(e => Number(e.dataset.cell)),
    cells: [...document.querySelectorAll('#vq-grid .vq-cell.marked')].map(e => Number(e.dataset.cell)),
})"""
# A row of the details graph, in client coordinates: its middle, at the flattened z (vq.graph's own units).
ROW_POINT_JS = """([x, y]) => {
    const p = new DOMPoint(x, y).matrixTransform(document.getElementById('vq-graph').getScreenCTM());
    return [p.x, p.y];
}"""


def test_one_focused_cell_is_lit_everywhere_and_a_pointed_code_marks_its_cells(watch, server_url, reference):
    """Pointing at or focusing a cell anywhere (either grid, a row of the details graph) lights it in both grids,
    its code's row in the codebook, its distance bar and its row in the graph; pointing at a code (the codebook
    table, the palette, a distance bar) marks the cells that use it; none of it changes what is painted."""
    from vq import graph as vq_graph

    codebook, encode, _ = reference
    page = watch.open_state(server_url, preset=7, panels={"vq"}, vq_details=True)
    indices = encode(preset_pixels(7))
    wait_decoded(page, indices)
    page.wait_for_selector("#vq-code-lines .code-line", state="attached", timeout=TIMEOUT_MS)

    def lit(cell, codes=None):
        codes = sorted(codes or {indices[cell]})
        return {"vectors": [cell], "cells": [cell], "rows": codes, "bars": codes, "distances": cell, "graph": cell}

    def wait_lit(cell):
        page.wait_for_function("(c) => document.getElementById('vqg-focus').dataset.cell === c", arg=str(cell))

    assert page.evaluate(LIT_JS) == lit(24)  # the centre cell, before any pointing
    page.hover("#vq-vectors [data-cell='10']")
    wait_lit(10)
    assert page.evaluate(LIT_JS) == lit(10)
    page.hover("#vq-cell-17")
    wait_lit(17)
    assert page.evaluate(LIT_JS) == lit(17)
    page.focus("#vq-cell-0")  # the keyboard: focus is pointing
    page.keyboard.press("ArrowDown")
    wait_lit(7)
    assert page.evaluate(LIT_JS) == lit(7)

    # A row of the details graph picks its cell, by the pointer and by the keyboard.
    at = vq_graph.Layout(len(codebook), len(codebook[0]))
    page.locator("#vq-graph").scroll_into_view_if_needed()
    for cell in (33, 5):
        point = page.evaluate(ROW_POINT_JS, [at.z + 2, vq_graph.TOP + cell * vq_graph.ROW + vq_graph.ROW / 2])
        page.mouse.move(*point)
        wait_lit(cell)
        assert page.evaluate(LIT_JS) == lit(cell)
    page.focus("#vq-graph [data-part='distances']")
    page.keyboard.press("PageDown")
    wait_lit(12)
    assert page.evaluate(LIT_JS) == lit(12)

    # Pointing at a code marks the cells that use it; leaving clears them.
    code = max(set(indices), key=indices.count)
    using = [c for c, k in enumerate(indices) if k == code]
    page.mouse.move(0, 0)
    for where in (f"#vq-codebook tr[data-code='{code}'] td >> nth=2", f"#vq-dist-{code} rect"):
        page.locator(where).scroll_into_view_if_needed()
        page.hover(where)
        page.wait_for_function("() => document.getElementById('vq-flow').classList.contains('pointing')")
        assert page.evaluate(MARKED_JS) == {"pointing": True, "vectors": using, "cells": using}, where
        assert page.get_attribute(f"#vq-code-{code}", "class") == "lit"
        page.mouse.move(0, 0)
        assert page.evaluate(MARKED_JS) == {"pointing": False, "vectors": [], "cells": []}
    page.focus(f"#vq-palette [data-vq-code='{code}']")  # and a palette swatch, by the keyboard
    assert page.evaluate(MARKED_JS) == {"pointing": True, "vectors": using, "cells": using}

    # Painting goes on as before: the brush is the code pressed, not the one pointed at.
    brush = next(k for k in range(len(codebook)) if k not in (code, indices[40]))
    page.click(f"#vq-palette [data-vq-code='{brush}']")
    page.hover(f"#vq-codebook tr[data-code='{code}'] td >> nth=2")
    page.click("#vq-cell-40")
    painted = list(indices)
    painted[40] = brush
    wait_decoded(page, painted)
    assert page.evaluate(LIT_JS) == lit(40, {indices[40], brush})
    assert page.evaluate(MARKED_JS) == {"pointing": False, "vectors": [], "cells": []}
    assert watch.errors == [] and watch.csp_violations == []


def test_a_link_painting_codes_the_codebook_lacks_is_reset_and_said_so(watch, server_url, reference):
    from page.state import AppState, encode_hash

    _, encode, _ = reference
    edits = [None] * 49
    edits[0], edits[1] = 20, 3  # this codebook has 16 codes: 20 is from some other model
    page = watch.open(server_url + "#" + encode_hash(AppState(preset=7, panels={"vq"}, vq_edits=edits)))
    indices = encode(preset_pixels(7))
    wait_decoded(page, [indices[0], 3, *indices[2:]])
    assert "painted codes this codebook does not have (it has 16)" in page.inner_text("#message")
    assert watch.python("import __main__; __main__.app.state.vq_edits[:2]") == [None, 3]


def test_codes_sampled_from_the_prior_are_cpythons_grid_decoded_and_kept_in_the_link(watch, server_url, reference):
    """The prior and its sampler load on the first press; a seed gives the grid the page's sampler gives in CPython
    with onnxruntime; the grid becomes the painted codes, so the link restores it and Reset undoes it."""
    _, encode, decode = reference
    network = shipped_network()
    page = watch.open_state(server_url, preset=7, panels={"vq"})
    indices = encode(preset_pixels(7))
    wait_decoded(page, indices)
    assert [p for _, p in watch.requests if p in ("/pysrc/vq/prior.py", "/models/vq/pixelcnn.onnx")] == []

    page.fill("#vq-seed", "3")
    page.click("#vq-sample")
    grid = sample(network, 3)
    wait_decoded(page, grid)
    assert {"/pysrc/vq/prior.py", "/models/vq/pixelcnn.onnx"} <= {p for _, p in watch.requests}
    assert_reconstruction(page, decode(grid))
    assert "Sampled with seed 3" in page.inner_text("#vq-prior-status")
    assert watch.python("import __main__; __main__.app.state.vq_edits") == vq_grid.edits_for(indices, grid)

    page.click("#vq-sample-next")  # the next seed
    grid = sample(network, 4)
    wait_decoded(page, grid)
    assert page.input_value("#vq-seed") == "4"

    fresh = watch.open(page.url)
    wait_decoded(fresh, grid)
    assert_reconstruction(fresh, decode(grid))
    assert fresh.input_value("#vq-seed") == "4"  # the seed that drew it, so "Another sample" goes on from there
    fresh.click("#vq-reset")
    wait_decoded(fresh, indices)
    assert watch.errors == [] and watch.csp_violations == []


INK = """(id) => {
    const canvas = document.getElementById(id);
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let ink = 0;
    for (let i = 0; i < data.length; i += 4) ink += data[i] < 128;
    return ink;
}"""


def test_drawing_beside_the_codes_is_the_same_input(watch, server_url, reference):
    """The view's own drawing surface (the step-1 canvas is far above it) feeds the one input both stories use."""
    _, encode, _ = reference
    page = watch.open_state(server_url, panels={"vq"})
    page.wait_for_selector('#vq-vectors[data-indices]:not([data-indices=""])', state="attached", timeout=TIMEOUT_MS)
    watch.draw(SEVEN, surface="#vq-draw-canvas")
    watch.settle()
    pixels = json.loads(watch.python("import json, __main__; json.dumps(__main__.app.pixels)"))
    drawn = encode(pixels)
    wait_encoded(page, drawn)
    wait_decoded(page, drawn)
    assert watch.python("import __main__; len(__main__.app.state.strokes)") == 1
    assert page.evaluate(INK, "vq-draw-canvas") > 1000 and page.evaluate(INK, "draw-canvas") > 1000
    # The vectors were updated in place, not written anew: still what vq_grid's markup says for this input.
    vectors = json.loads(watch.python("import json, __main__; json.dumps(__main__.app.on_demand['vq'].vectors)"))
    codebook = reference[0]
    scale = max(abs(v) for rows in (vectors, codebook) for row in rows for v in row)
    expected = [
        [str(k), vq_grid.code_color(k), vq_grid.ink_on(k), d]
        for k, d in zip(drawn, vq_grid.vector_paths(vectors, scale), strict=True)
    ]
    shown = page.evaluate(
        """() => [...document.querySelectorAll('#vq-vectors > g')].map((g) => [g.dataset.code,
             g.querySelector('rect').getAttribute('fill'), g.querySelector('path').getAttribute('fill'),
             g.querySelector('path').getAttribute('d')])"""
    )
    assert shown == expected
    assert watch.errors == []


# Every value <html>'s data-busy takes from here on, in order.
RECORD_BUSY = """() => {
  window.busyValues = [];
  new MutationObserver(() => window.busyValues.push(document.documentElement.dataset.busy))
    .observe(document.documentElement, { attributes: true, attributeFilter: ['data-busy'] });
}"""


def test_the_vae_out_of_view_waits_while_drawing_and_catches_up_after(watch, server_url, reference):
    """Drawing beside the codes, the VAE's views are above the viewport: frames made by the strokes run the VQ-VAE
    only, <html> says "behind" meanwhile, and once the hand stops the VAE catches up to the same drawing."""
    _, encode, _ = reference
    page = watch.open_state(server_url, panels={"vq"})
    page.wait_for_selector('#vq-vectors[data-indices]:not([data-indices=""])', state="attached", timeout=TIMEOUT_MS)
    page.evaluate("() => document.getElementById('vq-panel').scrollIntoView({ block: 'start' })")
    out_of_view = "() => document.querySelector('.stage-latent').getBoundingClientRect().bottom < 0"
    assert page.evaluate(out_of_view)
    mu_before = watch.vector("mu")
    page.evaluate(RECORD_BUSY)
    watch.draw(SEVEN, surface="#vq-draw-canvas")
    watch.settle()
    assert page.evaluate(out_of_view)  # it caught up while still out of view, once the input paused
    busy = page.evaluate("() => window.busyValues")
    assert "behind" in busy and busy[-1] == "false", busy
    pixels = json.loads(watch.python("import json, __main__; json.dumps(__main__.app.pixels)"))
    wait_decoded(page, encode(pixels))
    assert watch.python("import __main__; __main__.app.encoded is __main__.app.pixels")
    image = np.asarray(pixels, np.float32).reshape(1, 28, 28, 1)
    (mu,) = session(REPO / "models" / "encoder.onnx").run(["z_mean"], {"image": image})
    assert watch.vector("mu") == pytest.approx(mu[0].tolist(), abs=1e-5)
    assert watch.vector("mu") != pytest.approx(mu_before, abs=1e-3)
    assert watch.errors == []
