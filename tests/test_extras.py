"""End to end, issue 6: the extra views and what leaves the page. The loss panel's numbers, the decoded manifold,
interpolation, shared links, hostile links, and the JSON and PNG exports, each checked against an independent
recomputation in CPython (the same pure core, the shipped models in native onnxruntime)."""

import base64
import json
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import PageWatch

from page import artifacts
from page.state import decode_hash
from vae import decoder, digit_input, latent_plot, loss

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
SEVEN = [[(60, 50), (220, 50), (140, 250)]]
ONE = [[(140, 40), (140, 250)]]
CANVAS_B64_JS = """(id) => {
    const c = document.getElementById(id);
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let text = '';
    for (let i = 0; i < data.length; i += 0x8000) text += String.fromCharCode.apply(null, data.subarray(i, i + 0x8000));
    return [c.width, c.height, btoa(text)];
}"""


@pytest.fixture(scope="module")
def dec():
    from training.evaluate import sessions

    return sessions(MODELS)[1]


def decode(dec, zs):
    """The shipped decoder in native onnxruntime: a batch of z → one list of 784 floats per image."""
    out = dec.run(["reconstruction"], {"z": np.asarray(zs, np.float32).reshape(-1, 2)})[0]
    return out.reshape(len(zs), -1).astype(np.float64)


def canvas_rgba(page, element_id):
    """A canvas's RGBA bytes as a (height, width, 4) uint8 array."""
    width, height, data = page.evaluate(CANVAS_B64_JS, element_id)
    return np.frombuffer(base64.b64decode(data), np.uint8).reshape(height, width, 4)


def grayscale(image):
    """What the page paints for a decoded image, as a (28, 28, 4) array."""
    return np.frombuffer(bytes(decoder.grayscale_rgba(list(image))), np.uint8).reshape(28, 28, 4)


def floats(page, selector, name):
    return [float(v) for v in page.get_attribute(selector, f"data-{name}").split(",")]


def current_pixels(page):
    """The 784 floats the encoder saw, rebuilt from the link alone with the page's own preprocessing."""
    state = decode_hash(page.evaluate("() => location.hash"))
    if state.preset is not None:
        presets = artifacts.parse_presets((MODELS / "presets.json").read_text(), (MODELS / "presets.bin").read_bytes())
        return digit_input.from_bytes(presets[state.preset])
    return digit_input.preprocess([digit_input.catmull_rom(s) for s in state.strokes])


def assert_loss_is_recomputed(page, watch, dec):
    assert page.is_hidden("#message"), page.inner_text("#message")  # every frame drew to the end
    panel = "#loss-panel"
    rec, kl, elbo = (float(page.get_attribute(panel, f"data-{n}")) for n in ("reconstruction", "kl", "elbo"))
    kl_dims = floats(page, panel, "kl-dims")
    assert elbo == pytest.approx(rec + kl, rel=1e-9)
    assert kl == pytest.approx(sum(kl_dims), rel=1e-9)
    mu, log_var = watch.vector("mu"), watch.vector("log-var")
    closed_form = [-0.5 * (1 + lv - m * m - math.exp(lv)) for m, lv in zip(mu, log_var, strict=True)]
    assert kl_dims == pytest.approx(closed_form, rel=1e-9)
    assert kl == pytest.approx(math.fsum(closed_form), rel=1e-9)
    # The reconstruction term from scratch: the input rebuilt from the link, x̂ from the native decoder at the page's z.
    x_hat = decode(dec, [watch.vector("z")])[0]
    assert rec == pytest.approx(loss.reconstruction_bce(current_pixels(page), x_hat.tolist()), rel=1e-4)
    for name, value in (("reconstruction", rec), ("kl", kl), ("elbo", elbo)):
        assert float(page.text_content(f"#loss-{name}")) == pytest.approx(value, abs=0.0005 + 1e-9)
    return rec, kl, elbo


def test_loss_numbers_update_on_drawing_and_equal_a_recomputation(watch, server_url, dec):
    page = watch.open_state(server_url, panels={"loss"})
    assert page.is_visible("#loss-panel")
    first = assert_loss_is_recomputed(page, watch, dec)

    page.click("#clear-button")
    watch.draw(SEVEN)
    watch.settle()
    drawn = assert_loss_is_recomputed(page, watch, dec)
    assert all(a != b for a, b in zip(first, drawn, strict=True))

    page.click("#resample-button")  # a new z: the reconstruction term changes, the KL (μ and σ only) does not
    watch.settle()
    resampled = assert_loss_is_recomputed(page, watch, dec)
    assert resampled[1] == drawn[1]
    assert resampled[0] != drawn[0]
    assert watch.errors == []


def test_manifold_paints_each_cell_with_the_decoding_of_its_z(watch, server_url, dec):
    page = watch.open_state(server_url)
    page.click("#manifold-toggle")
    page.wait_for_selector("#manifold-image", state="attached")
    watch.settle()
    assert page.get_attribute("#manifold-toggle", "aria-pressed") == "true"
    assert page.get_attribute("#latent-plot", "data-manifold-grid") == "20"

    ranges = json.loads((MODELS / "latent_map.json").read_text())["ranges"]
    plot = latent_plot.LatentPlot(latent_plot.square_domain(ranges["mu_min"], ranges["mu_max"]))
    image = [float(page.get_attribute("#manifold-image", a)) for a in ("x", "y", "width", "height")]
    assert image == list(plot.area)  # laid exactly over the plot's area, so each cell sits over its own z

    shown = canvas_rgba(page, "manifold-canvas")
    assert shown.shape == (560, 560, 4)
    zs = decoder.grid_points(plot.domain, 20)
    images = decode(dec, zs)
    worst = []
    for cell, decoded in enumerate(images):
        row, col = divmod(cell, 20)
        got = shown[row * 28 : (row + 1) * 28, col * 28 : (col + 1) * 28].astype(int)
        worst.append(int(np.abs(got - grayscale(decoded)).max()))
    assert max(worst) <= 2, [(cell, w) for cell, w in enumerate(worst) if w > 2][:10]
    assert page.is_hidden("#message"), page.inner_text("#message")
    assert len({grayscale(d).tobytes() for d in images}) > 300  # the cells differ: a stale or uniform paint fails

    page.click("#manifold-toggle")
    watch.settle()
    assert page.locator("#manifold-image").count() == 0
    assert page.get_attribute("#manifold-toggle", "aria-pressed") == "false"
    assert watch.errors == []


def test_interpolation_runs_between_the_two_chosen_mus(watch, server_url, dec):
    page = watch.open_state(server_url, preset=1, panels={"interpolate"})
    mu_a = watch.vector("mu")
    page.click("#set-a")
    watch.settle()
    page.click("[data-preset='0']")
    watch.settle()
    mu_b = watch.vector("mu")
    assert mu_b != mu_a
    page.click("#set-b")
    watch.settle()
    assert floats(page, "#interp-layer", "a") == mu_a
    assert floats(page, "#interp-layer", "b") == mu_b
    assert page.is_hidden("#message"), page.inner_text("#message")

    strip = canvas_rgba(page, "interp-strip")
    expected = decode(dec, decoder.lerp_path(mu_a, mu_b, 8))
    for k, image in enumerate(expected):
        got = strip[:, 28 * k : 28 * (k + 1)].astype(int)
        assert int(np.abs(got - grayscale(image)).max()) <= 2, k

    slider = page.locator("#interp-slider")
    slider.focus()
    for key, value, t in (("End", "1000", 1.0), ("Home", "0", 0.0)):
        page.keyboard.press(key)
        watch.settle()
        assert slider.input_value() == value
        end = [a + (b - a) * t for a, b in zip(mu_a, mu_b, strict=True)]
        assert watch.vector("z") == pytest.approx(end, abs=1e-5)  # a pinned z keeps 5 decimals, like a link
        assert watch.vector("mu") == mu_b  # the slider moves z, never the input's μ
    page.evaluate(
        "(v) => { const s = document.getElementById('interp-slider'); s.value = v;"
        " s.dispatchEvent(new Event('input', {bubbles: true})); }",
        "250",
    )
    watch.settle()
    quarter = [a + (b - a) * 0.25 for a, b in zip(mu_a, mu_b, strict=True)]
    assert watch.vector("z") == pytest.approx(quarter, abs=1e-5)
    mu, sigma, epsilon, z = (watch.vector(n) for n in ("mu", "sigma", "epsilon", "z"))
    assert z == pytest.approx([m + s * e for m, s, e in zip(mu, sigma, epsilon, strict=True)], rel=1e-9, abs=1e-9)
    assert watch.errors == []


def test_a_shared_link_restores_mu_z_and_the_reconstruction(watch, server_url, browser):
    page = watch.open_state(server_url)
    page.click("#clear-button")
    watch.draw(ONE)
    watch.settle()
    box = page.locator("#latent-plot").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.45)
    page.mouse.move(0, 0)
    page.click("#loss-toggle")
    watch.settle()
    url = page.evaluate("() => location.href")
    state = decode_hash(page.evaluate("() => location.hash"))
    assert state.panels == {"loss"} and state.preset is None and len(state.strokes) == 1
    assert state.pinned_z == watch.vector("z")
    shown = {n: watch.vector(n) for n in ("mu", "sigma", "epsilon", "z")}
    pixels = canvas_rgba(page, "reconstruction")
    messages = {"sharer": page.inner_text("#message") if page.is_visible("#message") else ""}
    elbo = {"sharer": page.get_attribute("#loss-panel", "data-elbo")}

    context = browser.new_context(viewport={"width": 1300, "height": 950})
    try:
        other = PageWatch(context.new_page(), server_url)
        other.open(url)
        other.settle()
        for name, vector in shown.items():
            assert other.vector(name) == pytest.approx(vector, rel=1e-5, abs=1e-5), name
        assert np.array_equal(canvas_rgba(other.page, "reconstruction"), pixels)
        assert other.page.get_attribute("#loss-toggle", "aria-expanded") == "true"
        assert other.errors == []
        messages["receiver"] = other.page.inner_text("#message") if other.page.is_visible("#message") else ""
        elbo["receiver"] = other.page.get_attribute("#loss-panel", "data-elbo")
    finally:
        context.close()
    assert watch.errors == []
    # Every frame drew to the end on both sides (no "Something went wrong"), so both loss panels show the same loss.
    assert messages == {"sharer": "", "receiver": ""}
    assert None not in elbo.values(), elbo
    assert float(elbo["receiver"]) == pytest.approx(float(elbo["sharer"]), rel=1e-5)


def test_hostile_links_get_a_gentle_message_and_a_working_page(watch, server_url):
    bomb = base64.urlsafe_b64encode(zlib.compress(b"[" + b"0," * 3_000_000 + b"0]", 9)).decode().rstrip("=")
    hashes = {
        "garbage": "#v1.garbage!!",
        "markup": "#<script>window.hostile=1</script><img src=x onerror=window.hostile=2>",
        "too long": "#v1." + "A" * 250_000,
        "zip bomb": "#v1." + bomb,
    }
    page = watch.page
    for what, fragment in hashes.items():
        page.goto("about:blank")
        watch.open(server_url + fragment)
        watch.settle()
        message = page.inner_text("#message")
        assert page.is_visible("#message"), what
        assert "ignored" in message, (what, message)
        assert len(message) < 300, (what, message)  # gentle: a sentence, not a dump of the hash
        assert page.locator("#message *").count() == 0, what  # text only: nothing from the link became markup
        assert page.evaluate("() => window.hostile") is None, what
        assert page.get_attribute("[data-preset='3']", "aria-pressed") == "true", what  # the first view instead
        mu, sigma, epsilon, z = (watch.vector(n) for n in ("mu", "sigma", "epsilon", "z"))
        assert z == pytest.approx([m + s * e for m, s, e in zip(mu, sigma, epsilon, strict=True)], rel=1e-9)
        page.click("[data-preset='5']")  # and it answers input
        watch.settle()
        assert watch.vector("mu") != mu, what
    # A damaged hash arriving later (hashchange) is refused the same way, and keeps the state shown.
    mu = watch.vector("mu")
    page.evaluate("() => { location.hash = '#v1.nonsense'; }")
    page.wait_for_selector("#message:not([hidden])")
    watch.settle()
    assert "ignored" in page.inner_text("#message")
    assert watch.vector("mu") == mu
    assert watch.errors == []
    assert watch.csp_violations == []


def png_pixels(data):
    """(width, height, RGBA array) of a non-interlaced 8-bit RGB or RGBA PNG, with every filter type undone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, chunks = 8, []
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        assert struct.unpack(">I", data[at + 8 + length : at + 12 + length])[0] == zlib.crc32(kind + body)
        chunks.append((kind, body))
        at += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8 and color in (2, 6) and interlace == 0
    channels = 4 if color == 6 else 3
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * channels
    out, previous = bytearray(), bytearray(stride)
    for y in range(height):
        kind, row = raw[y * (stride + 1)], raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]
        current = bytearray(stride)
        for x in range(stride):
            a = current[x - channels] if x >= channels else 0
            b = previous[x]
            c = previous[x - channels] if x >= channels else 0
            if kind == 0:
                predictor = 0
            elif kind == 1:
                predictor = a
            elif kind == 2:
                predictor = b
            elif kind == 3:
                predictor = (a + b) // 2
            else:
                estimate = a + b - c
                pa, pb, pc = abs(estimate - a), abs(estimate - b), abs(estimate - c)
                predictor = a if pa <= pb and pa <= pc else b if pb <= pc else c
            current[x] = (row[x] + predictor) & 0xFF
        out += current
        previous = current
    pixels = np.frombuffer(bytes(out), np.uint8).reshape(height, width, channels)
    if channels == 3:
        pixels = np.concatenate([pixels, np.full((height, width, 1), 255, np.uint8)], axis=2)
    return width, height, pixels


def test_exports_carry_the_pages_numbers_and_its_reconstruction(watch, server_url):
    page = watch.open_state(server_url, preset=7)
    assert page.is_hidden("#message"), page.inner_text("#message")
    with page.expect_download() as info:
        page.click("#export-json")
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename.endswith(".json")
    exported = json.loads(Path(download.path()).read_text())
    for name in ("mu", "log_var", "sigma", "epsilon", "z"):
        assert exported[name] == pytest.approx(watch.vector(name.replace("_", "-")), rel=1e-12), name

    with page.expect_download() as info:
        page.click("#export-png")
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename.endswith(".png")
    data = Path(download.path()).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR" and struct.unpack(">II", data[16:24]) == (280, 280)
    width, height, pixels = png_pixels(data)
    assert (width, height) == (280, 280)
    small = canvas_rgba(page, "reconstruction")
    assert np.array_equal(pixels, small.repeat(10, axis=0).repeat(10, axis=1))  # crisp 10× blocks of each pixel
    assert watch.errors == []
