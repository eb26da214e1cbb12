"""The training step the page runs (models/train/step.onnx, by training/live.py) against TensorFlow: one step's
gradients against GradientTape, and 50 steps against keras.optimizers.Adam, on the same weights, real MNIST
batches and ε, which the page's own loop (pysrc/train/loop.py) chooses. Also the encoder and decoder graphs, and
the loss against training/vae.py's. Needs TensorFlow.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow

tf = pytest.importorskip("tensorflow")

import keras  # noqa: E402

from train import loop  # noqa: E402
from training import live, vae  # noqa: E402
from training.live_runtime import run, trainer  # noqa: E402

BETA_1 = np.float32(1.0) - np.float32(live.BETA_1)  # what Adam multiplies the first gradient by, in float32


def weights(state: dict) -> list[np.ndarray]:
    return [state[name].numpy() for name in live.NAMES]


@pytest.fixture(scope="module")
def run30():
    """The loop after 30 steps at β = 1: weights where the ReLUs and the codes have moved off the start."""
    t = trainer(loop.Settings(seed=3, beta=1.0, learning_rate=1e-3))
    run(t.train(30))
    return t


@pytest.mark.parametrize("at_step", [0, 30])
@pytest.mark.parametrize("beta", [1.0, 4.0])
def test_one_step_gradients_equal_gradient_tape(run30, at_step, beta):
    """The first moment a fresh Adam state gets is (1 − β₁)·g, so the graph's new m gives its gradient g."""
    t = trainer(loop.Settings(seed=3, beta=beta)) if at_step == 0 else run30
    params = weights(t.state)
    feeds = t.feeds(at_step + 1)
    images, epsilon = feeds["images"].numpy(), feeds["epsilon"].numpy()
    for name, p in zip(live.NAMES, params, strict=True):  # a fresh Adam state at these weights
        feeds[f"m.{name}"] = feeds[f"v.{name}"] = t.runner.tensor("float32", p.shape, np.zeros_like(p))
    feeds["step"] = t.runner.tensor("float32", [], np.zeros((), np.float32))
    feeds["beta"] = t.runner.tensor("float32", [], np.array(beta, np.float32))
    outputs = run(t.runner.run("step", feeds))
    bce, kl, grads = live.gradients([tf.constant(p) for p in params], images, epsilon, tf.constant(beta))
    assert outputs["bce"].numpy() == pytest.approx(float(bce), rel=1e-5)
    assert outputs["kl"].numpy() == pytest.approx(float(kl), rel=1e-5)
    for name, g in zip(live.NAMES, grads, strict=True):
        g = g.numpy()
        graph_g = outputs[f"new.m.{name}"].numpy() / BETA_1
        scale = np.abs(g).max()
        assert scale > 0, name
        assert np.abs(graph_g - g).max() <= 1e-5 * scale, name


def test_fifty_steps_equal_keras_adam():
    """50 steps of the graph through the page's loop, and 50 of keras.optimizers.Adam on the same batches and ε."""
    t = trainer(loop.Settings(seed=5, beta=1.0, learning_rate=1e-3))
    variables = [tf.Variable(p) for p in weights(t.state)]
    adam = keras.optimizers.Adam(learning_rate=1e-3)
    losses = []
    for step in range(1, 51):
        feeds = t.feeds(step)
        bce, kl, grads = live.gradients(variables, feeds["images"].numpy(), feeds["epsilon"].numpy(), 1.0)
        adam.apply_gradients(zip(grads, variables, strict=True))
        losses.append((float(bce), float(kl)))
        run(t.train_step())
    assert t.step == 50 and float(t.state["step"].numpy()) == 50.0
    for name, variable, graph_p in zip(live.NAMES, variables, weights(t.state), strict=True):
        assert np.abs(graph_p - variable.numpy()).max() <= 1e-4, name
    graph_losses = [(s.bce, s.kl) for s in t.losses]
    np.testing.assert_allclose(graph_losses, losses, rtol=1e-4)
    assert losses[-1][0] < 0.6 * losses[0][0], "50 steps train: the reconstruction loss falls"


def test_encoder_and_decoder_graphs_equal_tensorflow(run30, test):
    params = dict(zip(live.NAMES, weights(run30.state), strict=True))
    pixels = (test.images[:100].reshape(100, -1) / np.float32(255)).astype(np.float32)
    mu, log_var = run(run30.encode(pixels.tobytes(), 100))
    tf_mu, tf_log_var = live.encode(params, pixels)
    np.testing.assert_allclose(mu.numpy(), tf_mu.numpy(), atol=1e-5)
    np.testing.assert_allclose(log_var.numpy(), tf_log_var.numpy(), atol=1e-5)
    z = mu.numpy()
    reconstruction = run(run30.decode(z.tobytes(), 100)).numpy().copy()  # numpy() views the OrtValue's memory
    np.testing.assert_allclose(reconstruction, tf.sigmoid(live.decode_logits(params, z)).numpy(), atol=1e-5)
    assert reconstruction.shape == (100, 784)


def test_the_loss_is_training_vae_py_s(test):
    """The written-out BCE from logits equals training/vae.py's `reconstruction_loss` on the sigmoid as Keras
    computes it inside `fit` (from the logits, `_get_logits`), saturated pixels included; and as Keras computes it
    eagerly (from float32 probabilities, clipped), where those are precise: logits of moderate size."""
    x = (test.images[:32].reshape(32, 28, 28, 1) / 255.0).astype(np.float32)

    @tf.function
    def in_fit(x, logits):
        return vae.reconstruction_loss(x, tf.sigmoid(logits))

    def ours(logits):
        return live.reconstruction_bce(x.reshape(32, -1), logits.reshape(32, -1)).numpy()

    logits = np.random.default_rng(0).normal(0.0, 4.0, x.shape).astype(np.float32)
    np.testing.assert_allclose(ours(logits), in_fit(x, logits).numpy(), rtol=1e-5)
    moderate = logits / 2
    np.testing.assert_allclose(ours(moderate), vae.reconstruction_loss(x, tf.sigmoid(moderate)).numpy(), rtol=1e-5)


def test_the_committed_graphs_are_what_training_live_exports(tmp_path):
    """The graphs in models/train/ are this code's: an export here writes them byte for byte."""
    committed = loop.read_index((live.OUT / loop.INDEX).read_text())["graphs"]
    exported = live.export_graphs(tmp_path)
    for name, entry in exported.items():
        assert entry == committed[name], name
