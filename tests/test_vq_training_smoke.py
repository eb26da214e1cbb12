"""Train the VQ-VAE for two short epochs, export it, and check that the ONNX files and the codebook compute what
Keras computes; then `python -m training --only vqvae`'s path end to end into a copy of models/, which leaves the
VAE's files as they were. Needs the train extra (TensorFlow).
"""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow

pytest.importorskip("tensorflow")

# training.vqvae, the first TF import here, sets the Keras backend.
from training import ARTIFACTS, VQ_ARTIFACTS, vqvae  # noqa: E402
from training.evaluate import session, to_unit  # noqa: E402
from training.mnist import DEFAULT_DATA_DIR, REPO, Split, load_split  # noqa: E402
from training.vq_evaluate import decode, encode, read_codebook, vq_metrics  # noqa: E402
from training.vq_export import export_all  # noqa: E402

N_TRAIN = 512


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A VQ-VAE after two epochs on 512 images (so one round of dead-code restarts), and its export."""
    model, history, restarted = vqvae.train(load_split("train").images[:N_TRAIN], epochs=2)
    out = tmp_path_factory.mktemp("vq")
    differences = export_all(model, out, load_split("test").images[:64])
    return model, history, restarted, out, differences


def test_two_epochs_train_and_report_the_four_losses(trained):
    _, history, _, _, _ = trained
    h = history.history
    assert set(h) == {"total_loss", "reconstruction_loss", "codebook_loss", "commitment_loss"}
    assert all(len(v) == 2 and np.isfinite(v).all() for v in h.values())
    for epoch in range(2):
        parts = h["reconstruction_loss"][epoch] + h["codebook_loss"][epoch] + h["commitment_loss"][epoch]
        assert h["total_loss"][epoch] == pytest.approx(parts, rel=1e-5)
        # Both quantiser losses are the same squared distance, stopped on opposite sides: commitment = 0.25 × codebook.
        assert h["commitment_loss"][epoch] == pytest.approx(0.25 * h["codebook_loss"][epoch], rel=1e-5)
    # Squared error over the pixels' variance: about 2.6 for an untrained sigmoid (every pixel 0.5), and falling.
    assert 0 < h["reconstruction_loss"][1] < h["reconstruction_loss"][0] < 3.5


def test_dead_codes_are_restarted_after_every_epoch_but_the_last(trained):
    _, _, restarted, _, _ = trained
    assert list(restarted) == [1]
    assert all(0 <= k < vqvae.NUM_CODES for k in restarted[1])
    assert len(set(restarted[1])) == len(restarted[1])


def test_a_restart_moves_only_unused_codes_onto_encoder_vectors(trained):
    """A code put far from every vector is dead; the callback moves it onto one of the sampled images' encoder
    vectors and leaves every code in use where it was. After the last epoch it changes nothing.
    """

    model, _, _, _, _ = trained
    images = load_split("test").images[:256]
    codebook = np.asarray(model.quantizer.codebook).copy()
    try:
        far = codebook.copy()
        far[3] = 1e3
        model.quantizer.codebook.assign(far)
        encoded = np.asarray(model.encoder(to_unit(images)))
        used = np.unique(np.asarray(model.quantizer(encoded)[1]))
        assert 3 not in used

        restart = vqvae.RestartDeadCodes(images, epochs=5)
        restart.set_model(model)
        restart.on_epoch_end(4)  # the last epoch: the codebook ships as trained
        np.testing.assert_array_equal(np.asarray(model.quantizer.codebook), far)
        restart.on_epoch_end(0)
        after = np.asarray(model.quantizer.codebook)
        assert restart.restarted[1] == sorted(set(range(vqvae.NUM_CODES)) - set(used.tolist()))
        np.testing.assert_array_equal(after[used], far[used])
        vectors = encoded.reshape(-1, vqvae.CODE_DIM)
        for k in restart.restarted[1]:
            assert np.abs(vectors - after[k]).max(axis=1).min() < 1e-5, f"code {k} is not on an encoder vector"
    finally:
        model.quantizer.codebook.assign(codebook)


def test_onnx_matches_keras(trained):
    model, _, _, out, differences = trained
    encoder, decoder = session(out / "encoder.onnx"), session(out / "decoder.onnx")
    assert [(i.name, i.shape) for i in encoder.get_inputs()] == [("image", ["batch", 28, 28, 1])]
    assert [(o.name, o.shape) for o in encoder.get_outputs()] == [("encoded", ["batch", 7, 7, vqvae.CODE_DIM])]
    assert [(i.name, i.shape) for i in decoder.get_inputs()] == [("quantized", ["batch", 7, 7, vqvae.CODE_DIM])]
    assert [(o.name, o.shape) for o in decoder.get_outputs()] == [("reconstruction", ["batch", 28, 28, 1])]

    images = load_split("test").images[100:116]
    keras_encoded = np.asarray(model.encoder(to_unit(images), training=False))
    onnx_encoded = encode(encoder, images)
    assert onnx_encoded.shape == (16, 7, 7, vqvae.CODE_DIM)
    assert np.abs(onnx_encoded - keras_encoded).max() < 1e-4
    grids = np.asarray(model.quantizer(keras_encoded)[0])
    keras_images = np.asarray(model.decoder(grids, training=False))
    assert np.abs(decode(decoder, grids) - keras_images).max() < 1e-4
    assert np.ptp(keras_images) > 1e-3  # not a constant graph (after 8 batches it is still near 0.5)
    assert 0 <= differences["onnx_vs_keras_max_abs_diff_encoded"] < 1e-4
    assert 0 <= differences["onnx_vs_keras_max_abs_diff_reconstruction"] < 1e-4


def test_the_codebook_file_is_the_keras_codebook(trained):

    model, _, _, out, _ = trained
    manifest = json.loads((out / "codebook.json").read_text())
    data = (out / "codebook.bin").read_bytes()
    assert manifest["shape"] == [manifest["num_codes"], manifest["code_dim"]] == [vqvae.NUM_CODES, vqvae.CODE_DIM]
    assert manifest["byte_length"] == len(data) == vqvae.NUM_CODES * vqvae.CODE_DIM * 4
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    np.testing.assert_array_equal(read_codebook(out), np.asarray(model.quantizer.codebook))


def test_progress_lines_show_the_four_losses(trained, capsys):
    from training.callbacks import VQ_LOSSES, progress_callback

    model, _, _, _, _ = trained
    progress = progress_callback(1, 3, label="VQ-VAE  ", losses=VQ_LOSSES, decimals=4)
    progress.set_model(model)
    progress.on_train_begin()
    for batch in range(3):
        progress.on_train_batch_end(batch)
    logs = {"total_loss": 0.5, "reconstruction_loss": 0.25, "codebook_loss": 0.2, "commitment_loss": 0.05}
    progress.on_epoch_end(0, logs)
    progress.on_train_end()
    printed = capsys.readouterr()
    line = "VQ-VAE  epoch  1/1  loss 0.5000  reconstruction 0.2500  codebook 0.2000  commitment 0.0500\n"
    assert line in printed.out
    assert "3/3" in printed.err


# Keras's save_weights hands h5py its variables through numpy's pre-2.0 __array__ protocol.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_the_vqvae_command_writes_only_models_vq(tmp_path, test):
    """`python -m training --only vqvae`'s work, on 512 images for one epoch, into a copy of the shipped models/:
    the four files and the card appear in vq/, the card's figures are those of its files, and the VAE's files
    (which it reads, for the comparison) are unchanged.
    """
    from training.train_vq import train_vqvae

    models = tmp_path / "models"
    models.mkdir()
    for name in ARTIFACTS:
        shutil.copy(REPO / "models" / name, models / name)
    before = {name: hashlib.sha256((models / name).read_bytes()).hexdigest() for name in ARTIFACTS}
    train = Split(load_split("train").images[:N_TRAIN], load_split("train").labels[:N_TRAIN])
    test = Split(test.images[:1000], test.labels[:1000])  # the card's test figures over 1,000 images, to be quick
    command = "python -m training --only vqvae --epochs 1"
    assert train_vqvae(models, command, DEFAULT_DATA_DIR, train, test, epochs=1, weights=tmp_path / "weights") == 0

    assert before == {name: hashlib.sha256((models / name).read_bytes()).hexdigest() for name in ARTIFACTS}
    assert sorted(p.name for p in (models / "vq").iterdir()) == sorted(
        [*VQ_ARTIFACTS, "MODEL_CARD.md", "model_card.json"]
    )
    assert sorted(p.name for p in (tmp_path / "weights").iterdir()) == [
        "codebook.npy",
        "decoder.weights.h5",
        "encoder.weights.h5",
    ]
    card = json.loads((models / "vq" / "model_card.json").read_text())
    assert card["command"] == command
    assert (card["epochs"], card["seed"], card["num_codes"], card["code_dim"]) == (1, vqvae.SEED, 16, 8)
    assert (card["data"]["train_images"], card["data"]["test_images"]) == (N_TRAIN, 1000)
    for name, digest in card["artifacts"].items():
        assert hashlib.sha256((models / "vq" / name).read_bytes()).hexdigest() == digest, name
    presets = np.frombuffer((models / "presets.bin").read_bytes(), np.uint8).reshape(10, 28, 28)
    measured = vq_metrics(models / "vq", test.images, presets)
    for name, value in measured.items():
        assert card["metrics"][name] == pytest.approx(value, rel=1e-6), name
    text = (models / "vq" / "MODEL_CARD.md").read_text()
    assert f"**{card['metrics']['test_mse']:.5f}**" in text
    assert f"{card['vae']['metrics']['test_mse']:.5f}" in text
