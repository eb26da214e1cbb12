"""Train the KL evidence in models/kl/ (training/kl.py): the checkpoints of the shipped VAE's run, exported and
measured, and the same model trained from scratch with each other KL weight β."""

from __future__ import annotations

import time
from pathlib import Path

from training.callbacks import checkpoint_callback, progress_callback
from training.provenance import run_facts
from training.train_vae import VaeRun, latent_knn


def write_kl_evidence(out: Path, command: str, data: Path, run: VaeRun, train_split, test_split) -> None:
    """Export and measure the checkpoints of the run just trained, then train, export and measure one model per
    β in kl.COMPARED_BETAS. The index and card are rewritten after each entry, so an interrupted run keeps what it
    finished.
    """
    from training import kl
    from training import vae as vae_module
    from training.export import export_from_weights

    index = {
        "description": "Checkpoints of the shipped run and the same model trained with other KL weights (beta)",
        "command": command,
        "seed": run.seed,
        "epochs": run.epochs,
        "batch_size": vae_module.BATCH_SIZE,
        "latent_dim": vae_module.LATENT_DIM,
        **run_facts(data, train_split, test_split),
        "latent_map": kl.MAP_LAYOUT | {"images": f"the first {kl.MAP_SIZE} MNIST training images"},
        # This run's final checkpoint is the model it just wrote to --out (see kl.keep_shipped for the other case).
        "final_checkpoint_is_the_shipped_model": True,
        "checkpoints": {},
        "betas": {},
        "entries": {},
    }
    kl_dir = out / "kl"
    for epoch in run.checkpoint_epochs:
        name = kl.checkpoint_name(epoch)
        facts = {"beta": vae_module.BETA, "epoch": epoch, "train_losses": run.checkpoint_losses.get(epoch, {})}
        if epoch == index["epochs"]:  # the shipped model itself, not a copy
            add_entry(kl_dir, index, name, out, facts | {"wall_time_s": round(run.wall_s, 1)}, train_split, test_split)
        else:
            export_from_weights(run.weights / name, kl_dir / name)
            add_entry(kl_dir, index, name, kl_dir / name, facts, train_split, test_split)
    for beta in kl.COMPARED_BETAS:
        train_beta(kl_dir, run.weights, index, beta, train_split, test_split)


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
