"""Measure the shipped ONNX models the way the page runs them: onnxruntime and numpy, no TensorFlow.

The export writes these figures into the model card, and the tests recompute them from the committed files,
so the card can never claim more than the artifacts deliver.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

EPSILON = 1e-7  # keras.backend.epsilon(): Keras clips probabilities to [ε, 1 − ε] before the log
BATCH = 1000


def session(path: Path) -> ort.InferenceSession:
    """One ONNX model, single-threaded like the page's wasm backend."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def sessions(models_dir: Path) -> tuple[ort.InferenceSession, ort.InferenceSession]:
    """The encoder and decoder sessions of a models folder."""
    return session(Path(models_dir) / "encoder.onnx"), session(Path(models_dir) / "decoder.onnx")


def to_unit(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) → float32 (n, 28, 28, 1) in [0, 1], the encoder's input."""
    return (images.astype(np.float32) / 255.0)[..., None]


def encode(encoder: ort.InferenceSession, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = to_unit(images)
    parts = [encoder.run(["z_mean", "z_log_var"], {"image": x[i : i + BATCH]}) for i in range(0, len(x), BATCH)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def decode(decoder: ort.InferenceSession, z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float32)
    parts = [decoder.run(["reconstruction"], {"z": z[i : i + BATCH]})[0] for i in range(0, len(z), BATCH)]
    return np.concatenate(parts)


def reconstruction_bce(x: np.ndarray, x_hat: np.ndarray) -> np.ndarray:
    """Per-image sum of binary cross-entropy, as keras.losses.binary_crossentropy computes it from probabilities."""
    p = np.clip(x_hat.astype(np.float64), EPSILON, 1 - EPSILON)
    x = x.astype(np.float64)
    return -(x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(len(x), -1).sum(axis=1)


def kl_divergence(mu: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """KL(N(μ, σ²) ‖ N(0, I)) per image, in closed form."""
    mu, log_var = mu.astype(np.float64), log_var.astype(np.float64)
    return (-0.5 * (1 + log_var - mu**2 - np.exp(log_var))).sum(axis=1)


def knn_accuracy(
    map_mu: np.ndarray, map_labels: np.ndarray, query_mu: np.ndarray, query_labels: np.ndarray, k: int = 10
) -> float:
    """Share of queries whose k nearest map points (Euclidean, in latent units) vote for the right label."""
    correct = 0
    for start in range(0, len(query_mu), BATCH):
        q = query_mu[start : start + BATCH]
        # The latent is 2-D: add the two squares directly rather than through a (batch, map, 2) array; the
        # same float32 sums, four times faster.
        d2 = np.square(q[:, None, 0] - map_mu[None, :, 0]) + np.square(q[:, None, 1] - map_mu[None, :, 1])
        nearest = np.argpartition(d2, k, axis=1)[:, :k]
        rows = np.arange(len(q))[:, None] * 10 + map_labels[nearest]  # each query's votes in its own 10 bins
        votes = np.bincount(rows.ravel(), minlength=10 * len(q)).reshape(len(q), 10)
        correct += int((votes.argmax(axis=1) == query_labels[start : start + BATCH]).sum())
    return correct / len(query_mu)


def test_set_metrics(
    models_dir: Path, test_images: np.ndarray, test_labels: np.ndarray, map_mu, map_labels, seed: int = 0
) -> dict[str, float]:
    """Negative ELBO on the test set with one z ~ q(z|x) per image (seeded), and kNN label accuracy."""
    return metrics_from_sessions(*sessions(models_dir), test_images, test_labels, map_mu, map_labels, seed)


def metrics_from_sessions(
    encoder, decoder, test_images: np.ndarray, test_labels: np.ndarray, map_mu, map_labels, seed: int = 0
) -> dict[str, float]:
    """test_set_metrics for an encoder and decoder already loaded."""
    mu, log_var = encode(encoder, test_images)
    epsilon = np.random.default_rng(seed).standard_normal(mu.shape).astype(np.float32)
    z = mu + np.exp(0.5 * log_var) * epsilon
    rec = reconstruction_bce(to_unit(test_images), decode(decoder, z))
    kl = kl_divergence(mu, log_var)
    return {
        "test_reconstruction_bce": float(rec.mean()),
        "test_kl": float(kl.mean()),
        "test_negative_elbo": float((rec + kl).mean()),
        "knn10_accuracy": knn_accuracy(map_mu, map_labels, mu, test_labels, k=10),
    }
