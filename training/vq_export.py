"""Export the trained VQ-VAE into the files the page ships in models/vq/: the encoder (image → 7×7×D vectors,
before quantisation) and the decoder (7×7×D → image) as ONNX, and the codebook as little-endian float32 with a
JSON manifest. The quantiser between them is not exported: the page runs it in Python (pysrc/vq/quantizer.py).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from training.evaluate import session, to_unit
from training.export import _export
from training.vq_evaluate import decode, encode, one_hot, prior_logits
from training.vqvae import GRID


def export_models(vqvae, out: Path) -> None:
    code_dim = vqvae.quantizer.code_dim
    _export(vqvae.encoder, "image", (28, 28, 1), ["encoded"], out / "encoder.onnx")
    _export(vqvae.decoder, "quantized", (GRID, GRID, code_dim), ["reconstruction"], out / "decoder.onnx")


def write_codebook(codebook: np.ndarray, out: Path) -> None:
    """K × D float32, row by row (code 0 first), and a manifest the page checks the bytes against."""
    data = np.asarray(codebook, dtype="<f4").tobytes()
    (out / "codebook.bin").write_bytes(data)
    num_codes, code_dim = codebook.shape
    manifest = {
        "file": "codebook.bin",
        "description": "the VQ-VAE's codebook: num_codes (K) codes of code_dim (D) numbers, code 0 first",
        "num_codes": num_codes,
        "code_dim": code_dim,
        "dtype": "float32",
        "byte_order": "little",
        "shape": [num_codes, code_dim],
        "byte_length": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    (out / "codebook.json").write_text(json.dumps(manifest, indent=2) + "\n")


def export_all(vqvae, out: Path, images: np.ndarray) -> dict[str, float]:
    """Write the four files, then check ONNX against Keras on `images`: the encoder's vectors, and the decoder on
    the Keras quantiser's grids. Returns both max abs differences for the model card.
    """
    out.mkdir(parents=True, exist_ok=True)
    export_models(vqvae, out)
    write_codebook(np.asarray(vqvae.quantizer.codebook), out)
    keras_encoded = np.asarray(vqvae.encoder(to_unit(images), training=False))
    keras_quantized = np.asarray(vqvae.quantizer(keras_encoded)[0])
    keras_reconstruction = np.asarray(vqvae.decoder(keras_quantized, training=False))
    onnx_encoded = encode(session(out / "encoder.onnx"), images)
    onnx_reconstruction = decode(session(out / "decoder.onnx"), keras_quantized)
    return {
        "onnx_vs_keras_max_abs_diff_encoded": float(np.abs(onnx_encoded - keras_encoded).max()),
        "onnx_vs_keras_max_abs_diff_reconstruction": float(np.abs(onnx_reconstruction - keras_reconstruction).max()),
    }


def export_prior(pixelcnn, out: Path, indices: np.ndarray) -> float:
    """Write pixelcnn.onnx (one-hot 7×7×K grid → 7×7×K logits) and return the max abs difference of its logits from
    Keras's on the grids `indices`, for the model card.
    """
    num_codes = pixelcnn.output_shape[-1]
    _export(pixelcnn, "codes", (GRID, GRID, num_codes), ["logits"], out / "pixelcnn.onnx")
    keras_logits = np.asarray(pixelcnn(one_hot(indices, num_codes), training=False))
    onnx_logits = prior_logits(session(out / "pixelcnn.onnx"), indices)
    return float(np.abs(onnx_logits - keras_logits).max())
