"""Export the trained VAE into the small files the page ships: two ONNX models, the latent map, the presets and
the model card. The page never needs TensorFlow; it needs exactly these files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx

from training.evaluate import encode, sessions
from training.first_view import write_first_view

OPSET = 17  # onnxruntime-web 1.30 runs it
MAP_SIZE = 10_000  # the latent map: μ of the first 10,000 training images


def name_outputs(graph, outputs: list[str]) -> None:
    """Rename a converted graph's outputs, in order, to the names the page reads (tf2onnx numbers them)."""
    renames = {out.name: name for out, name in zip(graph.output, outputs, strict=True)}
    for node in graph.node:
        node.output[:] = [renames.get(o, o) for o in node.output]
        node.input[:] = [renames.get(i, i) for i in node.input]
    for out in graph.output:
        out.name = renames[out.name]


def _export(model, input_name: str, input_shape: tuple, outputs: list[str], path: Path) -> None:
    """Convert one Keras model with a dynamic batch named "batch", and name its outputs as the page reads them."""
    spec = [tf.TensorSpec((None, *input_shape), tf.float32, name=input_name)]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET)
    name_outputs(proto.graph, outputs)
    for value in [*proto.graph.input, *proto.graph.output]:
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.checker.check_model(proto)
    path.write_bytes(proto.SerializeToString())


def export_models(vae, out: Path) -> None:
    _export(vae.encoder, "image", (28, 28, 1), ["z_mean", "z_log_var"], out / "encoder.onnx")
    _export(vae.decoder, "z", (2,), ["reconstruction"], out / "decoder.onnx")


def write_latent_map(out: Path, mu: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """μ as little-endian float32 pairs, then one uint8 label per point: 90 KB the page reads with `array`."""
    mu = mu[:MAP_SIZE].astype("<f4")
    labels = labels[:MAP_SIZE].astype(np.uint8)
    (out / "latent_map.bin").write_bytes(mu.tobytes() + labels.tobytes())
    manifest = {
        "file": "latent_map.bin",
        "description": f"mu of the first {MAP_SIZE} MNIST training images, with their labels",
        "count": len(mu),
        "mu": {"dtype": "float32", "byte_order": "little", "shape": list(mu.shape), "offset": 0},
        "labels": {"dtype": "uint8", "shape": [len(labels)], "offset": mu.nbytes},
        "byte_length": mu.nbytes + labels.nbytes,
        "ranges": {"mu_min": mu.min(axis=0).tolist(), "mu_max": mu.max(axis=0).tolist()},
    }
    (out / "latent_map.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return mu, labels


def write_presets(out: Path, test_split, test_mu: np.ndarray, map_mu: np.ndarray, map_labels: np.ndarray) -> None:
    """One real test digit per class, typical and unambiguous, so a learner's first click lands among its kind.

    Per digit: among the test images whose 10 nearest latent-map points all carry its label, the one whose μ is
    nearest the median μ of that digit's test images (or simply the nearest to the median, if none qualifies).
    """
    chosen = []
    for digit in range(10):
        idx = np.flatnonzero(test_split.labels == digit)
        d2 = ((test_mu[idx, None, :] - map_mu[None, :, :]) ** 2).sum(axis=2)
        neighbours = map_labels[np.argpartition(d2, 10, axis=1)[:, :10]]
        clear = idx[(neighbours == digit).all(axis=1)]
        pool = clear if len(clear) else idx
        centre = np.median(test_mu[idx], axis=0)
        chosen.append(int(pool[np.argmin(((test_mu[pool] - centre) ** 2).sum(axis=1))]))
    (out / "presets.bin").write_bytes(test_split.images[chosen].astype(np.uint8).tobytes())
    manifest = {
        "file": "presets.bin",
        "description": "one MNIST test image per digit 0-9, uint8 pixels, row-major",
        "dtype": "uint8",
        "shape": [10, 28, 28],
        "labels": list(range(10)),
        "test_indices": chosen,
        "rule": "per digit, among test images whose 10 nearest latent-map points all carry its label, "
        "the one whose mu is nearest the median mu of that digit's test images",
    }
    (out / "presets.json").write_text(json.dumps(manifest, indent=2) + "\n")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_all(vae, out: Path, train_split, test_split) -> dict:
    """Write every artifact and return the figures for the model card."""
    out.mkdir(parents=True, exist_ok=True)
    export_models(vae, out)
    encoder, _ = sessions(out)
    map_mu, map_labels = write_latent_map(
        out, *(a[:MAP_SIZE] for a in (encode(encoder, train_split.images[:MAP_SIZE])[0], train_split.labels))
    )
    test_mu, _ = encode(encoder, test_split.images)
    write_presets(out, test_split, test_mu, map_mu, map_labels)
    write_first_view(out)
    keras_mu = vae.encoder.predict(train_split.images[:256, ..., None] / 255.0, verbose=0)[0]
    return {
        "map_mu": map_mu,
        "map_labels": map_labels,
        "onnx_vs_keras_max_abs_diff_mu": float(np.abs(keras_mu - map_mu[:256]).max()),
    }


def save_weights(vae, folder: Path) -> None:
    """The encoder's and decoder's weights, exactly, so ONNX can be exported later, away from the training."""
    folder.mkdir(parents=True, exist_ok=True)
    vae.encoder.save_weights(folder / "encoder.weights.h5")
    vae.decoder.save_weights(folder / "decoder.weights.h5")


def export_from_weights(folder: Path, out: Path) -> None:
    """encoder.onnx and decoder.onnx of weights saved by save_weights, in a fresh Keras session so the graph's
    names (and so the files' bytes) do not depend on what the process built before.
    """
    import keras

    from training.vae import VAE, build_decoder, build_encoder

    keras.backend.clear_session()
    encoder, decoder = build_encoder(), build_decoder()
    encoder.load_weights(folder / "encoder.weights.h5")
    decoder.load_weights(folder / "decoder.weights.h5")
    out.mkdir(parents=True, exist_ok=True)
    export_models(VAE(encoder, decoder), out)
