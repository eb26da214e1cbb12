"""
Title: The figures the article teaches with, measured on the shipped files
Description: Every number the page's prose quotes about what these models do, computed with onnxruntime and numpy
from models/ and the MNIST IDX files, and written to models/teaching.json. serve.py writes each figure into the
page where a `data-teach` span names it, and tests/test_teaching.py recomputes them and checks the prose.

Run: `python -m training.teaching` (about half a minute on 2 cores; no TensorFlow).
"""

# ## 1. Setup
#
# The shipped files only: the VAE's and the VQ-VAE's ONNX networks, the codebook, the KL evidence's index and the
# model cards, and the IDX files. Each section below is one claim of the article.

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np

from training import mnist
from training.evaluate import encode, kl_divergence, reconstruction_bce, session, sessions, to_unit
from training.vq_evaluate import BATCH, one_hot, read_codebook

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"
OUT = MODELS / "teaching.json"
PRIOR_DRAWS = 10_000  # z ~ N(0, I) draws for "how many land far from every code": a Monte Carlo share, ±0.3 %
PRIOR_SEED = 0
SOURCES = (  # the files these figures are measured from, with their sha256 in the output
    "encoder.onnx",
    "decoder.onnx",
    "model_card.json",
    "kl/index.json",
    "vq/encoder.onnx",
    "vq/codebook.bin",
    "vq/pixelcnn.onnx",
    "vq/model_card.json",
)


def entropy_nats(p: np.ndarray) -> np.ndarray:
    """H(p) of a Bernoulli with mean p, elementwise, with 0 log 0 = 0."""
    p = p.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = -(p * np.log(p)) - (1 - p) * np.log1p(-p)
    return np.nan_to_num(terms)


# ## 2. A perfect reconstruction still costs Σ H(xᵢ)
#
# MNIST's pixels are grey levels, not 0/1. The BCE of x̂ against x is smallest at x̂ = x, and there it is the
# entropy of each pixel's grey level, not 0. So the summed BCE is a training loss with a floor, not −log p(x).


def perfect_reconstruction(test_images: np.ndarray) -> float:
    return float(entropy_nats(test_images / 255.0).reshape(len(test_images), -1).sum(axis=1).mean())


# ## 3. Why σ is small: the KL's price for a narrow σ is a few nats, the BCE's reward is larger
#
# KL = ½ Σⱼ (μⱼ² + σⱼ² − 1 − log σⱼ²). With σ near 0.03 almost all of it is the −½ log σ² part.


def encoding_figures(train_mu, train_log_var, test_mu, test_log_var) -> dict[str, float]:
    sigma = np.exp(0.5 * train_log_var.astype(np.float64))
    kl = kl_divergence(test_mu, test_log_var).mean()
    return {
        "sigma_median_1": float(np.median(sigma[:, 0])),
        "sigma_median_2": float(np.median(sigma[:, 1])),
        "mu_std_1": float(train_mu[:, 0].std()),
        "mu_std_2": float(train_mu[:, 1].std()),
        "test_kl": float(kl),
        "test_kl_log_var_part": float((-0.5 * test_log_var.astype(np.float64)).sum(axis=1).mean()),
        # ## 4. The VAE's rate in bits: the KL bounds what z says about x, and 1 nat = 1/ln 2 bits
        "test_kl_bits": float(kl / math.log(2)),
    }


# ## 5. Where the holes are: prior draws far from every training code
#
# The KL pulls each q(z|x) toward N(0, I), not their mixture, so N(0, I) can put mass where no training code is.
# A draw is "more than kσ from every code" when, for every training image, (z − μ)/σ has length above k.


def prior_holes(train_mu, train_log_var, draws: int = PRIOR_DRAWS, seed: int = PRIOR_SEED) -> dict[str, float]:
    z = np.random.default_rng(seed).standard_normal((draws, 2)).astype(np.float32)
    inv = np.exp(-0.5 * train_log_var).astype(np.float32)
    scaled_mu = train_mu * inv
    nearest = np.empty(draws, dtype=np.float32)  # the smallest squared length of (z − μ)/σ over the codes
    for start in range(0, draws, 250):
        part = z[start : start + 250]
        d2 = np.square(part[:, 0, None] * inv[None, :, 0] - scaled_mu[None, :, 0])
        d2 += np.square(part[:, 1, None] * inv[None, :, 1] - scaled_mu[None, :, 1])
        nearest[start : start + 250] = d2.min(axis=1)
    far = z[nearest > 9]
    return {
        "prior_draws": draws,
        "prior_far_3sigma": float((nearest > 9).mean()),
        "prior_far_5sigma": float((nearest > 25).mean()),
        "prior_far_z1_median": float(np.median(far[:, 0])),
        "prior_far_z2_median": float(np.median(far[:, 1])),
    }


# ## 6. Posterior collapse is a trap, not the optimum
#
# A decoder that ignores z can do no better than drawing each pixel's training mean, whatever the input. A model
# whose codes still carry the digit scores better even under the heavier β = 4 objective, so a run at β = 4 that
# collapsed was stuck, not right.


def collapse_figures(train_images: np.ndarray, test_images: np.ndarray, kl_index: dict) -> dict[str, float]:
    mean_image = np.broadcast_to(to_unit(train_images).mean(axis=0, dtype=np.float64), (1, 28, 28, 1))
    bce = reconstruction_bce(to_unit(test_images), np.broadcast_to(mean_image, (len(test_images), 28, 28, 1)))
    beta3 = kl_index["entries"][kl_index["betas"]["3"]]["metrics"]
    beta0 = kl_index["entries"][kl_index["betas"]["0"]]["metrics"]
    return {
        "z_independent_test_bce": float(bce.mean()),
        "beta3_test_bce": beta3["test_reconstruction_bce"],
        "beta3_test_kl": beta3["test_kl"],
        "beta3_under_beta4_objective": beta3["test_reconstruction_bce"] + 4 * beta3["test_kl"],
        # ## 7. Rate bounds information: at β = 0 the KL exceeds what any code can say about which test image
        "beta0_test_kl": beta0["test_kl"],
        "ln_test_images": math.log(len(test_images)),
    }


# ## 8. The VQ-VAE: its losses are means over every number, and how many bits a grid holds
#
# The Keras layer's losses are `ops.mean(ops.square(...))` over all n·49·D numbers, so each is the mean squared
# distance to the nearest code divided by D. Its priors: a uniform one (log₂ K bits per code), one that knows only
# how often each code is used on the training digits (its cross-entropy on the test codes), and the PixelCNN.


def quantise(encoded: np.ndarray, codebook: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indices, squared distance to the nearest code) of every cell; numpy's argmin, as quantizer.py's."""
    vectors = encoded.reshape(-1, codebook.shape[1]).astype(np.float64)
    d2 = np.stack([np.square(vectors - code).sum(axis=1) for code in codebook.astype(np.float64)], axis=1)
    indices = d2.argmin(axis=1)
    return indices.reshape(encoded.shape[:-1]), d2[np.arange(len(d2)), indices].reshape(encoded.shape[:-1])


def vq_encode(images: np.ndarray) -> np.ndarray:
    encoder = session(MODELS / "vq" / "encoder.onnx")
    x = to_unit(images)
    return np.concatenate([encoder.run(["encoded"], {"image": x[i : i + BATCH]})[0] for i in range(0, len(x), BATCH)])


def bits_under(logits: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """−log₂ p(code) of each cell under logits (..., K)."""
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(log_p, indices[..., None], axis=-1)[..., 0] / math.log(2)


def vq_figures(train_images: np.ndarray, test_images: np.ndarray) -> dict[str, float]:
    codebook = read_codebook(MODELS / "vq")
    num_codes, code_dim = codebook.shape
    test_indices, test_d2 = quantise(vq_encode(test_images), codebook)
    train_indices, _ = quantise(vq_encode(train_images), codebook)
    frequencies = np.bincount(train_indices.ravel(), minlength=num_codes) / train_indices.size
    frequency_bits = -np.log2(frequencies[test_indices]).mean()
    pixelcnn = session(MODELS / "vq" / "pixelcnn.onnx")
    codes = one_hot(test_indices, num_codes)
    logits = np.concatenate(
        [pixelcnn.run(["logits"], {"codes": codes[i : i + BATCH]})[0] for i in range(0, len(codes), BATCH)]
    )
    prior_bits = bits_under(logits, test_indices).mean()
    cells = test_indices.shape[1] * test_indices.shape[2]
    return {
        "vq_test_mean_squared_distance": float(test_d2.mean()),
        "vq_test_codebook_loss": float(test_d2.mean() / code_dim),
        "vq_code_dim": int(code_dim),
        "vq_cells": int(cells),
        "vq_uniform_bits_per_grid": float(cells * math.log2(num_codes)),
        "vq_frequency_bits_per_code": float(frequency_bits),
        "vq_frequency_bits_per_grid": float(cells * frequency_bits),
        "vq_prior_bits_per_code": float(prior_bits),
        "vq_prior_bits_per_grid": float(cells * prior_bits),
        **blind_spot(pixelcnn, num_codes, test_indices.shape[1]),
    }


# ## 9. The PixelCNN's blind spot
#
# Stacked masked convolutions see the rows above only within their kernels' reach to the right, so some earlier
# cells never reach a cell's prediction (van den Oord et al. 2016). Measured, not derived: change one input cell's
# code and see which cells' logits move.


def blind_spot(pixelcnn, num_codes: int, grid: int) -> dict:
    cells = grid * grid
    rng = np.random.default_rng(0)
    bases = rng.integers(0, num_codes, size=(4, grid, grid))
    changed = bases[None].repeat(cells, axis=0)  # (cells, 4, grid, grid): cell j given another code
    for j in range(cells):
        changed[j, :, j // grid, j % grid] = (changed[j, :, j // grid, j % grid] + 1 + j % (num_codes - 1)) % num_codes
    run = lambda grids: pixelcnn.run(["logits"], {"codes": one_hot(grids, num_codes)})[0]  # noqa: E731
    base = run(bases).reshape(4, cells, num_codes)
    moved = np.abs(run(changed.reshape(-1, grid, grid)).reshape(cells, 4, cells, num_codes) - base[None])
    sees = moved.max(axis=(1, 3)) > 1e-6  # sees[j, i]: cell i's prediction depends on input cell j
    earlier = np.tril(np.ones((cells, cells), dtype=bool), -1).T  # earlier[j, i]: j comes before i
    unseen = earlier & ~sees
    # The example the article names: the cell that misses most, and which earlier cells it misses.
    worst = int(unseen.sum(axis=0).argmax())
    return {
        "pixelcnn_earlier_pairs": int(earlier.sum()),
        "pixelcnn_unseen_pairs": int(unseen.sum()),
        "pixelcnn_sees_later_cells": bool((sees & ~earlier).any()),
        "pixelcnn_worst_cell": [worst // grid, worst % grid],
        "pixelcnn_worst_cell_unseen": [[int(j) // grid, int(j) % grid] for j in np.flatnonzero(unseen[:, worst])],
    }


# ## 10. Facts from the model cards, quoted so the page reads them from one place
#
# The VAE's test loss (one seeded z per image, measured by training/evaluate.py when the card was written), the
# codes the VQ-VAE's training restarted (`RestartDeadCodes` in training/vqvae.py), and how the shipped VAE's seed
# was chosen: by its kNN accuracy on the test set, the same measure the article quotes.


def card_figures() -> dict:
    vq_card = json.loads((MODELS / "vq" / "model_card.json").read_text())
    restarted = {int(epoch): codes for epoch, codes in vq_card["restarted_codes"].items() if codes}
    vae_card = json.loads((MODELS / "model_card.json").read_text())
    return {
        "vq_restarted_codes": sorted(code for codes in restarted.values() for code in codes),
        "vq_restart_epochs": sorted(restarted),
        "test_reconstruction_bce": vae_card["metrics"]["test_reconstruction_bce"],
        "test_negative_elbo": vae_card["metrics"]["test_negative_elbo"],
        "knn10_accuracy": vae_card["metrics"]["knn10_accuracy"],
        "seeds_compared": len(vae_card["seed_selection"]["seeds"]),
    }


# ## 11. All of it, with the sha256 of every file it was measured from


def measure(data_dir: Path = mnist.DEFAULT_DATA_DIR) -> dict:
    train, test = mnist.load_split("train", data_dir), mnist.load_split("test", data_dir)
    encoder, _ = sessions(MODELS)
    train_mu, train_log_var = encode(encoder, train.images)
    test_mu, test_log_var = encode(encoder, test.images)
    kl_index = json.loads((MODELS / "kl" / "index.json").read_text())
    figures = {
        "perfect_reconstruction_bce": perfect_reconstruction(test.images),
        **encoding_figures(train_mu, train_log_var, test_mu, test_log_var),
        **prior_holes(train_mu, train_log_var),
        **collapse_figures(train.images, test.images, kl_index),
        **vq_figures(train.images, test.images),
        **card_figures(),
    }
    return {
        "description": "Figures the article quotes, measured on the shipped files by training/teaching.py",
        "command": "python -m training.teaching",
        "sources": {name: hashlib.sha256((MODELS / name).read_bytes()).hexdigest() for name in SOURCES},
        "data": mnist.file_hashes(data_dir),
        "figures": figures,
    }


def main() -> None:
    result = measure()
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result["figures"].items():
        print(f"{key}: {value}", file=sys.stderr)


if __name__ == "__main__":
    main()
