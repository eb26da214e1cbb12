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


def test_the_pixelcnn_command_adds_the_prior_to_the_vq_card_only(tmp_path, train, test):
    """`python -m training --only pixelcnn`'s work, one epoch on 512 digits, into a copy of models/vq/: it writes
    pixelcnn.onnx and the card's prior part, whose NLL is its file's; the VQ-VAE's files and figures stay as they
    were."""
    import hashlib
    import json
    import shutil

    from training import PRIOR_ARTIFACT, VQ_ARTIFACTS
    from training.mnist import Split
    from training.train_vq import train_pixelcnn

    models = tmp_path / "models"
    (models / "vq").mkdir(parents=True)
    for name in [*VQ_ARTIFACTS, "model_card.json"]:
        shutil.copy(VQ / name, models / "vq" / name)
    shipped = json.loads((VQ / "model_card.json").read_text())
    command = "python -m training --only pixelcnn --epochs 1"
    small_train, small_test = (Split(s.images[:512], s.labels[:512]) for s in (train, test))
    assert train_pixelcnn(models, command, small_train, small_test, epochs=1) == 0

    card = json.loads((models / "vq" / "model_card.json").read_text())
    assert {k: v for k, v in card.items() if k != "prior"} == {k: v for k, v in shipped.items() if k != "prior"}
    prior = card["prior"]
    assert (prior["command"], prior["epochs"], prior["seed"]) == (command, 1, pixelcnn.SEED)
    digest = hashlib.sha256((models / "vq" / PRIOR_ARTIFACT).read_bytes()).hexdigest()
    assert prior["artifacts"] == {PRIOR_ARTIFACT: digest}
    bits = prior_nll_bits(models / "vq", grid_codes(models / "vq", small_test.images))
    assert prior["metrics"]["test_nll_bits_per_code"] == pytest.approx(bits, rel=1e-6)
    assert f"**{bits:.3f}** (uniform prior: 4)" in (models / "vq" / "MODEL_CARD.md").read_text()
