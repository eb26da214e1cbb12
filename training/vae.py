"""
Title: Variational AutoEncoder on MNIST, for the VAE Explainer
Based on: keras-io examples/generative/vae.py (fchollet), kept faithful to its architecture and loss.
Description: Train a convolutional VAE with a 2-D latent space; the explainer page runs what this file trains.

The page displays `build_encoder` and `Sampling` from this file verbatim, so they are the code a learner reads.
Comments written between `$…$` are typeset as maths there.
"""

# ## 1. Setup
#
# Keras 3 on the TensorFlow backend. Everything random is seeded, so a retrain is comparable with the model card.

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf
from keras import layers, ops

LATENT_DIM = 2
EPOCHS = 30
BATCH_SIZE = 128
SEED = 1337
BETA = 1.0  # the weight of the KL term (section 5); 1 is the VAE's own loss


# ## 2. The encoder: an image in, a Gaussian out
#
# The encoder does not output a point. It outputs the mean $\mu$ and the log-variance $\log\sigma^2$
# of a Gaussian over the latent space; the two heads are separate Dense layers.


def build_encoder(latent_dim=LATENT_DIM):
    encoder_inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
    x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="relu")(x)
    # The mean of the encoding: $\mu$
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    # The log-variance $\log\sigma^2$: any real number, no positivity constraint needed
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    return keras.Model(encoder_inputs, [z_mean, z_log_var], name="encoder")


# ## 3. Sampling: the reparameterization trick
#
# Sampling z directly from $\mathcal{N}(\mu, \sigma^2)$ would block the gradient. Instead, draw the noise
# $\varepsilon$ on a side branch and shift and scale it with the encoder's outputs.


class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        # The log-var trick: $\sigma = \exp(\tfrac{1}{2} \log\sigma^2)$ is always positive
        sigma = ops.exp(0.5 * z_log_var)
        # Noise from outside the network: $\varepsilon \sim \mathcal{N}(0, I)$
        epsilon = keras.random.normal(shape=ops.shape(z_mean), seed=self.seed_generator)
        # Reparameterize: $z = \mu + \sigma \odot \varepsilon$, differentiable in $\mu$ and $\sigma$
        return z_mean + sigma * epsilon


# ## 4. The decoder: a point in the latent space back to an image


def build_decoder(latent_dim=LATENT_DIM):
    latent_inputs = keras.Input(shape=(latent_dim,), name="z")
    x = layers.Dense(7 * 7 * 64, activation="relu")(latent_inputs)
    x = layers.Reshape((7, 7, 64))(x)
    x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
    decoder_outputs = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same", name="reconstruction")(x)
    return keras.Model(latent_inputs, decoder_outputs, name="decoder")


# ## 5. The loss: reconstruction plus KL, both per image
#
# The negative ELBO, estimated with the one z the `Sampling` layer drew. The reconstruction term sums binary
# cross-entropy over the 784 pixels (on grey levels: a training loss, not −log p(x|z)); the KL term has a
# closed form for two Gaussians and pulls every encoding toward the prior $\mathcal{N}(0, I)$.
#
# β weighs that pull. β = 1 is the negative ELBO itself, the model the page ships. β = 0 drops the pull and
# leaves a plain autoencoder; β > 1 is a β-VAE (Higgins et al., 2017), which pays in reconstruction for codes
# closer to the prior. The KL is reported unweighted, so the three can be compared.


def reconstruction_loss(data, reconstruction):
    return ops.sum(keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2))


def kl_loss(z_mean, z_log_var):
    return ops.sum(-0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)), axis=1)


class VAE(keras.Model):
    def __init__(self, encoder, decoder, seed=SEED, beta=BETA, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.beta = beta
        self.sampling = Sampling(seed=seed)
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var = self.encoder(data)
            z = self.sampling([z_mean, z_log_var])
            reconstruction = self.decoder(z)
            rec = ops.mean(reconstruction_loss(data, reconstruction))
            kl = ops.mean(kl_loss(z_mean, z_log_var))
            total_loss = rec + self.beta * kl
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(rec)
        self.kl_loss_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}


# ## 6. Train
#
# All 60,000 training digits, pixels scaled to [0, 1]. tf.data's autotuner stalls for tens of seconds at epoch
# ends on a 2-core machine, so it is switched off and the pipeline is fixed by hand.


def training_dataset(images, seed=SEED):
    x = images.astype("float32")[..., None] / 255.0
    options = tf.data.Options()
    options.autotune.enabled = False
    return (
        tf.data.Dataset.from_tensor_slices(x)
        .shuffle(len(x), seed=seed)
        .batch(BATCH_SIZE)
        .prefetch(2)
        .with_options(options)
    )


def train(images, epochs=EPOCHS, seed=SEED, beta=BETA, callbacks=()):
    keras.utils.set_random_seed(seed)
    vae = VAE(build_encoder(), build_decoder(), seed=seed, beta=beta)
    vae.compile(optimizer=keras.optimizers.Adam())
    dataset = training_dataset(images, seed)
    history = vae.fit(dataset, epochs=epochs, shuffle=False, verbose=0, callbacks=list(callbacks))
    return vae, history
