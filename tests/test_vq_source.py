"""End to end, issue 15: the quantiser's Python in the Source panel. Editing nearest_code to pick the farthest code
changes the VQ-VAE's grid and reconstruction to what onnxruntime in CPython plus the edited quantiser gives, whether
the VQ view was open or not; a broken edit is explained with its line while the last good code keeps running; Reset
restores the shipped quantiser; the edit is in the URL and survives a reload. One page, one reload."""

from pathlib import Path

import numpy as np
import pytest
from conftest import PageWatch
from test_vq_view import VQ, assert_reconstruction, preset_pixels, wait_decoded, wait_encoded

from page.state import AppState, decode_hash, encode_hash
from training.evaluate import session
from vae import decoder
from vq import quantizer

pytestmark = pytest.mark.browser

SHIPPED = Path(quantizer.__file__).read_text(encoding="utf-8")
NEAREST_RETURN = "    return distances.index(min(distances))"
FARTHEST = SHIPPED.replace(NEAREST_RETURN, "    return distances.index(max(distances))")
RETURNS_THE_DISTANCE = SHIPPED.replace(NEAREST_RETURN, "    return min(distances)")
DISTANCES_RETURN = "    return [math.dist(vector, code) ** 2 for code in codebook]"
FOUR_CODES = SHIPPED.replace(DISTANCES_RETURN, DISTANCES_RETURN.replace("codebook]", "codebook[:4]]"))


@pytest.fixture(scope="module")
def expected():
    """Preset 7 through onnxruntime in CPython and the quantiser, shipped and edited: {name: (indices, RGBA)}."""
    codebook = quantizer.parse_codebook((VQ / "codebook.json").read_text(), (VQ / "codebook.bin").read_bytes())
    enc, dec = session(VQ / "encoder.onnx"), session(VQ / "decoder.onnx")
    (flat,) = enc.run(None, {"image": np.asarray(preset_pixels(7), np.float32).reshape(1, 28, 28, 1)})
    vectors = quantizer.grid_vectors(flat.reshape(-1).tolist(), 8)
    results = {}
    for name, nearest_code in (("shipped", quantizer.nearest_code), ("farthest", lambda d: d.index(max(d)))):
        indices, quantized, _ = quantizer.quantize(vectors, codebook, nearest_code=nearest_code)
        (image,) = dec.run(None, {"quantized": np.array(quantized, np.float32).reshape(1, 7, 7, 8)})
        results[name] = indices, decoder.grayscale_rgba(image.reshape(-1).tolist())
    assert results["shipped"][0] != results["farthest"][0]
    return results


@pytest.fixture(scope="module")
def watch(browser, server_url):
    context = browser.new_context(viewport={"width": 1300, "height": 950})
    yield PageWatch(context.new_page(), server_url)
    context.close()


def shows(page, result):
    indices, rgba = result
    wait_encoded(page, indices)
    wait_decoded(page, indices)
    assert_reconstruction(page, rgba)


def editor_text(watch):
    """The whole text in the editor (CodeMirror draws only the lines in view)."""
    return watch.python("import __main__; __main__.app.source.text()")


def apply(page, watch, source):
    """Replace the editor's text as a learner would (select all, type it in) and press Apply."""
    page.click(".cm-content")
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(source)
    assert editor_text(watch) == source
    page.click("#apply-button")
    watch.settle()


def test_nearest_code_made_farthest_changes_the_grid_and_reset_restores_it(watch, server_url, expected):
    page = watch.open(server_url + "#" + encode_hash(AppState(preset=7, panels={"source"})))
    watch.settle()
    page.wait_for_selector(".cm-content")
    assert page.get_attribute('#source-tabs [data-module="vq.quantizer"]', "class") == "editable"
    vq_files = {p for _, p in watch.requests if "/models/vq" in p or "/pysrc/vq/" in p or "quantizer" in p}
    assert vq_files == set()  # the tab is there; the module loads when it is picked

    page.click("#source-stories [data-story=vq]")
    page.wait_for_selector('#source-tabs [data-module="vq.quantizer"][aria-selected=true]')
    assert editor_text(watch) == SHIPPED
    assert "/pysrc/vq/quantizer.py" in {p for _, p in watch.requests}
    quantizer_only = ("/pysrc/vq/__init__.py", "/pysrc/vq/quantizer.py")
    assert not [p for _, p in watch.requests if "/models/vq" in p or ("/pysrc/vq/" in p and p not in quantizer_only)]

    # Applied while the VQ view is closed: it runs as soon as the view opens.
    apply(page, watch, FARTHEST)
    assert page.is_hidden("#source-error")
    assert "quantizer.py" in page.inner_text("#edited-marker")
    assert decode_hash(page.evaluate("() => location.hash")).code == {"vq.quantizer": FARTHEST}
    page.click("#vq-toggle")
    shows(page, expected["farthest"])
    assert "your edited quantizer.py picks" in page.inner_text("#vq-distances-caption")

    # A distance where an index belongs: refused with its line, and the farthest code keeps running.
    apply(page, watch, RETURNS_THE_DISTANCE)
    page.wait_for_selector("#source-error:not([hidden])")
    line = RETURNS_THE_DISTANCE.splitlines().index("    return min(distances)") + 1
    message = page.inner_text("#source-error")
    assert message.startswith(f"Line {line}: nearest_code returned a float, expected an int"), message
    assert page.get_attribute("#source-error", "data-line") == str(line)
    shows(page, expected["farthest"])

    # Fine for Apply's 4-code codebook, wrong for the real one of 16: set aside at once, the farthest code runs on.
    apply(page, watch, FOUR_CODES)
    line = FOUR_CODES.splitlines().index(DISTANCES_RETURN.replace("codebook]", "codebook[:4]]")) + 1
    page.wait_for_selector("#message:not([hidden])")
    assert f"squared_distances returned 4 values (line {line}), expected 16" in page.inner_text("#message")
    assert page.inner_text("#source-error").startswith(f"Line {line}: ")
    shows(page, expected["farthest"])
    assert decode_hash(page.evaluate("() => location.hash")).code == {"vq.quantizer": FARTHEST}

    page.click("#reset-button")
    watch.settle()
    assert editor_text(watch) == SHIPPED
    shows(page, expected["shipped"])
    assert page.get_attribute("html", "data-edited") == "false"
    assert decode_hash(page.evaluate("() => location.hash")).code == {}

    # Applied while the view is open: quantised and decoded again at once; the edit survives a reload.
    apply(page, watch, FARTHEST)
    shows(page, expected["farthest"])
    page.reload()
    watch.wait_ready()
    shows(page, expected["farthest"])
    assert page.get_attribute("html", "data-edited") == "true"
    assert "quantizer.py" in page.inner_text("#edited-marker")
    assert page.is_hidden("#message"), page.inner_text("#message")
    assert watch.errors == [] and watch.csp_violations == []
