"""Train for one short epoch, export, and check the ONNX files compute what Keras computes.

Also checks the two pieces the page teaches from training/vae.py: the Sampling layer's distribution, and that the
loss the model trains on is the loss training/evaluate.py measures. Needs the train extra (TensorFlow).
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow

pytest.importorskip("tensorflow")

from training import evaluate  # noqa: E402
from training import vae as vae_module  # noqa: E402  (first of the TF imports: it sets the Keras backend)
from training.export import MAP_SIZE, export_models  # noqa: E402
from training.mnist import load_split  # noqa: E402

N_TRAIN = 512


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A VAE after one epoch on 512 images, and its ONNX export."""
    images = load_split("train").images[:N_TRAIN]
    vae, history = vae_module.train(images, epochs=1)
    out = tmp_path_factory.mktemp("onnx")
    export_models(vae, out)
    return vae, history, out


def test_one_epoch_trains_and_reports_the_three_losses(trained):
    _, history, _ = trained
    h = history.history
    assert set(h) == {"total_loss", "reconstruction_loss", "kl_loss"}
    assert all(len(v) == 1 and np.isfinite(v[0]) for v in h.values())
    # 784 pixels of BCE at chance are ~543 nats; after 4 batches the model is still near that, but finite.
    assert 0 < h["reconstruction_loss"][0] < 784 * np.log(2) * 1.5
    assert h["kl_loss"][0] >= 0
    assert h["total_loss"][0] == pytest.approx(h["reconstruction_loss"][0] + h["kl_loss"][0], rel=1e-5)


def test_onnx_matches_keras(trained):
    vae, _, out = trained
    encoder, decoder = evaluate.sessions(out)
    test = load_split("test")
    images = test.images[:16]
    x = evaluate.to_unit(images)

    keras_mu, keras_log_var = (np.asarray(a) for a in vae.encoder(x, training=False))
    onnx_mu, onnx_log_var = evaluate.encode(encoder, images)
    assert onnx_mu.shape == onnx_log_var.shape == (16, 2)
    assert np.abs(onnx_mu - keras_mu).max() < 1e-4
    assert np.abs(onnx_log_var - keras_log_var).max() < 1e-4

    # The decoder on the same 16 inputs: the encodings, and points spread over the prior.
    z = np.concatenate([keras_mu, np.random.default_rng(3).normal(0, 2, (16, 2))]).astype(np.float32)
    keras_x_hat = np.asarray(vae.decoder(z, training=False))
    onnx_x_hat = evaluate.decode(decoder, z)
    assert onnx_x_hat.shape == keras_x_hat.shape == (32, 28, 28, 1)
    assert np.abs(onnx_x_hat - keras_x_hat).max() < 1e-4
    # The model changed its outputs with its inputs (not a constant graph).
    assert np.abs(onnx_mu - onnx_mu.mean(axis=0)).max() > 1e-3
    assert np.abs(onnx_x_hat[0] - onnx_x_hat[-1]).max() > 1e-3


def test_sampling_draws_from_the_encoded_gaussian():
    n = 20_000
    mu = np.array([1.5, -2.0], np.float32)
    log_var = np.array([0.8, -1.6], np.float32)
    sigma = np.exp(0.5 * log_var)
    z_mean = np.tile(mu, (n, 1))
    z_log_var = np.tile(log_var, (n, 1))

    z = np.asarray(vae_module.Sampling(seed=42)([z_mean, z_log_var]))
    assert z.shape == (n, 2)
    # 5 standard errors: the mean's is σ/√n, the standard deviation's about σ/√(2n).
    np.testing.assert_array_less(np.abs(z.mean(axis=0) - mu), 5 * sigma / np.sqrt(n))
    np.testing.assert_array_less(np.abs(z.std(axis=0) - sigma), 5 * sigma / np.sqrt(2 * n))
    # The noise is independent per coordinate.
    assert abs(np.corrcoef(z.T)[0, 1]) < 5 / np.sqrt(n)

    # Seeded: the same seed gives the same draws, another seed other draws.
    again = np.asarray(vae_module.Sampling(seed=42)([z_mean, z_log_var]))
    np.testing.assert_array_equal(z, again)
    other = np.asarray(vae_module.Sampling(seed=43)([z_mean, z_log_var]))
    assert not np.allclose(z, other)


def test_sampling_is_deterministic_where_sigma_is_zero():
    z_mean = np.array([[0.25, -3.0], [7.0, 1.0]], np.float32)
    z = np.asarray(vae_module.Sampling(seed=0)([z_mean, np.full_like(z_mean, -200.0)]))
    np.testing.assert_allclose(z, z_mean, atol=1e-6)


def test_training_losses_match_the_evaluation_losses():
    rng = np.random.default_rng(11)
    x = rng.random((8, 28, 28, 1)).astype(np.float32)
    x[:4] = np.round(x[:4])  # binary targets too, as well as grey levels
    x_hat = rng.uniform(0.001, 0.999, (8, 28, 28, 1)).astype(np.float32)
    mu = rng.normal(0, 2, (8, 2)).astype(np.float32)
    log_var = rng.normal(0, 1.5, (8, 2)).astype(np.float32)

    keras_rec = np.asarray(vae_module.reconstruction_loss(x, x_hat))
    numpy_rec = evaluate.reconstruction_bce(x, x_hat)
    assert keras_rec.shape == numpy_rec.shape == (8,)
    np.testing.assert_allclose(keras_rec, numpy_rec, rtol=1e-4)

    keras_kl = np.asarray(vae_module.kl_loss(mu, log_var))
    numpy_kl = evaluate.kl_divergence(mu, log_var)
    assert keras_kl.shape == numpy_kl.shape == (8,)
    np.testing.assert_allclose(keras_kl, numpy_kl, rtol=1e-4)
    assert (numpy_kl >= 0).all()

    # The KL is zero exactly at the prior.
    np.testing.assert_allclose(np.asarray(vae_module.kl_loss(np.zeros((1, 2)), np.zeros((1, 2)))), [0.0], atol=1e-7)


def test_evaluation_bce_clips_like_keras():
    """Probabilities of exactly 0 and 1 are clipped to [ε, 1 − ε] on both sides, so neither gives inf.

    Keras clips in float32, where 1 − 1e-7 rounds to 1 − 1.19e-7, and evaluate.py in float64: for a pixel that
    is maximally wrong the two differ by log(1.19) ≈ 0.17 nats of the ≈ 16.1, hence the 1.5% tolerance here.
    """
    x = np.zeros((1, 28, 28, 1), np.float32)
    x[0, :14] = 1.0
    x_hat = 1.0 - x  # every pixel maximally wrong
    keras_rec = np.asarray(vae_module.reconstruction_loss(x, x_hat))
    numpy_rec = evaluate.reconstruction_bce(x, x_hat)
    capped = 784 * -np.log(evaluate.EPSILON)
    assert np.isfinite(keras_rec).all() and np.isfinite(numpy_rec).all()
    np.testing.assert_allclose(numpy_rec, capped, rtol=0.015)
    np.testing.assert_allclose(keras_rec, capped, rtol=0.015)


def test_the_measured_reconstruction_loss_is_the_trained_one(trained):
    """In training the decoder's output carries the logits behind its sigmoid, and Keras computes the BCE from
    those instead of clipping probabilities; evaluate.py only has the ONNX probabilities. Away from saturation the
    two agree, so the card's test figure measures the objective that was trained.
    """
    import tensorflow as tf

    vae, _, out = trained
    _, decoder = evaluate.sessions(out)
    x = evaluate.to_unit(load_split("test").images[:64])
    z = np.asarray(vae.encoder(x, training=False)[0])

    @tf.function
    def training_rec(x, z):
        return vae_module.reconstruction_loss(x, vae.decoder(z))

    graph_rec = np.asarray(training_rec(x, z))
    x_hat = evaluate.decode(decoder, z)
    assert x_hat.min() > 1e-6 and x_hat.max() < 1 - 1e-6  # after one short epoch nothing saturates
    np.testing.assert_allclose(graph_rec, evaluate.reconstruction_bce(x, x_hat), rtol=1e-4)


def test_progress_lines_show_the_losses_and_the_latent_knn(trained, capsys):
    """`python -m training` prints one line per epoch; its kNN figure is the model card's, taken from Keras."""
    from training.callbacks import progress_callback
    from training.train_vae import latent_knn

    vae, _, out = trained
    train, test = load_split("train"), load_split("test")
    measure = latent_knn(train, test)
    encoder, _ = evaluate.sessions(out)
    map_mu = evaluate.encode(encoder, train.images[:MAP_SIZE])[0]
    test_mu = evaluate.encode(encoder, test.images)[0]
    expected = evaluate.knn_accuracy(map_mu, train.labels[:MAP_SIZE], test_mu, test.labels)
    value = measure(vae.encoder)
    assert value == pytest.approx(expected, abs=2e-4)  # ONNX and Keras μ differ by ~1e-6
    assert 0.1 < value < 1

    progress = progress_callback(1, 4, measure)
    progress.set_model(vae)
    progress.on_train_begin()
    for batch in range(4):
        progress.on_train_batch_end(batch)
    progress.on_epoch_end(0, {"total_loss": 200.0, "reconstruction_loss": 190.5, "kl_loss": 9.5})
    progress.on_train_end()
    printed = capsys.readouterr()
    assert f"epoch  1/1  loss 200.00  reconstruction 190.50  kl 9.50  kNN(10) {value:.4f}\n" in printed.out
    assert "4/4" in printed.err


def weights_of(vae) -> list[np.ndarray]:
    return [np.asarray(w) for w in vae.encoder.weights + vae.decoder.weights]


# Keras's save_weights hands h5py its variables through numpy's pre-2.0 __array__ protocol.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_checkpoints_are_saved_without_changing_the_run(trained, tmp_path):
    """The checkpoint callback of `python -m training` only reads the weights: with it the run trains to the very
    same bits. Epoch 0 is the untrained network; ONNX exported later from a checkpoint computes what Keras did.
    """
    from training.callbacks import checkpoint_callback
    from training.export import export_from_weights

    vae, history, out = trained
    losses = {}
    again, again_history = vae_module.train(
        load_split("train").images[:N_TRAIN],
        epochs=1,
        callbacks=[checkpoint_callback(lambda epoch: tmp_path / f"epoch-{epoch}", {0, 1}, losses)],
    )
    for before, after in zip(weights_of(vae), weights_of(again), strict=True):
        np.testing.assert_array_equal(before, after)
    assert again_history.history == history.history
    assert losses == {1: {f"train_{k}": pytest.approx(v[0], rel=1e-6) for k, v in history.history.items()}}

    for epoch in (0, 1):
        export_from_weights(tmp_path / f"epoch-{epoch}", tmp_path / f"onnx-{epoch}")
    images = load_split("test").images[:16]
    mu = {
        epoch: evaluate.encode(evaluate.session(tmp_path / f"onnx-{epoch}" / "encoder.onnx"), images)[0]
        for epoch in (0, 1)
    }
    np.testing.assert_allclose(mu[1], evaluate.encode(evaluate.sessions(out)[0], images)[0], atol=1e-6)
    assert np.abs(mu[0] - mu[1]).max() > 1e-3  # epoch 0 is not the trained network


@pytest.mark.parametrize("beta", [0.0, 3.0])
def test_beta_weighs_only_the_kl_term(beta):
    """β scales the KL in the objective (total = reconstruction + β·KL); the KL is still reported unweighted."""
    _, history = vae_module.train(load_split("train").images[:256], epochs=1, beta=beta)
    h = {k: v[0] for k, v in history.history.items()}
    assert h["kl_loss"] > 0
    assert h["total_loss"] == pytest.approx(h["reconstruction_loss"] + beta * h["kl_loss"], rel=1e-5)
