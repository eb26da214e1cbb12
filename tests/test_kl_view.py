"""End to end for the "Why the KL term?" view: the real page, the real models/kl/ files, onnxruntime in CPython as
the reference. (A missing or corrupt checkpoint is in test_faults.py, which builds broken copies of the site.)"""

import json

import numpy as np
import pytest
from test_page import canvas_pixels

from kl import evidence as kl
from training.evaluate import session
from training.mnist import REPO
from vae import decoder
from vae.latent_plot import LatentPlot

pytestmark = pytest.mark.browser

SHOWN_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def index():
    return kl.Index((REPO / kl.INDEX_URL).read_text())


def entry_session(entry, key):
    return session(REPO / entry.files[key][0])


def preset(digit):
    data = (REPO / "models" / "presets.bin").read_bytes()[digit * 784 : (digit + 1) * 784]
    return np.frombuffer(data, np.uint8).reshape(1, 28, 28, 1).astype(np.float32) / 255.0


def wait_shown(page, name):
    page.wait_for_function(
        "(name) => document.getElementById('kl-panel').dataset.shown === name", arg=name, timeout=SHOWN_TIMEOUT_MS
    )


def wait_encoded(page, name):
    page.wait_for_function(
        "(name) => document.getElementById('kl-plot').dataset.encoded === name", arg=name, timeout=SHOWN_TIMEOUT_MS
    )


def shown_mu(page):
    return [float(v) for v in page.get_attribute("#kl-plot", "data-mu").split(",")]


def test_nothing_of_the_view_loads_before_it_is_opened(watch, server_url, index):
    page = watch.open_state(server_url)
    page.wait_for_timeout(500)
    early = [path for _, path in watch.requests if "/kl" in path]
    assert early == []
    page.click("#article a.tool-link[data-target='kl-toggle']")  # the article's section 1 opens it
    wait_shown(page, index.checkpoints[index.epochs[-1]].name)
    assert page.get_attribute("#kl-toggle", "aria-expanded") == "true" and page.is_visible("#kl-panel")
    opened = {path for _, path in watch.requests if "/kl" in path}
    assert {"/pysrc/kl/evidence.py", "/pysrc/kl/browser/view.py", "/models/kl/index.json"} <= opened
    assert watch.errors == [] and watch.csp_violations == []


def test_replay_shows_each_checkpoints_map_and_encodes_the_input_with_its_encoder(watch, server_url, index):
    page = watch.open_state(server_url, preset=7, panels={"kl"}, kl_epoch=0)
    wait_shown(page, "epoch-00")
    wait_encoded(page, "epoch-00")

    # Epoch 0 is the untrained map: the page's paths are those of epoch-00's file on the replay's fixed axes.
    maps = {
        e: kl.parse_map(index.layout, (REPO / index.checkpoints[e].files["latent_map"][0]).read_bytes(), "m")
        for e in index.epochs
    }
    plot = LatentPlot(kl.domain_of(maps.values()))
    shown = page.evaluate(
        "() => Array.from(document.querySelectorAll('#kl-scatter path'), p => [+p.dataset.digit, p.getAttribute('d')])"
    )
    expected = kl.digit_paths(plot, maps[0])
    assert shown == [[digit, d] for digit, d in enumerate(expected) if d]
    assert page.get_attribute("#kl-scatter", "data-entry") == "epoch-00"

    # The learner's input is encoded by that checkpoint's encoder: μ equals onnxruntime's.
    for epoch in (0, 5):
        if epoch:
            page.focus("#kl-epoch")
            for _ in range(index.epochs.index(epoch)):
                page.keyboard.press("ArrowRight")
            wait_shown(page, index.checkpoints[epoch].name)
            wait_encoded(page, index.checkpoints[epoch].name)
        mu, _ = entry_session(index.checkpoints[epoch], "encoder").run(["z_mean", "z_log_var"], {"image": preset(7)})
        assert shown_mu(page) == pytest.approx(mu[0].tolist(), abs=1e-4)
    assert page.inner_text("#kl-epoch-label") == "5"
    words = page.inner_text("#kl-words")
    assert f"{index.checkpoints[5].metrics['test_reconstruction_bce']:.1f}" in words

    # A new drawing is encoded again by the checkpoint shown.
    watch.draw([[(60, 50), (220, 50), (140, 250)]])
    watch.settle()
    wait_encoded(page, "epoch-05")
    pixels = json.loads(watch.python("import json, __main__; json.dumps(__main__.app.pixels)"))
    pixels = np.array(pixels, np.float32).reshape(1, 28, 28, 1)
    mu, _ = entry_session(index.checkpoints[5], "encoder").run(["z_mean", "z_log_var"], {"image": pixels})
    assert shown_mu(page) == pytest.approx(mu[0].tolist(), abs=1e-4)

    # The URL holds the epoch: a fresh page from it shows epoch 5 again.
    url = page.url
    assert "#v1." in url
    fresh = watch.open(url)
    wait_shown(fresh, "epoch-05")
    assert fresh.input_value("#kl-epoch") == str(index.epochs.index(5))
    assert watch.errors == []


def test_kl_weight_decodes_the_same_prior_draws_with_every_model(watch, server_url, index):
    page = watch.open_state(server_url, panels={"kl"}, kl_mode="beta", kl_beta=3.0)
    wait_shown(page, index.betas[3.0].name)
    assert page.get_attribute("#kl-mode-beta", "aria-pressed") == "true"
    assert page.get_attribute("[data-kl-beta='3']", "aria-pressed") == "true"
    assert page.is_visible("#kl-prior-figure") and not page.is_visible("#kl-replay-controls")

    strips = {beta: json.loads(page.get_attribute(f"#kl-prior-{beta:g}", "data-z")) for beta in index.beta_values}
    zs = strips[1.0]
    assert all(z == zs for z in strips.values())  # the same z for every model, to the bit
    # ... and they are kl.prior_zs() (random.gauss in wasm may differ from CPython's in the last bit)
    assert np.array(zs) == pytest.approx(np.array(kl.prior_zs()), rel=1e-12, abs=1e-15)
    for beta in index.beta_values:
        canvas = f"#kl-prior-{beta:g}"
        images = entry_session(index.betas[beta], "decoder").run(["reconstruction"], {"z": np.array(zs, np.float32)})
        flat = images[0].reshape(len(zs), 784)
        expected = [decoder.grayscale_rgba(flat[k].tolist()) for k in range(len(zs))]
        pixels = np.array(canvas_pixels(page, canvas), np.int16).reshape(28, 28 * len(zs), 4)
        for k, rgba in enumerate(expected):
            want = np.frombuffer(bytes(rgba), np.uint8).reshape(28, 28, 4).astype(np.int16)
            assert np.abs(pixels[:, 28 * k : 28 * (k + 1)] - want).max() <= 1, (beta, k)

    # Switching β: the map, the rate-distortion chart and the link follow, and the link restores it.
    page.click("[data-kl-beta='1']")
    wait_shown(page, index.betas[1.0].name)
    chosen = page.evaluate("() => document.querySelector('#kl-rd .rd-model.chosen').dataset.beta")
    assert chosen == "1"
    fresh = watch.open(page.url)
    wait_shown(fresh, index.betas[1.0].name)
    assert fresh.get_attribute("[data-kl-beta='1']", "aria-pressed") == "true"
    # β = 1 is named for what it is: the page's own model, or (as the index says now) a rerun of its recipe.
    named = "β = 1 is the VAE this page runs" if index.shipped is None else "β = 1 is a rerun of this page's VAE"
    assert named in fresh.inner_text("#kl-words")
    assert watch.errors == []


def test_the_loss_code_shown_is_training_vae_py_with_beta_marked(watch, server_url, index):
    from page import code_panel

    page = watch.open_state(server_url, panels={"kl"})
    wait_shown(page, index.checkpoints[index.epochs[-1]].name)
    page.click(".kl-code summary")
    page.wait_for_selector("#kl-code .code-line")
    shown = page.evaluate("() => Array.from(document.querySelectorAll('#kl-code .code-line'), l => l.textContent)")
    snippets = code_panel.extract((REPO / "training" / "vae.py").read_text(), ("reconstruction_loss", "kl_loss", "VAE"))
    assert shown == [line for s in snippets for line in [*s.text.splitlines(), ""]][:-1]
    marked = page.evaluate("() => Array.from(document.querySelectorAll('#kl-code .beta'), l => l.textContent.trim())")
    assert "total_loss = rec + self.beta * kl" in marked
