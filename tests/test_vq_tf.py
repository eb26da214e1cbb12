"""The page's Python quantiser (pysrc/quantizer.py) against the Keras `VectorQuantizer` of training/vqvae.py, both
holding the shipped codebook, on the shipped encoder's vectors of real test images: the same indices, the same
quantised vectors, the same two losses; and the straight-through estimator's gradient. Needs TensorFlow.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow

tf = pytest.importorskip("tensorflow")

from training import vqvae  # noqa: E402  (first of the TF imports: it sets the Keras backend)
from training.evaluate import session  # noqa: E402
from training.mnist import REPO  # noqa: E402
from training.vq_evaluate import encode, quantize, read_codebook, read_presets  # noqa: E402

VQ = REPO / "models" / "vq"
N_IMAGES = 400  # 19,600 vectors


@pytest.fixture(scope="module")
def codebook():
    return read_codebook(VQ)


@pytest.fixture(scope="module")
def layer(codebook):
    """The Keras layer as training built it, holding the shipped codebook."""
    quantizer = vqvae.VectorQuantizer(*codebook.shape)
    quantizer.build((None, 7, 7, codebook.shape[1]))
    quantizer.codebook.assign(codebook)
    return quantizer


@pytest.fixture(scope="module")
def encoded(test):
    """The shipped encoder's vectors for real test images and the ten presets: float32 (n, 7, 7, D)."""
    images = np.concatenate([test.images[:N_IMAGES], read_presets(REPO / "models")])
    return encode(session(VQ / "encoder.onnx"), images)


def test_page_quantiser_equals_the_keras_layer(layer, codebook, encoded):
    keras_quantized, keras_indices = (np.asarray(a) for a in layer(encoded))
    indices, quantized = quantize(encoded, codebook)
    assert indices.shape == keras_indices.shape == (N_IMAGES + 10, 7, 7)
    np.testing.assert_array_equal(indices, keras_indices)
    assert quantized.shape == keras_quantized.shape == encoded.shape
    # Keras returns z + sg(e − z), which is e up to float32 rounding; the page returns the code e itself.
    assert np.abs(quantized - keras_quantized).max() <= 1e-5
    assert np.array_equal(quantized, codebook[indices])
    assert len(np.unique(indices)) >= 12, "the comparison covers most of the codebook"


def test_page_losses_equal_the_keras_layer(layer, codebook, encoded):
    from vq import quantizer as page

    for grid in encoded[:3]:
        layer(grid[None])
        keras_codebook, keras_commitment = (float(loss) for loss in layer.losses)
        vectors = grid.reshape(49, -1).tolist()
        _, quantized, _ = page.quantize(vectors, [tuple(code) for code in codebook.tolist()])
        codebook_loss, commitment_loss = page.quantization_losses(vectors, quantized, vqvae.COMMITMENT_COST)
        assert keras_codebook == pytest.approx(codebook_loss, rel=1e-5)
        assert keras_commitment == pytest.approx(commitment_loss, rel=1e-5)
        assert codebook_loss > 0


def test_the_details_graph_shows_the_keras_layers_losses(layer, codebook, encoded):
    """What "Explain VQ-VAE details" prints as the two losses is what `VectorQuantizer.add_loss` adds, on the
    shipped encoder's vectors of real test digits and presets, with the β of training."""
    from vq import graph as vq_graph
    from vq import quantizer as page

    assert vq_graph.COMMITMENT_COST == vqvae.COMMITMENT_COST == layer.commitment_cost
    codes = [tuple(code) for code in codebook.tolist()]
    for grid in (*encoded[:3], *encoded[-10:]):
        layer(grid[None])
        keras_losses = [float(loss) for loss in layer.losses]
        vectors = grid.reshape(49, -1).tolist()
        indices, _, distances = page.quantize(vectors, codes)
        updates = vq_graph.graph_updates(vectors, codes, distances, indices, indices, focus=24)
        shown = [float(updates[(f"vqg-{name}", "data-value")]) for name in ("codebook-loss", "commitment-loss")]
        assert shown == pytest.approx(keras_losses, rel=1e-5)


def test_the_straight_through_estimator(layer, encoded):
    """The decoder's gradient reaches the encoder unchanged (the lookup counts as the identity), and only the
    codebook loss moves the codes: the chosen ones, toward their vectors.
    """
    x = tf.constant(encoded[:4])
    weights = tf.random.stateless_normal(x.shape, seed=(1, 2))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        quantized, indices = layer(x)
        downstream = tf.reduce_sum(quantized * weights)
        codebook_loss, commitment_loss = layer.losses
    np.testing.assert_allclose(tape.gradient(downstream, x), weights, rtol=1e-6)
    assert tape.gradient(downstream, layer.codebook) is None  # no path from the output to the codebook

    used = np.unique(np.asarray(indices))
    to_codes = np.asarray(tape.gradient(codebook_loss, layer.codebook))
    unused = np.setdiff1d(np.arange(layer.num_codes), used)
    assert np.abs(to_codes[used]).max(axis=1).min() > 0
    np.testing.assert_array_equal(to_codes[unused], 0.0)
    assert tape.gradient(codebook_loss, x) is None  # sg[z]: the codebook loss leaves the encoder alone
    assert tape.gradient(commitment_loss, layer.codebook) is None  # sg[e]: the commitment loss leaves the codes
    # A gradient step on the codebook loss brings the chosen codes nearer their vectors.
    shipped = np.asarray(layer.codebook).copy()
    layer.codebook.assign(shipped - 0.05 * to_codes)
    try:
        layer(x)
        assert float(layer.losses[0]) < float(codebook_loss)
    finally:
        layer.codebook.assign(shipped)
