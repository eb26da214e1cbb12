"""End to end for "Train it yourself": the real page trains with the real models/train/ files in onnxruntime-web,
and CPython runs the same pysrc/train modules and graph with onnxruntime as the reference."""

import json
from array import array
from concurrent.futures import ThreadPoolExecutor

import pytest

from page.state import decode_hash
from train import loop
from training.live_runtime import FOLDER, run, trainer

pytestmark = pytest.mark.browser

TIMEOUT_MS = 120_000


def wait_state(page, *states):
    page.wait_for_function(
        "(states) => states.includes(document.getElementById('train-panel').dataset.state)",
        arg=list(states),
        timeout=TIMEOUT_MS,
    )


def wait_step(page, at_least):
    page.wait_for_function(
        "(n) => +document.getElementById('train-panel').dataset.step >= n", arg=at_least, timeout=TIMEOUT_MS
    )


def step(page):
    return int(page.get_attribute("#train-panel", "data-step"))


def cpython_losses(settings, steps):
    """The same loop and graph in CPython with onnxruntime (in a thread: Playwright's event loop runs in this one)."""

    def losses():
        reference = trainer(settings)
        run(reference.train(steps))
        return reference.losses

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(losses).result()


def page_losses(watch):
    return json.loads(
        watch.python(
            "import json, __main__; json.dumps([[s.bce, s.kl] for s in __main__.app.on_demand['train'].trainer.losses])"
        )
    )


def open_view(watch, server_url, **state):
    page = watch.open_state(server_url, panels={"train"}, **state)
    wait_state(page, "paused", "failed")
    page.wait_for_selector("#train-panel[data-map-step='0']", state="attached", timeout=TIMEOUT_MS)
    return page


def test_nothing_loads_before_the_view_opens_and_100_steps_match_cpython(watch, server_url):
    page = watch.open_state(server_url)
    page.wait_for_timeout(500)
    assert [path for _, path in watch.requests if "train" in path] == []
    page.click("#train-toggle")
    wait_state(page, "paused")
    opened = {path for _, path in watch.requests if "train" in path}
    assert {"/pysrc/train/loop.py", "/pysrc/train/progress.py", "/models/train/step.onnx"} <= opened

    page.select_option("#train-beta", "2")
    page.fill("#train-seed", "3")
    page.press("#train-seed", "Enter")
    page.select_option("#train-rate", "0.003")
    state = decode_hash(page.evaluate("location.hash"))
    assert (state.train_beta, state.train_rate, state.train_seed) == (2.0, 3e-3, 3)

    page.click("#train-run")
    wait_state(page, "training")
    maps = set()
    while step(page) < 100:  # the map is redrawn while it trains
        maps.add(page.get_attribute("#train-panel", "data-map-step"))
        page.wait_for_timeout(100)
    page.click("#train-run")
    wait_state(page, "paused")
    assert len(maps - {"0"}) >= 2
    assert "steps/s" in page.text_content("#train-figures") or step(page) > 0
    shown = page_losses(watch)[:100]

    reference = cpython_losses(loop.Settings(seed=3, beta=2.0, learning_rate=3e-3), 100)
    for (bce, kl), s in zip(shown, reference, strict=True):
        assert bce == pytest.approx(s.bce, rel=1e-3) and kl == pytest.approx(s.kl, rel=1e-3)
    assert page.locator("#train-scatter path").count() == 10
    assert page.locator("#train-prior circle").count() == 3
    assert "After" in page.text_content("#train-words")
    assert watch.errors == [] and watch.csp_violations == []


def test_the_link_restores_the_settings_and_step_trains_one_batch(watch, server_url):
    page = open_view(watch, server_url, train_beta=0.5, train_rate=1e-2, train_seed=11)
    assert page.input_value("#train-beta") == "0.5"
    assert page.input_value("#train-rate") == "0.01"
    assert page.input_value("#train-seed") == "11"
    page.click("#train-step")
    page.wait_for_selector("#train-panel[data-map-step='1']", state="attached", timeout=TIMEOUT_MS)
    assert step(page) == 1
    [reference] = cpython_losses(loop.Settings(seed=11, beta=0.5, learning_rate=1e-2), 1)
    [[bce, kl]] = page_losses(watch)
    assert bce == pytest.approx(reference.bce, rel=1e-3) and kl == pytest.approx(reference.kl, rel=1e-3)
    page.click("#train-reset")
    page.wait_for_selector("#train-panel[data-step='0'][data-map-step='0']", state="attached", timeout=TIMEOUT_MS)
    assert watch.errors == []


def test_leaving_the_view_pauses_training_and_coming_back_resumes_it(watch, server_url):
    page = open_view(watch, server_url)
    page.click("#train-run")
    wait_step(page, 3)
    page.click("#train-toggle")
    wait_state(page, "paused")
    left_at = step(page)
    page.wait_for_timeout(1000)
    assert step(page) == left_at and page.is_hidden("#train-panel")
    page.click("#train-toggle")
    wait_state(page, "training")
    wait_step(page, left_at + 2)
    page.click("#train-run")
    assert watch.errors == []


def test_a_learning_rate_too_large_pauses_and_names_the_step(watch, server_url):
    page = open_view(watch, server_url, train_rate=1.0)
    page.click("#train-run")
    wait_state(page, "not-finite")
    status = page.text_content("#train-status")
    assert "is not finite" in status and "training paused" in status
    bad = int(status.split("The loss at step ")[1].split()[0])
    assert step(page) < bad  # the last good weights are in use
    assert page.get_attribute("#train-run", "aria-pressed") == "false"
    assert watch.errors == []


def test_a_corrupt_file_is_named_and_the_rest_of_the_page_works(watch, server_url):
    page = watch.page
    data = bytearray((FOLDER / "train_images.bin").read_bytes())
    data[1000] ^= 0xFF
    page.route("**/models/train/train_images.bin", lambda route: route.fulfill(body=bytes(data)))
    watch.open_state(server_url, panels={"train"})
    wait_state(page, "failed")
    assert "train_images.bin: sha256 differs" in page.text_content("#train-status")
    assert page.is_disabled("#train-run")
    before = watch.vector("mu")
    page.click("[data-preset='0']")
    watch.settle()
    assert watch.vector("mu") != before
    assert watch.errors == []


def cpython_encoding(settings, steps, pixels):
    """μ of one input under the weights after `steps` steps, in CPython (in a thread, as cpython_losses)."""

    def encode():
        reference = trainer(settings)
        run(reference.train(steps))
        mu, _ = run(reference.encode(array("f", pixels), 1))
        return mu.numpy().reshape(-1).tolist()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(encode).result()


def test_use_this_model_runs_the_pipeline_on_the_trained_weights_and_one_press_goes_back(watch, server_url):
    page = open_view(watch, server_url, preset=4, train_seed=5)
    shipped_mu = watch.vector("mu")
    for n in range(1, 4):
        page.click("#train-step")
        page.wait_for_selector(f"#train-panel[data-map-step='{n}']", state="attached", timeout=TIMEOUT_MS)
    page.click("#train-use")
    page.wait_for_selector("#trained-badge", timeout=TIMEOUT_MS)
    assert "trained here for 3 steps" in page.text_content("#trained-badge")
    page.wait_for_function(
        "(mu) => document.getElementById('latent-plot').dataset.mu !== mu",
        arg=",".join(repr(v) for v in shipped_mu),
        timeout=TIMEOUT_MS,
    )
    watch.settle()
    pixels = json.loads(watch.python("import json, __main__; json.dumps(__main__.app.pixels)"))
    expected = cpython_encoding(loop.Settings(seed=5, beta=1.0, learning_rate=3e-3), 3, pixels)
    assert watch.vector("mu") == pytest.approx(expected, rel=1e-3, abs=1e-5)
    assert page.locator("#scatter path").count() == 10  # the held-out map, by label

    # Presets and drawing work on it, and the details say what differs from the shipped conv net.
    page.click("[data-preset='0']")
    watch.settle()
    assert watch.vector("mu") != expected
    page.click("#details-toggle")
    page.wait_for_selector("#details-differs:not([hidden])", timeout=TIMEOUT_MS)
    assert page.text_content("#g-encoder-note") == "dense 256 · dense"
    assert "no convolutions" in page.text_content("#details-differs")

    page.click("#trained-badge button")
    page.wait_for_selector("#trained-badge", state="detached")
    page.click("[data-preset='4']")
    watch.settle()
    assert watch.vector("mu") == pytest.approx(shipped_mu, rel=1e-6)
    assert page.text_content("#g-encoder-note") == "conv · conv · dense"
    assert page.is_hidden("#details-differs")
    assert watch.errors == []


def test_the_article_links_to_the_view_and_its_code_is_in_the_source_panel(watch, server_url):
    page = watch.open_state(server_url)
    page.click("#article a.tool-link[data-target='train-toggle']")
    wait_state(page, "paused")
    assert page.get_attribute("#train-toggle", "aria-expanded") == "true" and page.is_visible("#train-panel")
    page.click("#source-toggle")
    page.click("#source-stories [data-story=train]", timeout=TIMEOUT_MS)
    for module in ("train.loop", "train.progress", "train.browser.view"):
        assert page.locator(f'#source-tabs [data-module="{module}"]').count() == 1
    page.wait_for_selector("#source-editor .cm-content:has-text('The training loop of')", timeout=TIMEOUT_MS)
    assert watch.errors == []


def test_a_new_link_shows_its_settings_and_starts_a_new_run(watch, server_url):
    from page.state import AppState, encode_hash

    page = open_view(watch, server_url)
    page.click("#train-step")
    page.wait_for_selector("#train-panel[data-map-step='1']", state="attached", timeout=TIMEOUT_MS)
    page.evaluate(
        "(hash) => { location.hash = hash; }",
        "#" + encode_hash(AppState(panels={"train"}, train_beta=0.0, train_rate=1e-2, train_seed=8)),
    )
    page.wait_for_selector("#train-panel[data-step='0'][data-map-step='0']", state="attached", timeout=TIMEOUT_MS)
    assert (page.input_value("#train-beta"), page.input_value("#train-rate"), page.input_value("#train-seed")) == (
        "0",
        "0.01",
        "8",
    )
    assert "nothing pulls" not in page.text_content("#train-words")  # untrained: no step yet
    page.click("#train-step")
    page.wait_for_selector("#train-panel[data-map-step='1']", state="attached", timeout=TIMEOUT_MS)
    assert "with β = 0 nothing pulls the codes toward N(0, I)" in page.text_content("#train-words")
    assert watch.errors == []


def test_the_decoded_grid_is_the_decoder_being_trained_over_the_map(watch, server_url):
    """After some steps, the 10×10 grid beside the map is what CPython's decoder, trained as many steps with the
    same settings, draws at the same points (the canvas's grey levels within one)."""
    from vae import decoder

    page = open_view(watch, server_url)
    page.click("#train-run")
    wait_step(page, 20)
    page.click("#train-run")
    wait_state(page, "paused")
    page.wait_for_function(
        "() => document.getElementById('train-decoded').dataset.step === document.getElementById('train-panel')"
        ".dataset.mapStep",
        timeout=TIMEOUT_MS,
    )
    steps = int(page.get_attribute("#train-decoded", "data-step"))  # drawn with the map, at its step
    assert steps > 0
    lo, hi = map(float, page.get_attribute("#train-decoded", "data-domain").split(","))
    shown = page.evaluate(
        """() => Array.from(document.getElementById('train-decoded').getContext('2d')
            .getImageData(0, 0, 280, 280).data).filter((_, i) => i % 4 === 0)"""
    )
    settings = loop.Settings(
        seed=int(page.input_value("#train-seed")),
        beta=float(page.input_value("#train-beta")),
        learning_rate=float(page.input_value("#train-rate")),
    )

    def decoded():
        reference = trainer(settings)
        run(reference.train(steps))
        zs = decoder.grid_points((lo, hi), 10)
        out = run(reference.decode(array("f", [v for z in zs for v in z]), len(zs)))
        return decoder.tile_rgba(decoder.split_images(out.numpy().ravel().tolist(), len(zs)), 10)[0::4]

    with ThreadPoolExecutor(1) as pool:
        expected = pool.submit(decoded).result()
    assert len(shown) == len(expected) == 280 * 280
    assert max(abs(a - b) for a, b in zip(shown, expected, strict=True)) <= 1
    assert max(expected) - min(expected) > 100  # digits drawn already, not a flat grey
    assert watch.errors == []
