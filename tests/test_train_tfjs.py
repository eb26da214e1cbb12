"""Issue 27, item 5's anchor: TensorFlow.js (tests/tfjs/, served from node_modules) trains the page's network on the
same start weights, batches, ε, β and Adam settings, and its losses follow CPython's onnxruntime run of
pysrc/train/loop.py step by step: the benchmark's two steps-per-second figures are the same work."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for the tests.bench package, however pytest started
from tests.bench.tfjs import FOLDERS, config, tfjs_server, train_tfjs
from train import loop
from training.live_runtime import load, run, trainer

pytestmark = pytest.mark.browser

SETTINGS = loop.Settings(seed=3, beta=2.0, learning_rate=3e-3)
STEPS = 30


@pytest.fixture(scope="module")
def reference():
    t = trainer(SETTINGS)
    run(t.train(STEPS))
    return [(s.bce, s.kl) for s in t.losses]


@pytest.mark.parametrize("backend", ["wasm", "webgl"])
def test_tfjs_trains_the_same_network_on_the_same_batches(browser, reference, backend):
    if not (FOLDERS["/tfjs/"] / "tf.min.js").is_file():
        pytest.skip("node_modules has no @tensorflow/tfjs: npm ci")
    index, _, _ = load()
    context = browser.new_context()
    try:
        with tfjs_server() as url:
            result = train_tfjs(context.new_page(), url, config(index, SETTINGS, STEPS, backend))
    finally:
        context.close()
    assert result["backend"] == backend
    # The first step's losses are those of the start weights: equal to float32 rounding; then the same Adam steps.
    (bce, kl), (ref_bce, ref_kl) = result["losses"][0], reference[0]
    assert bce == pytest.approx(ref_bce, rel=1e-5) and kl == pytest.approx(ref_kl, rel=1e-5)
    for step, ((bce, kl), (ref_bce, ref_kl)) in enumerate(zip(result["losses"], reference, strict=True), start=1):
        assert bce == pytest.approx(ref_bce, rel=1e-3), step
        assert kl == pytest.approx(ref_kl, rel=1e-3), step
