"""The CPython side of the page's training loop (pysrc/train/loop.py): onnxruntime behind the loop's runner, and
models/train/ read from disk and checked. The page's adapter does the same with onnxruntime-web and fetch.

`python -m training.live_runtime` trains with the loop here and prints what the README reports: steps per second,
how long until the held-out codes separate (10-NN accuracy ≥ 0.5), and the negative ELBO by epoch.
"""

from __future__ import annotations

import asyncio
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
    for key in ("train_images", "test_images", "test_labels"):
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
    """Run one of the loop's coroutines to its end (the page awaits them in Pyodide's event loop instead)."""
    return asyncio.run(coroutine)
