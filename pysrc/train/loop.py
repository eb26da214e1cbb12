"""The training loop of "Train it yourself": pure Python, the same in the page (Pyodide) and in CPython.

The tensor work is one ONNX graph per Adam step (training/live.py writes it to models/train/). This module owns
everything around it: the files checked against index.json, the seeded start weights, the batches cut from the
uint8 training digits in the order train/schedule.py draws (with its ε and β), and what happens when the loss stops
being a number.

The runtime is injected, so the page passes onnxruntime-web and CPython passes onnxruntime. A runner has:
- `tensor(dtype, shape, data)`: a runtime tensor of "float32" or "uint8" from an `array` or `bytes`;
- `await run(graph, feeds)`: run "step", "encoder" or "decoder" on a dict of input name → tensor, and return a
  dict of output name → tensor (awaited, because onnxruntime-web answers with a promise);
- `scalar(tensor)`: a one-number tensor as a Python float.
The weights and Adam's moments stay runtime tensors from one step to the next: each step's outputs are the next
step's inputs, and only the batch's two loss terms become Python floats.

Every random choice is a function of the seed and the step number alone (never of what ran before), so a run is
reproducible, and going back to an earlier step after a bad learning rate needs no saved random state.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from array import array
from dataclasses import dataclass

from train import schedule

INDEX = "index.json"
PIXELS = 28 * 28


class TrainFileError(ValueError):
    """A missing, corrupt or mismatched file of models/train/; the message names the file."""


class LossNotFinite(ArithmeticError):
    """A step's loss was NaN or infinite. The trainer has already gone back to the last good weights."""

    def __init__(self, step: int, bce: float, kl: float, kept: int) -> None:
        self.step, self.bce, self.kl, self.kept = step, bce, kl, kept
        weights = f"the weights after step {kept}, the last with a finite loss," if kept else "the start weights"
        super().__init__(
            f"The loss at step {step} is not finite (BCE {bce}, KL {kl}); training paused and {weights} "
            "are in use. A smaller learning rate may help."
        )


# ## 1. The files, checked


GRAPHS = ("step", "encoder", "decoder")
DATA = ("train_images", "test_images", "test_labels")


def read_index(text: str) -> dict:
    """index.json's text as a dict, with every field the loop reads present and of the right type; anything else
    is a TrainFileError that names index.json."""
    try:
        index = json.loads(text)
    except ValueError as error:
        raise TrainFileError(f"{INDEX}: not valid JSON ({error})") from None
    try:
        problem = _index_problem(index)
    except (KeyError, TypeError, IndexError) as error:
        problem = f"{type(error).__name__} {error}"
    if problem:
        raise TrainFileError(f"{INDEX}: a field is missing or wrong ({problem})")
    return index


def _index_problem(index: dict) -> str | None:
    """What is wrong with index.json's fields, or None."""
    if not (isinstance(index["batch_size"], int) and isinstance(index["latent_dim"], int)):
        return "batch_size and latent_dim must be whole numbers"
    for name, record in [(g, index["graphs"][g]) for g in GRAPHS] + [(d, index["data"][d]) for d in DATA]:
        path = record["path"]
        if not (isinstance(path, str) and path and "/" not in path and "\\" not in path):
            return f"{name}: the path must name a file beside {INDEX}"
        if not (isinstance(record["bytes"], int) and isinstance(record["sha256"], str)):
            return f"{name}: bytes and sha256 must be a whole number and a string"
        if name in DATA and not isinstance(record["count"], int):
            return f"{name}: count must be a whole number"
        if name in GRAPHS and not all(isinstance(value["name"], str) for value in record["inputs"]):
            return f"{name}: every input needs a name"
    for parameter in index["parameters"]:
        if not (isinstance(parameter["name"], str) and all(isinstance(d, int) for d in parameter["shape"])):
            return "every parameter needs a name and a shape"
        if parameter["init"] != "zeros" and not isinstance(parameter["limit"], float):
            return f"{parameter['name']}: a Glorot-uniform parameter needs its limit"
    return None


def check_file(record: dict, data: bytes | None) -> bytes:
    """A file's bytes (None when it could not be read), checked against its length and sha256 in index.json."""
    path = record["path"]
    if data is None:
        raise TrainFileError(f"{path}: file not found")
    if len(data) != record["bytes"]:
        raise TrainFileError(f"{path}: {len(data)} bytes, but {INDEX} records {record['bytes']} (truncated?)")
    if hashlib.sha256(data).hexdigest() != record["sha256"]:
        raise TrainFileError(f"{path}: sha256 differs from the one {INDEX} records (corrupt or replaced)")
    return data


@dataclass(frozen=True)
class Dataset:
    """The shipped digits: training images, and held-out test images with their labels (uint8, 784 per image)."""

    train_images: bytes
    test_images: bytes
    test_labels: bytes

    @property
    def train_count(self) -> int:
        return len(self.train_images) // PIXELS

    def test_pixels(self) -> array:
        """The held-out images as float32 in [0, 1], the encoder graph's input; made once, not per step. Each
        byte is looked up in a table of the 256 values' float32 bytes: in Pyodide a list of 1.5 million floats
        takes seconds, the lookup a fraction of one."""
        table = [array("f", [value / 255]).tobytes() for value in range(256)]
        return array("f", b"".join(map(table.__getitem__, self.test_images)))


def dataset(index: dict, files: dict[str, bytes | None]) -> Dataset:
    """The Dataset from the data files' bytes (keyed by their path in index.json), each one checked."""
    data = index["data"]
    parts = {}
    for key in DATA:
        record = data[key]
        parts[key] = check_file(record, files.get(record["path"]))
        expected = record["count"] * (PIXELS if key.endswith("images") else 1)
        if len(parts[key]) != expected:  # a consistent but wrong index.json
            raise TrainFileError(f"{record['path']}: {len(parts[key])} bytes, not {record['count']} items")
    return Dataset(**parts)


# ## 2. The start weights
#
# Keras Dense's defaults, drawn from the seed: kernels Glorot-uniform in ±limit (index.json records each limit),
# biases zero. A shipped file would fix one seed; the learner picks the seed, so the weights are drawn here.


def initial_parameters(index: dict, seed: int) -> dict[str, array]:
    rng = random.Random(f"{seed}:init")
    weights = {}
    for parameter in index["parameters"]:
        size = math.prod(parameter["shape"])
        if parameter["init"] == "glorot_uniform":
            # rng.uniform(-limit, limit), inlined: the same numbers, several times faster for 400,000 of them.
            low, span, draw = -parameter["limit"], 2 * parameter["limit"], rng.random
            weights[parameter["name"]] = array("f", [low + span * draw() for _ in range(size)])
        else:
            weights[parameter["name"]] = array("f", bytes(4 * size))
    return weights


# ## 3. Batches
#
# Which digits and which ε each step gets, and its β, come from train/schedule.py, the part a learner may rewrite in
# the Source panel. The loop cuts each batch from the uint8 digits.


def batch_images(images: bytes, indices: list[int]) -> bytes:
    """The uint8 pixels of the given images, one after another: the step graph's `images` input."""
    return b"".join(images[i * PIXELS : (i + 1) * PIXELS] for i in indices)


# ## 4. The loop


@dataclass
class Settings:
    seed: int = 0
    beta: float = 1.0
    learning_rate: float = 1e-3


@dataclass(frozen=True)
class StepLosses:
    step: int  # 1 for the first step
    epoch: int  # 0 for the first epoch
    bce: float  # the batch's mean reconstruction BCE (nats per image), at the weights before the step
    kl: float  # the batch's mean KL to N(0, I), unweighted
    beta: float  # the weight the step gave the KL term (the schedule's β for it)

    @property
    def negative_elbo(self) -> float:
        return self.bce + self.kl


class Trainer:
    """One training run: the weights and Adam's state as runtime tensors, and the losses of every step so far.

    `schedule` has beta_at, epoch_order and epsilon (train/schedule.py): the module itself, or the page's registry of
    live edits, which runs the learner's version of them, counted and checked, from the next step on.
    """

    def __init__(self, index: dict, data: Dataset, runner, settings: Settings, schedule=schedule) -> None:
        self.index, self.data, self.runner, self.settings = index, data, runner, settings
        self.schedule = schedule
        self.batch_size = index["batch_size"]
        self.latent_dim = index["latent_dim"]
        self.steps_per_epoch = data.train_count // self.batch_size
        self.names = [p["name"] for p in index["parameters"]]
        shapes = {p["name"]: p["shape"] for p in index["parameters"]}
        weights = initial_parameters(index, settings.seed)
        zeros = {name: array("f", bytes(4 * len(w))) for name, w in weights.items()}
        state = {}
        for name in self.names:
            state[name] = runner.tensor("float32", shapes[name], weights[name])
            state[f"m.{name}"] = runner.tensor("float32", shapes[name], zeros[name])
            state[f"v.{name}"] = runner.tensor("float32", shapes[name], zeros[name])
        state["step"] = runner.tensor("float32", [], array("f", [0.0]))
        self.state = state  # the weights after `self.step` steps
        self.step = 0
        # The state and step count one step earlier: the last good ones if the next loss is not finite.
        self.previous: tuple[dict, int] = (state, 0)
        self.losses: list[StepLosses] = []
        self._order: tuple[int, list[int]] | None = None  # (epoch, its order): the current epoch's shuffle

    @property
    def epochs_done(self) -> float:
        """Epochs done, as a fraction."""
        return self.step / self.steps_per_epoch

    def rescheduled(self) -> None:
        """The schedule's code changed (a live edit, or going back from one): the current epoch's order is drawn
        again, by the code now in use."""
        self._order = None

    def batch_indices(self, step: int) -> list[int]:
        """Which training digits step `step` (1-based) trains on."""
        epoch, position = divmod(step - 1, self.steps_per_epoch)
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, self.schedule.epoch_order(self.settings.seed, epoch, self.data.train_count))
        start = position * self.batch_size
        return self._order[1][start : start + self.batch_size]

    def feeds(self, step: int) -> dict:
        """The step graph's inputs for step `step` (1-based), taken after `step - 1` steps."""
        tensor, b = self.runner.tensor, self.batch_size
        epsilon = array("f", self.schedule.epsilon(self.settings.seed, step, b * self.latent_dim))
        return self.state | {
            "images": tensor("uint8", [b, PIXELS], batch_images(self.data.train_images, self.batch_indices(step))),
            "epsilon": tensor("float32", [b, self.latent_dim], epsilon),
            "beta": tensor("float32", [], array("f", [self.schedule.beta_at(step, self.settings.beta)])),
            "learning_rate": tensor("float32", [], array("f", [self.settings.learning_rate])),
        }

    async def train_step(self) -> StepLosses:
        """One Adam step on the next batch. A loss that is not finite raises LossNotFinite after going back to
        the last weights whose loss was finite (the weights that gave it are the bad ones)."""
        step = self.step + 1
        feeds = self.feeds(step)
        outputs = await self.runner.run("step", feeds)
        bce, kl = self.runner.scalar(outputs["bce"]), self.runner.scalar(outputs["kl"])
        if not (math.isfinite(bce) and math.isfinite(kl)):
            self.state, self.step = self.previous
            del self.losses[self.step :]
            raise LossNotFinite(step, bce, kl, self.step)
        self.previous = (self.state, self.step)
        self.state = {name: outputs[f"new.{name}"] for name in self.state}
        self.step = step
        losses = StepLosses(step, (step - 1) // self.steps_per_epoch, bce, kl, self.runner.scalar(feeds["beta"]))
        self.losses.append(losses)
        return losses

    async def train(self, steps: int) -> list[StepLosses]:
        return [await self.train_step() for _ in range(steps)]

    def parameters(self, graph: str) -> dict:
        """The current weights that `graph` takes as inputs."""
        names = [value["name"] for value in self.index["graphs"][graph]["inputs"]]
        return {name: self.state[name] for name in names if name in self.state}

    async def encode(self, pixels: array, count: int) -> tuple:
        """(μ, log σ²) runtime tensors of `count` float32 images in [0, 1], with the current weights."""
        feeds = self.parameters("encoder")
        feeds["image"] = self.runner.tensor("float32", [count, PIXELS], pixels)
        outputs = await self.runner.run("encoder", feeds)
        return outputs["z_mean"], outputs["z_log_var"]

    async def decode(self, z: array, count: int):
        """The reconstruction (probabilities, count × 784) of `count` latent points, with the current weights."""
        feeds = self.parameters("decoder")
        feeds["z"] = self.runner.tensor("float32", [count, self.latent_dim], z)
        return (await self.runner.run("decoder", feeds))["reconstruction"]
