"""The page's loss (pysrc/loss.py) equals what training computes (training/vae.py), on the same input."""

from pathlib import Path

import numpy as np
import pytest

from vae import loss

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cases():
    from training.evaluate import decode, encode, sessions
    from training.mnist import load_split

    test = load_split("test")
    encoder, decoder = sessions(REPO / "models")
    images = test.images[:16]
    mu, log_var = encode(encoder, images)
    x = (images.astype(np.float32) / 255.0)[..., None]
    x_hat = decode(decoder, mu)
    blank = np.zeros((1, 28, 28, 1), np.float32)
    saturated = np.zeros((1, 28, 28, 1), np.float32)
    saturated[0, :14] = 1.0  # exactly 0 and 1: the clipping must agree
    x_all = np.concatenate([x, blank, saturated])
    x_hat_all = np.concatenate([x_hat, blank + 0.5, 1.0 - saturated])
    mu_all = np.concatenate([mu, [[0.0, 0.0], [3.0, -2.0]]]).astype(np.float32)
    log_var_all = np.concatenate([log_var, [[0.0, 0.0], [-6.0, 2.0]]]).astype(np.float32)
    return x_all, x_hat_all, mu_all, log_var_all


def test_page_loss_equals_tensorflow(cases):
    from training.vae import kl_loss, reconstruction_loss

    x, x_hat, mu, log_var = cases
    tf_rec = reconstruction_loss(tf.constant(x), tf.constant(x_hat)).numpy()
    tf_kl = kl_loss(tf.constant(mu), tf.constant(log_var)).numpy()
    for i in range(len(x)):
        rec = loss.reconstruction_bce(x[i].reshape(-1).tolist(), x_hat[i].reshape(-1).tolist())
        kl = loss.kl_divergence(mu[i].tolist(), log_var[i].tolist())
        assert rec == pytest.approx(float(tf_rec[i]), rel=1e-4)
        assert sum(kl) == pytest.approx(float(tf_kl[i]), rel=1e-4, abs=1e-6)
        assert loss.negative_elbo(rec, kl) == pytest.approx(float(tf_rec[i] + tf_kl[i]), rel=1e-4)
