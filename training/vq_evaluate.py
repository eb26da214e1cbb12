"""Measure the shipped VQ-VAE the way the page runs it: the ONNX encoder, the page's own Python quantiser
(pysrc/vq/quantizer.py) and the ONNX decoder; no TensorFlow. And the shipped VAE on the same images, decoding μ,
for the quality bar: a 7×7 discrete code should reconstruct better than a 2-D Gaussian one.

The export writes these figures into models/vq/MODEL_CARD.md, and the tests recompute them from the committed
files, so the card can never claim more than the artifacts deliver.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from training.evaluate import decode as vae_decode
from training.evaluate import encode as vae_encode
from training.evaluate import session, sessions, to_unit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "pysrc"))

from vq import quantizer  # noqa: E402  (the page's own quantiser, from pysrc/)

BATCH = 1000


def read_codebook(folder: Path) -> np.ndarray:
    """codebook.json + codebook.bin of a folder, through the page's checked reader → float32 (K, D)."""
    folder = Path(folder)
    codes = quantizer.parse_codebook(
        (folder / "codebook.json").read_text(),
        (folder / "codebook.bin").read_bytes(),
        name=str(folder / "codebook.json"),
    )
    return np.array(codes, dtype=np.float32)


def read_presets(models_dir: Path) -> np.ndarray:
    """The ten preset digits the page offers (models/presets.bin), uint8 (10, 28, 28)."""
    manifest = json.loads((Path(models_dir) / "presets.json").read_text())
    images = np.frombuffer((Path(models_dir) / manifest["file"]).read_bytes(), dtype=np.uint8)
    return images.reshape(manifest["shape"])


def encode(encoder, images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) → the encoder's vectors before quantisation, float32 (n, 7, 7, D)."""
    x = to_unit(images)
    return np.concatenate([encoder.run(["encoded"], {"image": x[i : i + BATCH]})[0] for i in range(0, len(x), BATCH)])


def decode(decoder, quantized: np.ndarray) -> np.ndarray:
    """float32 (n, 7, 7, D) grids of codes → images, float32 (n, 28, 28, 1)."""
    q = quantized.astype(np.float32)
    return np.concatenate(
        [decoder.run(["reconstruction"], {"quantized": q[i : i + BATCH]})[0] for i in range(0, len(q), BATCH)]
    )


def quantize(encoded: np.ndarray, codebook: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each image's 49 vectors through the page's quantiser → indices (n, 7, 7) and quantised grids (n, 7, 7, D)."""
    codes = [tuple(code) for code in codebook.tolist()]
    indices, quantized = [], []
    for grid in encoded.reshape(len(encoded), -1, encoded.shape[-1]).tolist():
        grid_indices, grid_quantized, _ = quantizer.quantize(grid, codes)
        indices.append(grid_indices)
        quantized.append(grid_quantized)
    return (
        np.array(indices, dtype=np.int64).reshape(encoded.shape[:-1]),
        np.array(quantized, dtype=np.float32).reshape(encoded.shape),
    )


def reconstruct(folder: Path, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indices, reconstructions) of uint8 images through a VQ-VAE folder's files, as the page computes them."""
    encoder, decoder = session(Path(folder) / "encoder.onnx"), session(Path(folder) / "decoder.onnx")
    indices, quantized = quantize(encode(encoder, images), read_codebook(folder))
    return indices, decode(decoder, quantized)


def grid_codes(folder: Path, images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) → the code indices (n, 7, 7) the page computes, from the VQ-VAE files in `folder`."""
    indices, _ = quantize(encode(session(Path(folder) / "encoder.onnx"), images), read_codebook(folder))
    return indices


def one_hot(indices: np.ndarray, num_codes: int) -> np.ndarray:
    """Grids of code indices (n, 7, 7) → float32 (n, 7, 7, K), the PixelCNN's input."""
    return np.eye(num_codes, dtype=np.float32)[indices]


def prior_logits(pixelcnn, indices: np.ndarray) -> np.ndarray:
    """Grids of code indices (n, 7, 7) → the prior's logits (n, 7, 7, K), from the ONNX PixelCNN's one-hot input."""
    codes = one_hot(indices, pixelcnn.get_inputs()[0].shape[-1])
    return np.concatenate(
        [pixelcnn.run(["logits"], {"codes": codes[i : i + BATCH]})[0] for i in range(0, len(codes), BATCH)]
    )


def prior_nll_bits(folder: Path, indices: np.ndarray) -> float:
    """Mean negative log-likelihood, in bits per code, of grids (n, 7, 7) under the folder's pixelcnn.onnx."""
    logits = prior_logits(session(Path(folder) / "pixelcnn.onnx"), indices).astype(np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return float(-np.take_along_axis(log_p, indices[..., None], axis=-1).mean() / np.log(2))


def mean_squared_error(images: np.ndarray, reconstructions: np.ndarray) -> float:
    """Mean per-pixel squared error, pixels in [0, 1]: the quality bar's measure, for either model."""
    return float(np.mean(np.square(to_unit(images).astype(np.float64) - reconstructions.astype(np.float64))))


def codebook_usage(indices: np.ndarray, num_codes: int) -> dict[str, float]:
    """How the codes are used over many cells: perplexity exp(H) of the code frequencies (K if all equally often,
    1 if one code does everything) and the count of codes never chosen.
    """
    counts = np.bincount(indices.ravel(), minlength=num_codes)
    p = counts[counts > 0] / counts.sum()
    return {"perplexity": float(np.exp(-(p * np.log(p)).sum())), "unused_codes": int((counts == 0).sum())}


def vq_metrics(folder: Path, test_images: np.ndarray, presets: np.ndarray) -> dict[str, float]:
    """The VQ-VAE's card figures: test and preset reconstruction error, codebook usage on the test set."""
    indices, reconstructions = reconstruct(folder, test_images)
    _, preset_reconstructions = reconstruct(folder, presets)
    per_image = [len(np.unique(grid)) for grid in indices]
    return {
        "test_mse": mean_squared_error(test_images, reconstructions),
        "presets_mse": mean_squared_error(presets, preset_reconstructions),
        **codebook_usage(indices, len(read_codebook(folder))),
        "mean_codes_per_test_image": float(np.mean(per_image)),
    }


def vae_metrics(vae_dir: Path, test_images: np.ndarray, presets: np.ndarray) -> dict[str, float]:
    """The shipped VAE on the same images, decoding μ (its best guess, no sampling noise)."""
    encoder, decoder = sessions(vae_dir)
    return {
        "test_mse": mean_squared_error(test_images, vae_decode(decoder, vae_encode(encoder, test_images)[0])),
        "presets_mse": mean_squared_error(presets, vae_decode(decoder, vae_encode(encoder, presets)[0])),
    }
