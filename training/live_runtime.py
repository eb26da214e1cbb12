"""The CPython side of the page's training loop (pysrc/train/loop.py): onnxruntime behind the loop's runner, and
models/train/ read from disk and checked. The page's adapter does the same with onnxruntime-web and fetch.

`python -m training.live_runtime` trains with the loop here and prints what the README reports: steps per second,
how long until the held-out codes separate (10-NN accuracy ≥ 0.5), and the negative ELBO by epoch.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

from training.mnist import REPO

sys.path.insert(0, str(REPO / "pysrc"))
from train import loop

FOLDER = REPO / "models" / "train"


class OrtRunner:
    """The loop's runner on onnxruntime: tensors are OrtValues, and a step's outputs go back in as they are."""

    def __init__(self, graphs: dict[str, bytes]) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # like the page's single-threaded wasm
        options.inter_op_num_threads = 1
        self.sessions = {
            name: ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
            for name, data in graphs.items()
        }
        self.outputs = {name: [o.name for o in s.get_outputs()] for name, s in self.sessions.items()}

    def tensor(self, dtype: str, shape, data) -> ort.OrtValue:
        return ort.OrtValue.ortvalue_from_numpy(np.frombuffer(data, dtype).reshape(shape).copy())

    async def run(self, graph: str, feeds: dict) -> dict:
        names = self.outputs[graph]
        return dict(zip(names, self.sessions[graph].run_with_ort_values(names, feeds), strict=True))

    def scalar(self, tensor: ort.OrtValue) -> float:
        return float(tensor.numpy())


def read(folder: Path, record: dict) -> bytes:
    """One file of the index, checked against its length and sha256."""
    path = Path(folder) / record["path"]
    return loop.check_file(record, path.read_bytes() if path.is_file() else None)


def load(folder: Path = FOLDER) -> tuple[dict, loop.Dataset, OrtRunner]:
    """index.json, the data and a runner for the three graphs, every file checked."""
    path = Path(folder) / loop.INDEX
    if not path.is_file():
        raise loop.TrainFileError(f"{loop.INDEX}: file not found in {folder}; `python -m training.live` writes it")
    index = loop.read_index(path.read_text())
    files = {}
    for key in loop.DATA:
        record = index["data"][key]
        path = Path(folder) / record["path"]
        files[record["path"]] = path.read_bytes() if path.is_file() else None
    data = loop.dataset(index, files)
    runner = OrtRunner({name: read(folder, record) for name, record in index["graphs"].items()})
    return index, data, runner


def trainer(settings: loop.Settings, folder: Path = FOLDER) -> loop.Trainer:
    index, data, runner = load(folder)
    return loop.Trainer(index, data, runner, settings)


def run(coroutine):
    """Run one of the loop's coroutines to its end (the page awaits them in Pyodide's event loop instead), on a
    thread of its own: a caller may have an event loop running already (Playwright's, in the tests' workers)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


# ## What the README reports, measured with the loop here


def held_out_codes(t: loop.Trainer) -> tuple[np.ndarray, np.ndarray]:
    """μ and log σ² of the 2,000 held-out digits, with the current weights."""
    count = len(t.data.test_labels)
    mu, log_var = run(t.encode(t.data.test_pixels(), count))
    return mu.numpy().copy(), log_var.numpy().copy()  # numpy() is a view of the OrtValue's memory


def knn_accuracy(codes: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Leave-one-out k-NN accuracy of the codes: each code's k nearest other codes vote for its label."""
    d2 = np.square(codes[:, None, 0] - codes[None, :, 0]) + np.square(codes[:, None, 1] - codes[None, :, 1])
    np.fill_diagonal(d2, np.inf)
    nearest = labels[np.argpartition(d2, k, axis=1)[:, :k]]
    votes = np.stack([(nearest == digit).sum(axis=1) for digit in range(10)], axis=1)
    return float((votes.argmax(axis=1) == labels).mean())


def test_negative_elbo(t: loop.Trainer, seed: int = 0) -> tuple[float, float]:
    """The held-out digits' mean BCE and KL, one seeded z per digit, as training/evaluate.py measures a model."""
    from training.evaluate import kl_divergence, reconstruction_bce

    mu, log_var = held_out_codes(t)
    z = mu + np.exp(0.5 * log_var) * np.random.default_rng(seed).standard_normal(mu.shape).astype(np.float32)
    reconstruction = run(t.decode(z.astype(np.float32).tobytes(), len(z))).numpy().copy()
    x = np.frombuffer(t.data.test_images, np.uint8).reshape(len(z), -1) / 255.0
    return float(reconstruction_bce(x, reconstruction).mean()), float(kl_divergence(mu, log_var).mean())


def figures(settings: loop.Settings, epochs: int, every: int) -> None:
    """Train for `epochs` and print the figures; only the steps are timed, not the measurements between them."""
    import time

    t = trainer(settings)
    labels = np.frombuffer(t.data.test_labels, np.uint8)
    spent, separated = 0.0, False
    while t.step < epochs * t.steps_per_epoch:
        start = time.perf_counter()
        run(t.train(every))
        spent += time.perf_counter() - start
        if not separated and knn_accuracy(held_out_codes(t)[0], labels) >= 0.5:
            separated = True
            print(f"held-out 10-NN >= 0.5 at step {t.step} (epoch {t.epochs_done:.2f}), after {spent:.1f} s of steps")
        if t.step % t.steps_per_epoch < every:
            bce, kl = test_negative_elbo(t)
            epoch = t.losses[-t.steps_per_epoch :]
            train = sum(s.negative_elbo for s in epoch) / len(epoch)
            print(
                f"epoch {t.step // t.steps_per_epoch}: held-out BCE {bce:.2f} KL {kl:.2f} negative ELBO "
                f"{bce + kl:.2f}; the epoch's batches {train:.2f}; "
                f"kNN {knn_accuracy(held_out_codes(t)[0], labels):.3f}"
            )
    print(f"{t.step} steps in {spent:.1f} s: {t.step / spent:.1f} steps/s (onnxruntime {ort.__version__}, 1 thread)")


REFERENCE = REPO / "tests" / "train_reference.json"
REFERENCE_SETTINGS = loop.Settings(seed=0, beta=1.0, learning_rate=1e-3)
REFERENCE_STEPS = 100


def record_reference() -> None:
    """The losses of the first 100 steps, which tests/test_train_loop.py checks and the page must reproduce."""
    t = trainer(REFERENCE_SETTINGS)
    run(t.train(REFERENCE_STEPS))
    reference = {
        "description": "BCE and KL of the first steps of pysrc/train/loop.py with models/train/, in CPython",
        "command": "python -m training.live_runtime --record",
        "settings": vars(REFERENCE_SETTINGS),
        "onnxruntime": ort.__version__,
        "bce": [s.bce for s in t.losses],
        "kl": [s.kl for s in t.losses],
    }
    REFERENCE.write_text(json.dumps(reference, indent=1) + "\n")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m training.live_runtime", description=__doc__.split("\n\n")[1])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--every", type=int, default=13, help="steps between two measurements of the codes")
    parser.add_argument("--record", action="store_true", help=f"only write {REFERENCE.relative_to(REPO)}")
    args = parser.parse_args()
    if args.record:
        record_reference()
    else:
        figures(loop.Settings(args.seed, args.beta, args.learning_rate), args.epochs, args.every)
