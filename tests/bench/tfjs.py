"""The anchor of "Train it yourself": the same network trained with TensorFlow.js (tests/tfjs/), on the start weights,
batches, ε, β and Adam settings of pysrc/train/loop.py, served from this machine (node_modules, models/train/)."""

import base64
import contextlib
import http.server
from array import array
from typing import ClassVar

from tests.bench.targets import static_server
from tests.conftest import REPO  # which puts pysrc/ on sys.path
from train import loop, schedule

TFJS = REPO / "node_modules" / "@tensorflow"
# URL prefix → folder: the comparison page, TensorFlow.js and its wasm backend, and the training digits.
FOLDERS = {
    "/tfjs/": TFJS / "tfjs" / "dist",
    "/tfjs-wasm/": TFJS / "tfjs-backend-wasm" / "dist",
    "/models/train/": REPO / "models" / "train",
    "/": REPO / "tests" / "tfjs",
}
BACKENDS = ("webgl", "wasm", "cpu")  # TensorFlow.js's backends: the bench times each that runs here


@contextlib.contextmanager
def tfjs_server():
    """The comparison page from a static server in a thread, on loopback only; yields its URL."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map: ClassVar = {
            **http.server.SimpleHTTPRequestHandler.extensions_map,
            ".mjs": "text/javascript",
            ".wasm": "application/wasm",
        }

        def translate_path(self, path):
            path = path.split("?", 1)[0]
            for prefix, folder in FOLDERS.items():
                if path.startswith(prefix):
                    file = (folder / path[len(prefix) :]).resolve()
                    return str(file) if file.is_relative_to(folder.resolve()) else str(folder / "missing")
            return str(FOLDERS["/"] / "missing")

        def log_message(self, *args):
            pass

    with static_server(Handler) as url:
        yield url


def _floats(values):
    return base64.b64encode(array("f", values).tobytes()).decode()


def config(index, settings, steps, backend, warmup=0):
    """What tests/tfjs/train.mjs trains: the loop's start weights, and each step's batch and ε (schedule.py)."""
    weights = loop.initial_parameters(index, settings.seed)
    batch, latent = index["batch_size"], index["latent_dim"]
    count = index["data"]["train_images"]["count"]
    per_epoch = count // batch
    batches, epsilon = [], []
    for step in range(1, steps + 1):
        epoch, position = divmod(step - 1, per_epoch)
        order = schedule.epoch_order(settings.seed, epoch, count)
        batches.append(order[position * batch : (position + 1) * batch])
        epsilon += schedule.epsilon(settings.seed, step, batch * latent)
    return {
        "backend": backend,
        "parameters": [
            {"name": p["name"], "shape": p["shape"], "values": _floats(weights[p["name"]])} for p in index["parameters"]
        ],
        "images": "models/train/" + index["data"]["train_images"]["path"],
        "batches": batches,
        "epsilon": _floats(epsilon),
        "beta": settings.beta,
        "learningRate": settings.learning_rate,
        "warmup": warmup,
    }


def train_tfjs(page, url, cfg):
    """Open the comparison page and train; returns {backend, version, losses, stepsPerSecond}."""
    page.goto(url)
    page.wait_for_selector("#status[data-ready='true']", state="attached")
    return page.evaluate("(config) => tfjsTrain(config)", cfg)
