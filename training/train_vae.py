"""Train the shipped VAE (training/vae.py), export it to ONNX in models/, measure it there and write its model card;
with checkpoints kept for the KL evidence (train_kl.py) unless told not to."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from training import ARTIFACTS
from training.callbacks import checkpoint_callback, progress_callback
from training.mnist import REPO
from training.provenance import how_it_was_made, run_facts


@dataclass
class VaeRun:
    """What the KL evidence needs from the run just trained: its recipe, its weights and its checkpoints."""

    seed: int
    epochs: int
    weights: Path
    wall_s: float
    checkpoint_epochs: list[int]
    checkpoint_losses: dict = field(default_factory=dict)


def train_vae(
    out: Path, command: str, data: Path, train_split, test_split, epochs=None, seed=None, weights=None, checkpoints=True
) -> VaeRun:
    """Train the VAE, export it to `out`, measure it from the exported files and write the model card. The Keras
    weights go to `weights` (build/weights-seedN by default); with `checkpoints`, those of the KL evidence's epochs
    too."""
    from training import kl
    from training import vae as vae_module
    from training.evaluate import test_set_metrics
    from training.export import export_all, save_weights, sha256

    epochs = epochs or vae_module.EPOCHS
    seed = vae_module.SEED if seed is None else seed
    weights = weights or REPO / "build" / f"weights-seed{seed}"
    steps = -(-len(train_split.images) // vae_module.BATCH_SIZE)
    measure_knn = latent_knn(train_split, test_split)
    callbacks = [progress_callback(epochs, steps, measure_knn)]
    run = VaeRun(seed, epochs, weights, 0.0, sorted({e for e in kl.CHECKPOINT_EPOCHS if e < epochs} | {epochs}))
    if checkpoints:
        folder_for = lambda epoch: weights / kl.checkpoint_name(epoch)  # noqa: E731
        callbacks.append(checkpoint_callback(folder_for, set(run.checkpoint_epochs), run.checkpoint_losses))
    started = time.time()
    vae, history = vae_module.train(train_split.images, epochs=epochs, seed=seed, callbacks=callbacks)
    run.wall_s = time.time() - started

    exported = export_all(vae, out, train_split, test_split)
    metrics = {k: float(v[-1]) for k, v in history.history.items()}
    metrics = {f"train_{k}": v for k, v in metrics.items()}
    metrics |= test_set_metrics(out, test_split.images, test_split.labels, exported["map_mu"], exported["map_labels"])
    metrics["onnx_vs_keras_max_abs_diff_mu"] = exported["onnx_vs_keras_max_abs_diff_mu"]
    save_weights(vae, weights)

    card = {
        "command": command,
        "seed": seed,
        "epochs": epochs,
        "batch_size": vae_module.BATCH_SIZE,
        "latent_dim": vae_module.LATENT_DIM,
        "wall_time_s": round(run.wall_s, 1),
        **run_facts(data, train_split, test_split),
        "metrics": {k: float(f"{v:.7g}") for k, v in metrics.items()},
        "artifacts": {name: sha256(out / name) for name in ARTIFACTS},
    }
    write_model_card(out, card)
    print(json.dumps(card["metrics"], indent=2))
    return run


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
