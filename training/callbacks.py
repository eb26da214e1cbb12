"""The Keras callbacks of a training run: a progress bar with one line of losses per epoch, and checkpoints saved
after chosen epochs (the KL evidence's replay), both without changing how the model trains."""

from __future__ import annotations

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
