"""
Title: A PixelCNN prior over the VQ-VAE's codes, for the VAE Explainer
Based on: keras-io examples/generative/vq_vae.py (Sayak Paul), its second half, after van den Oord et al. (2016),
"Pixel Recurrent Neural Networks" and "Conditional Image Generation with PixelCNN Decoders".
Description: Learn p(k₁, …, k₄₉), the distribution of the shipped VQ-VAE's 7×7 code grids, one cell at a time in
raster order, so the page can draw new grids and decode them into digits the encoder never saw.

The VQ-VAE itself has no prior to sample from: its encoder picks one code per cell and that is all. This model is
the missing half. It never sees an image, only the grids of code indices the shipped encoder and the page's own
quantiser (pysrc/vq/quantizer.py) give for the 60,000 training digits.
"""

# ## 1. Setup
#
# Keras 3 on the TensorFlow backend, seeded like training/vqvae.py. The net is small on purpose: a grid is only
# 49 cells of 16 symbols, training has to fit in minutes on 2 CPU cores, and the page runs it 49 times per sample.

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from training.vq_evaluate import one_hot
from training.vqvae import GRID, NUM_CODES

FILTERS = 64  # channels of the hidden layers
RESIDUAL_BLOCKS = 3
FIRST_KERNEL = 7  # the mask-A convolution: the three rows above and three cells to the left, at once
EPOCHS = 6
BATCH_SIZE = 128
SEED = 1337


# ## 2. The data: the shipped VQ-VAE's codes
#
# The shipped ONNX encoder and the page's quantiser, so the prior learns exactly the grids a learner's drawings
# get in the page. The model's input is each grid one-hot, (7, 7, K) float32: that is what the first
# convolution reads anyway, and it keeps the page on float32 tensors like its other four networks (an int64
# input would need BigInt64Array from Pyodide). Targets are the indices themselves. Both come from
# training/vq_evaluate.py (`grid_codes`, `one_hot`), which measures the shipped files the same way.


# ## 3. Masked convolutions: a cell sees only the cells before it
#
# A PixelCNN predicts cell i from cells 1 … i − 1 in raster order (rows top to bottom, each left to right), so its
# convolution kernels are zeroed below and to the right of their centre. The first layer also zeroes the centre
# (mask type A): the cell's own code is what it predicts. Later layers keep the centre (type B): there it holds
# features computed from earlier cells only, so it can be used. Stacked, nothing ever leaks from a later cell.


def causal_mask(kernel_size, mask_type):
    """1 where the kernel may look, 0 where it must not: rows above, and to the left in the centre row."""
    mask = np.zeros((kernel_size, kernel_size), dtype=np.float32)
    centre = kernel_size // 2
    mask[:centre, :] = 1.0
    mask[centre, : centre + (mask_type == "B")] = 1.0
    return mask[:, :, None, None]


class MaskedConv2D(layers.Layer):
    """A "same"-padded convolution whose kernel is multiplied by a causal mask on every call."""

    def __init__(self, filters, kernel_size, mask_type, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.mask_type = filters, kernel_size, mask_type
        self.activation = keras.activations.get(activation)
        self.mask = causal_mask(kernel_size, mask_type)

    def build(self, input_shape):
        shape = (self.kernel_size, self.kernel_size, input_shape[-1], self.filters)
        self.kernel = self.add_weight(shape=shape, initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    def call(self, inputs):
        # Masking the kernel, not the weights' values: the masked entries get no gradient and never matter
        outputs = ops.conv(inputs, self.kernel * self.mask, padding="same") + self.bias
        return self.activation(outputs)


# ## 4. The PixelCNN
#
# One mask-A convolution, then residual blocks (1×1 down to half the channels, a 3×3 mask-B convolution, 1×1 back
# up, added to the input) as in the keras-io example, then two 1×1 layers and K logits per cell. 1×1
# convolutions need no mask: they only mix the channels of one cell.


def residual_block(x, filters):
    y = layers.Conv2D(filters // 2, 1, activation="relu")(x)
    y = MaskedConv2D(filters // 2, 3, "B", activation="relu")(y)
    y = layers.Conv2D(filters, 1, activation="relu")(y)
    return layers.Add()([x, y])


def build_pixelcnn(num_codes=NUM_CODES, filters=FILTERS, residual_blocks=RESIDUAL_BLOCKS):
    codes = keras.Input(shape=(GRID, GRID, num_codes), name="codes")
    x = MaskedConv2D(filters, FIRST_KERNEL, "A", activation="relu")(codes)
    for _ in range(residual_blocks):
        x = residual_block(x, filters)
    x = layers.Conv2D(filters, 1, activation="relu")(x)
    x = layers.Conv2D(filters, 1, activation="relu")(x)
    logits = layers.Conv2D(num_codes, 1, name="logits")(x)
    return keras.Model(codes, logits, name="pixelcnn")


# ## 5. The loss: the negative log-likelihood of each cell's code
#
# Cross-entropy of the softmax of the K logits against the code the encoder chose, averaged over cells: the NLL
# in nats per code. Divided by ln 2 it is in bits, against log₂ 16 = 4 bits for a prior that knows nothing (the
# model card's figure, measured on the test digits' grids from the exported file: training/vq_evaluate.py).


# ## 6. Train
#
# The grids are tiny, so the pipeline holds them all in memory; shuffling is seeded like the VQ-VAE's.


def train(indices, epochs=EPOCHS, seed=SEED, callbacks=()):
    """The trained PixelCNN and its Keras history, from training grids of code indices (n, 7, 7)."""
    keras.utils.set_random_seed(seed)
    model = build_pixelcnn()
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    options = tf.data.Options()
    options.autotune.enabled = False  # its autotuner stalls on a 2-core machine (see training/vae.py)
    dataset = (
        tf.data.Dataset.from_tensor_slices((one_hot(indices, NUM_CODES), indices.astype(np.int32)))
        .shuffle(len(indices), seed=seed)
        .batch(BATCH_SIZE)
        .prefetch(2)
        .with_options(options)
    )
    history = model.fit(dataset, epochs=epochs, shuffle=False, verbose=0, callbacks=list(callbacks))
    return model, history
