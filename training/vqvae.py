"""
Title: Vector-Quantized Variational AutoEncoder on MNIST, for the VAE Explainer
Based on: keras-io examples/generative/vq_vae.py (Sayak Paul), after van den Oord et al. (2017), "Neural Discrete
Representation Learning".
Description: Train a VQ-VAE whose code is a 7×7 grid of entries from a small codebook; the explainer page runs
the encoder and decoder this file trains, and does the quantisation itself, in Python.

The page displays `VectorQuantizer` from this file verbatim, so it is the code a learner reads.
Comments written between `$…$` are typeset as maths there.
"""

# ## 1. Setup
#
# Keras 3 on the TensorFlow backend. Everything random is seeded, so a retrain is comparable with the model card.
#
# K and D are chosen so that the page can show the whole codebook and every distance at once: K = 16 codes get
# 16 colours a reader can tell apart (the 7×7 grid is coloured by code), and D = 8 numbers per code fit on one
# row. The decoder only ever sees K distinct vectors per cell, so D sets the geometry the codes live in, not how
# much a grid can say: at most 49 cells × log₂ 16 = 196 bits. (The VAE's two real numbers could hold any amount;
# what limits them is σ, priced by the KL.)

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from training.vae import BATCH_SIZE as VAE_BATCH_SIZE
from training.vae import training_dataset

NUM_CODES = 16  # K, the codebook's entries
CODE_DIM = 8  # D, the length of each code and of each encoder vector
COMMITMENT_COST = 0.25  # the paper's β for the commitment loss (section 3); γ on the page, where β weighs the KL
GRID = 7  # the code is a 7×7 grid of vectors
EPOCHS = 20
BATCH_SIZE = VAE_BATCH_SIZE  # training_dataset, shared with the VAE, batches by 128
SEED = 1337


# ## 2. The encoder: an image in, a 7×7 grid of D-dimensional vectors out
#
# Two stride-2 convolutions take 28×28 down to 7×7; a 1×1 convolution gives each cell D numbers. These are
# continuous vectors, not yet codes.


def build_encoder(code_dim=CODE_DIM):
    encoder_inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
    x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
    encoded = layers.Conv2D(code_dim, 1, padding="same", name="encoded")(x)
    return keras.Model(encoder_inputs, encoded, name="encoder")


# ## 3. The vector quantiser: each vector becomes its nearest code
#
# The whole discrete bottleneck is this one layer: distances to every code, the argmin, and a lookup.
#
# The argmin has no gradient, so two extra losses train the codebook and hold the encoder to it, and the
# straight-through estimator copies the decoder's gradient past the lookup to the encoder. Both losses are means
# over every number, so each is a cell's squared distance divided by D.


class VectorQuantizer(layers.Layer):
    """Replaces each encoder vector with the nearest of `num_codes` learned codes; returns (quantized, indices)."""

    def __init__(self, num_codes=NUM_CODES, code_dim=CODE_DIM, commitment_cost=COMMITMENT_COST, **kwargs):
        super().__init__(**kwargs)
        self.num_codes = num_codes
        self.code_dim = code_dim
        self.commitment_cost = commitment_cost
        # The codebook: K rows $e_1 \dots e_K$ of D numbers each, learned like any other weight
        self.codebook = self.add_weight(shape=(num_codes, code_dim), initializer="random_uniform", name="codebook")

    def call(self, encoded):
        # Every cell's vector on its own row: $(\text{batch} \cdot 7 \cdot 7) \times D$
        vectors = ops.reshape(encoded, (-1, self.code_dim))
        # Squared distance to every code: $d_{ik} = \lVert z_i - e_k \rVert^2$
        distances = ops.sum(ops.square(vectors[:, None, :] - self.codebook[None, :, :]), axis=-1)
        # The nearest code: $k_i = \arg\min_k d_{ik}$
        indices = ops.argmin(distances, axis=1)
        # Look it up as a one-hot row times the codebook: $q_i = e_{k_i}$
        one_hot = ops.one_hot(indices, self.num_codes)
        quantized = ops.reshape(ops.matmul(one_hot, self.codebook), ops.shape(encoded))
        # Codebook loss: move the chosen codes toward the encoder's vectors, $\lVert \mathrm{sg}[z] - e \rVert^2$
        self.add_loss(ops.mean(ops.square(quantized - ops.stop_gradient(encoded))))
        # Commitment loss: keep the encoder near its codes, $\gamma \lVert z - \mathrm{sg}[e] \rVert^2$
        self.add_loss(self.commitment_cost * ops.mean(ops.square(encoded - ops.stop_gradient(quantized))))
        # Straight-through estimator: the value of $q$, the gradient of $z$
        quantized = encoded + ops.stop_gradient(quantized - encoded)
        return quantized, ops.reshape(indices, ops.shape(encoded)[:-1])


# ## 4. The decoder: a 7×7 grid of codes back to an image
#
# The encoder's layers mirrored. The last layer ends in a sigmoid, as the VAE's decoder does, so the page paints
# both models' outputs the same way, every pixel in [0, 1].


def build_decoder(code_dim=CODE_DIM):
    quantized_inputs = keras.Input(shape=(GRID, GRID, code_dim), name="quantized")
    x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(quantized_inputs)
    x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
    decoder_outputs = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same", name="reconstruction")(x)
    return keras.Model(quantized_inputs, decoder_outputs, name="decoder")


# ## 5. The loss: reconstruction plus the two quantiser losses
#
# As in keras-io, the reconstruction term is the mean per-pixel squared error divided by the training pixels'
# variance, so it is about 1 for a model that only knows the mean pixel and sits on the scale of the quantiser's
# losses. Unlike the VAE there is no KL term and nothing is sampled: the code is the nearest entry, always.


def reconstruction_loss(data, reconstruction, variance):
    return ops.mean(ops.square(data - reconstruction)) / variance


class VQVAE(keras.Model):
    def __init__(self, encoder, quantizer, decoder, variance, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.quantizer = quantizer
        self.decoder = decoder
        self.variance = variance
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.codebook_loss_tracker = keras.metrics.Mean(name="codebook_loss")
        self.commitment_loss_tracker = keras.metrics.Mean(name="commitment_loss")

    @property
    def metrics(self):
        return [
            self.total_loss_tracker,
            self.reconstruction_loss_tracker,
            self.codebook_loss_tracker,
            self.commitment_loss_tracker,
        ]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            quantized, _ = self.quantizer(self.encoder(data))
            reconstruction = self.decoder(quantized)
            rec = reconstruction_loss(data, reconstruction, self.variance)
            codebook, commitment = self.quantizer.losses
            total_loss = rec + codebook + commitment
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(rec)
        self.codebook_loss_tracker.update_state(codebook)
        self.commitment_loss_tracker.update_state(commitment)
        return {m.name: m.result() for m in self.metrics}


# ## 6. Train
#
# All 60,000 training digits, pixels scaled to [0, 1], through the same fixed tf.data pipeline as the VAE's
# (`training_dataset` in training/vae.py, imported above: its autotuner stalls on a 2-core machine).


# A code that no vector chooses gets no gradient (the codebook loss only moves chosen codes), so it stays unused
# for good: a dead code. Early on the encoder's vectors move fast and leave most of the codebook behind. After
# every epoch but the last, each code that none of 2,048 random training images chose restarts at one of their
# encoder vectors, where the data is. The last epoch trains with the codebook it ships.

RESTART_IMAGES = 2048


class RestartDeadCodes(keras.callbacks.Callback):
    """Moves every unused code onto a random encoder vector at the end of each epoch but the last."""

    def __init__(self, images, epochs, seed=SEED):
        super().__init__()
        self.images, self.epochs, self.seed = images, epochs, seed
        self.restarted = {}  # epoch → the codes restarted after it

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            return
        rng = np.random.default_rng([self.seed, epoch])
        x = self.images[rng.choice(len(self.images), min(RESTART_IMAGES, len(self.images)), replace=False)]
        encoded = self.model.encoder.predict(x[..., None].astype("float32") / 255.0, batch_size=512, verbose=0)
        _, indices = self.model.quantizer(encoded)
        dead = np.setdiff1d(np.arange(self.model.quantizer.num_codes), np.asarray(indices))
        vectors = encoded.reshape(-1, self.model.quantizer.code_dim)
        codebook = np.asarray(self.model.quantizer.codebook).copy()
        codebook[dead] = vectors[rng.choice(len(vectors), len(dead), replace=False)]
        self.model.quantizer.codebook.assign(codebook)
        self.restarted[epoch + 1] = dead.tolist()


def train(images, epochs=EPOCHS, seed=SEED, callbacks=()):
    """The trained VQVAE, its Keras history, and the codes restarted after each epoch."""
    keras.utils.set_random_seed(seed)
    variance = float(np.var(images.astype("float64") / 255.0))
    vqvae = VQVAE(build_encoder(), VectorQuantizer(name="vector_quantizer"), build_decoder(), variance)
    vqvae.compile(optimizer=keras.optimizers.Adam())
    restarts = RestartDeadCodes(images, epochs, seed)
    dataset = training_dataset(images, seed)
    history = vqvae.fit(dataset, epochs=epochs, shuffle=False, verbose=0, callbacks=[restarts, *callbacks])
    return vqvae, history, restarts.restarted
