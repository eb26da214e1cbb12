"""The PixelCNN of training/pixelcnn.py: one short epoch on real codes, its masks in Keras, and its ONNX export
computing Keras's logits. Needs TensorFlow.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow

pytest.importorskip("tensorflow")

from training import pixelcnn  # noqa: E402  (first of the TF imports: it sets the Keras backend)
from training.mnist import REPO  # noqa: E402
from training.vq_evaluate import grid_codes, one_hot, prior_nll_bits  # noqa: E402
from training.vq_export import export_prior  # noqa: E402

VQ = REPO / "models" / "vq"


@pytest.fixture(scope="module")
def codes(train):
    """The shipped VQ-VAE's codes of 2,048 training digits, as the page computes them."""
    return grid_codes(VQ, train.images[:2048])


@pytest.fixture(scope="module")
def trained(codes, tmp_path_factory):
    model, history = pixelcnn.train(codes, epochs=1)
    out = tmp_path_factory.mktemp("prior")
    return model, history, out, export_prior(model, out, codes[:64])


def test_masks_keep_each_cell_blind_to_itself_and_later_cells(trained, codes):
    model = trained[0]
    grids = codes[:49].copy()
    changed = grids.copy()
    for cell in range(49):
        changed[cell].flat[cell] = (grids[cell].flat[cell] + 1) % pixelcnn.NUM_CODES
    before = np.asarray(model(one_hot(grids, pixelcnn.NUM_CODES))).reshape(49, 49, -1)
    after = np.asarray(model(one_hot(changed, pixelcnn.NUM_CODES))).reshape(49, 49, -1)
    for cell in range(49):
        assert np.array_equal(before[cell, : cell + 1], after[cell, : cell + 1]), cell


def test_one_epoch_learns_and_onnx_computes_the_keras_logits(trained, codes):
    import keras

    model, history, out, difference = trained
    (loss,) = history.history["loss"]
    assert np.isfinite(loss) and loss < np.log(pixelcnn.NUM_CODES)  # better than uniform already
    assert 0 <= difference <= 1e-4
    # The card's measure on the exported file is the loss Keras trains, in bits instead of nats.
    logits = model(one_hot(codes, pixelcnn.NUM_CODES), training=False)
    nats = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(codes, logits))
    assert prior_nll_bits(out, codes) == pytest.approx(nats / np.log(2), rel=1e-5)
