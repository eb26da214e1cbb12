"""Train the VQ-VAE (training/vqvae.py) into models/vq/, measured against the shipped VAE, and the PixelCNN prior
over its codes (training/pixelcnn.py); both written into the VQ-VAE's model card."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from training import ARTIFACTS, PRIOR_ARTIFACT, VQ_ARTIFACTS, VQ_DIR
from training.callbacks import VQ_LOSSES, progress_callback
from training.mnist import REPO
from training.provenance import how_it_was_made, run_facts


def train_vqvae(
    models: Path, command: str, data: Path, train_split, test_split, epochs=None, seed=None, weights=None
) -> int:
    """Train the VQ-VAE, export it to models/vq/, measure it against the VAE in `models`, and write its card.

    It reads the shipped VAE and presets in `models` and writes only below models/vq/ (and the Keras weights to
    `weights`, build/vq-weights-seedN by default): the VAE's files are hashed before and after.
    """
    import keras
    import numpy as np

    from training import vqvae
    from training.export import sha256
    from training.vq_evaluate import read_presets, vae_metrics, vq_metrics
    from training.vq_export import export_all

    shipped = {name: sha256(models / name) for name in ARTIFACTS}
    epochs = epochs or vqvae.EPOCHS
    seed = vqvae.SEED if seed is None else seed
    out = models / VQ_DIR
    keras.backend.clear_session()  # as if in a fresh process: the same graph names, nothing left over
    steps = -(-len(train_split.images) // vqvae.BATCH_SIZE)
    progress = progress_callback(epochs, steps, label="VQ-VAE  ", losses=VQ_LOSSES, decimals=4)
    started = time.time()
    model, history, restarted = vqvae.train(train_split.images, epochs=epochs, seed=seed, callbacks=[progress])
    wall = time.time() - started
    weights = weights or REPO / "build" / f"vq-weights-seed{seed}"  # kept out of git: the ONNX files ship
    weights.mkdir(parents=True, exist_ok=True)
    model.encoder.save_weights(weights / "encoder.weights.h5")
    model.decoder.save_weights(weights / "decoder.weights.h5")
    np.save(weights / "codebook.npy", np.asarray(model.quantizer.codebook))

    differences = export_all(model, out, test_split.images[:256])
    presets = read_presets(models)
    metrics = {f"train_{k}": float(v[-1]) for k, v in history.history.items()}
    metrics |= vq_metrics(out, test_split.images, presets) | differences
    card = {
        "command": command,
        "seed": seed,
        "epochs": epochs,
        "batch_size": vqvae.BATCH_SIZE,
        "num_codes": vqvae.NUM_CODES,
        "code_dim": vqvae.CODE_DIM,
        "grid": [vqvae.GRID, vqvae.GRID],
        "commitment_cost": vqvae.COMMITMENT_COST,
        "restarted_codes": {str(epoch): codes for epoch, codes in restarted.items()},
        "wall_time_s": round(wall, 1),
        **run_facts(data, train_split, test_split),
        "metrics": {k: v if isinstance(v, int) else float(f"{v:.7g}") for k, v in metrics.items()},
        "vae": {
            "metrics": {k: float(f"{v:.7g}") for k, v in vae_metrics(models, test_split.images, presets).items()},
            "artifacts": {name: shipped[name] for name in ("encoder.onnx", "decoder.onnx", "presets.bin")},
        },
        "artifacts": {name: sha256(out / name) for name in VQ_ARTIFACTS},
    }
    write_vq_model_card(out, card)
    print(json.dumps(card["metrics"] | {"vae": card["vae"]["metrics"]}, indent=2))
    changed = [name for name in ARTIFACTS if sha256(models / name) != shipped[name]]
    if changed:
        raise RuntimeError(f"training the VQ-VAE changed the shipped VAE's files in {models}: {changed}")
    return 0


def train_pixelcnn(models: Path, command: str, train_split, test_split, epochs=None, seed=None) -> int:
    """Train the PixelCNN prior on the codes of the VQ-VAE in models/vq/, export it there, measure its test-set
    negative log-likelihood from the exported file, and add it to that model card (the VQ-VAE's files unchanged).
    """
    import keras

    from training import pixelcnn
    from training.export import sha256
    from training.vq_evaluate import grid_codes, prior_nll_bits
    from training.vq_export import export_prior

    out = models / VQ_DIR
    card = json.loads((out / "model_card.json").read_text())
    epochs = epochs or pixelcnn.EPOCHS
    seed = pixelcnn.SEED if seed is None else seed
    print("PixelCNN: the shipped VQ-VAE's codes of the training and test digits …", flush=True)
    train_codes, test_codes = grid_codes(out, train_split.images), grid_codes(out, test_split.images)
    keras.backend.clear_session()  # as if in a fresh process: the same graph names, nothing left over
    steps = -(-len(train_codes) // pixelcnn.BATCH_SIZE)
    progress = progress_callback(epochs, steps, label="PixelCNN  ", losses={"loss": "NLL (nats per code)"}, decimals=4)
    started = time.time()
    model, history = pixelcnn.train(train_codes, epochs=epochs, seed=seed, callbacks=[progress])
    wall = time.time() - started
    difference = export_prior(model, out, test_codes[:256])
    bits = prior_nll_bits(out, test_codes)
    cells = test_codes[0].size  # 49
    card["prior"] = {
        "command": command,
        "seed": seed,
        "epochs": epochs,
        "batch_size": pixelcnn.BATCH_SIZE,
        "filters": pixelcnn.FILTERS,
        "residual_blocks": pixelcnn.RESIDUAL_BLOCKS,
        "wall_time_s": round(wall, 1),
        "metrics": {
            "train_nll_nats_per_code": float(f"{history.history['loss'][-1]:.7g}"),
            "test_nll_bits_per_code": float(f"{bits:.7g}"),
            "test_nll_bits_per_grid": float(f"{bits * cells:.7g}"),
            "uniform_bits_per_code": math.log2(card["num_codes"]),
            "onnx_vs_keras_max_abs_diff_logits": float(f"{difference:.7g}"),
        },
        "codes_from": {name: card["artifacts"][name] for name in ("encoder.onnx", "codebook.bin")},
        "artifacts": {PRIOR_ARTIFACT: sha256(out / PRIOR_ARTIFACT)},
    }
    write_vq_model_card(out, card)
    print(json.dumps(card["prior"]["metrics"], indent=2))
    return 0


def write_vq_model_card(out: Path, card: dict) -> None:
    (out / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    m, vae = card["metrics"], card["vae"]["metrics"]
    k, d = card["num_codes"], card["code_dim"]
    restarts = "; ".join(
        f"codes {', '.join(map(str, codes))} after epoch {epoch}"
        for epoch, codes in card["restarted_codes"].items()
        if codes
    )
    lines = [
        "# Model card: VAE Explainer MNIST VQ-VAE",
        "",
        "A convolutional VQ-VAE after keras-io `examples/generative/vq_vae.py` (van den Oord et al., 2017):",
        f"Conv 32 s2 → Conv 64 s2 → Conv {d} 1×1 gives a 7×7 grid of {d}-dimensional vectors; `VectorQuantizer`",
        f"replaces each with the nearest of {k} codes (commitment cost {card['commitment_cost']}, straight-through",
        "estimator); ConvT 64 s2 → ConvT 32 s2 → ConvT 1 sigmoid decodes the grid. Code: `training/vqvae.py`.",
        "",
        "## Why these choices",
        f"- **K = {k} codes, D = {d} numbers each.** The page shows the whole codebook and, for any cell, its distance",
        f"  to every code. {k} codes get {k} colours a reader can tell apart (the 7×7 grid is coloured by code), and",
        f"  {d} numbers per code fit on one row ({k}×{d} = {k * d} numbers in all; the tfjs VQ-VAE explainer had",
        "  20×16 = 320). The decoder only ever sees K distinct vectors per cell, so D sets the geometry the codes live",
        f"  in, not how much a grid can say: at most 49 cells × log₂ {k} = {49 * math.log2(k):.0f} bits. (The VAE's",
        "  two real numbers could hold any amount; its σ and the KL's price on it limit what they carry, about",
        "  `test_kl_bits` in `models/teaching.json`.)",
        f"  The page's Python quantiser does 49 × {k} × {d} = {49 * k * d:,} multiply-adds a frame.",
        "- **Dead codes.** A code no vector chooses gets no gradient and stays unused. After every epoch but the last,",
        "  each code that none of 2,048 random training images chose restarts at one of their encoder vectors.",
        f"  Restarted: {restarts or 'none'}; no code needed it after any other epoch.",
        "  Neither the paper nor the keras-io example restarts codes: this is `RestartDeadCodes`",
        "  in `training/vqvae.py`.",
        "- **Sigmoid output, squared-error loss.** The decoder ends in a sigmoid, as the VAE's does, so the page",
        "  paints both outputs the same way (pixels in [0, 1], from the same input image). The loss is keras-io's:",
        "  the mean per-pixel squared error over the training pixels' variance, and that error is the quality bar.",
        "",
        *how_it_was_made(card),
        "",
        "## Figures",
        "Measured from the shipped files as the page computes: the ONNX encoder, the page's Python quantiser",
        "(`pysrc/vq/quantizer.py`) and the ONNX decoder, with onnxruntime. The VAE is the shipped one in `models/`,",
        "decoding μ. Mean per-pixel squared error, pixels in [0, 1]; the presets are the page's ten",
        "(`models/presets.bin`).",
        "",
        "| measure | VQ-VAE | VAE |",
        "|---|---|---|",
        f"| **test-set reconstruction error** (10,000 images) | **{m['test_mse']:.5f}** | {vae['test_mse']:.5f} |",
        f"| **presets reconstruction error** (10 images) | **{m['presets_mse']:.5f}** | {vae['presets_mse']:.5f} |",
        "",
        "| measure | value |",
        "|---|---|",
        f"| codebook perplexity on the test set (of {k}) | {m['perplexity']:.2f} |",
        f"| codes never used on the test set | {m['unused_codes']} |",
        f"| distinct codes per test image, mean | {m['mean_codes_per_test_image']:.2f} |",
        f"| final train loss (total) | {m['train_total_loss']:.4f} |",
        f"| final train reconstruction (squared error / variance) | {m['train_reconstruction_loss']:.4f} |",
        f"| final train codebook loss (mean squared distance to the code / D) | {m['train_codebook_loss']:.4f} |",
        f"| final train commitment loss (the same, × γ = {card['commitment_cost']})"
        f" | {m['train_commitment_loss']:.4f} |",
        f"| ONNX vs. Keras max abs diff, encoder vectors | {m['onnx_vs_keras_max_abs_diff_encoded']:.2e} |",
        f"| ONNX vs. Keras max abs diff, reconstruction | {m['onnx_vs_keras_max_abs_diff_reconstruction']:.2e} |",
        "",
        "Perplexity is exp of the entropy of the code frequencies over the 490,000 test cells: K if every code",
        "were used equally often, 1 if one code did everything. Background cells share a few codes, so it sits",
        "well below K. The quantiser's losses are Keras means over every number, each cell's squared distance",
        "divided by D as well.",
        "",
        "## Artifacts (sha256)",
        *(f"- `{name}`: `{digest}`" for name, digest in card["artifacts"].items()),
        "",
        *(prior_section(card) if "prior" in card else []),
        "## The VAE compared (sha256 of `models/`)",
        *(f"- `{name}`: `{digest}`" for name, digest in card["vae"]["artifacts"].items()),
        "",
        "## Data files (sha256)",
        *(f"- `{name}`: `{digest}`" for name, digest in card["data"]["sha256"].items()),
        "",
    ]
    (out / "MODEL_CARD.md").write_text("\n".join(lines))


def prior_section(card: dict) -> list[str]:
    """The model card's part on the PixelCNN prior over the codes (training/pixelcnn.py), the page's generator."""
    prior = card["prior"]
    m = prior["metrics"]
    return [
        "## The prior: a PixelCNN over the codes",
        f"A PixelCNN (a mask-A convolution, {prior['residual_blocks']} residual blocks with 3×3 mask-B",
        f"convolutions, {prior['filters']} filters, K = {card['num_codes']} logits per cell;",
        "code: `training/pixelcnn.py`) learns the distribution of the grids above, cell by cell in raster order.",
        "The page samples a grid from it, 49 runs of the network, and decodes it. Its input is the grid one-hot",
        "(7×7×K float32), its output 7×7×K logits. Trained on the 60,000 training digits' codes:",
        f"`{prior['command']}`, Adam, batch {prior['batch_size']}, {prior['epochs']} epochs, seed {prior['seed']},",
        f"{prior['wall_time_s'] / 60:.1f} min on {card['machine']}.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| **test-set negative log-likelihood, bits per code** | **{m['test_nll_bits_per_code']:.3f}**"
        f" (uniform prior: {m['uniform_bits_per_code']:g}) |",
        f"| test-set negative log-likelihood, bits per 7×7 grid | {m['test_nll_bits_per_grid']:.1f}"
        f" (uniform prior: {49 * m['uniform_bits_per_code']:g}) |",
        f"| final train loss, nats per code | {m['train_nll_nats_per_code']:.4f} |",
        f"| ONNX vs. Keras max abs diff, logits | {m['onnx_vs_keras_max_abs_diff_logits']:.2e} |",
        "",
        "Measured from the shipped `pixelcnn.onnx` with onnxruntime on the codes the page computes for the 10,000",
        "test digits. Bits per code is that negative log-likelihood per cell, in bits. A prior that knows only how",
        "often each code is used needs `vq_frequency_bits_per_code` in `models/teaching.json`, not 4; its grid",
        "figure bounds what the grids carry. The masked convolutions have the PixelCNN's blind spot (van den Oord",
        "et al. 2016): `pixelcnn_unseen_pairs` there counts the earlier cells a cell never sees.",
        "It was trained on the codes of these files (sha256), and belongs to them:",
        *(f"- `{name}`: `{digest}`" for name, digest in prior["codes_from"].items()),
        "",
        "### Prior artifact (sha256)",
        *(f"- `{name}`: `{digest}`" for name, digest in prior["artifacts"].items()),
        "",
    ]
