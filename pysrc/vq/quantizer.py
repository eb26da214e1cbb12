"""The VQ-VAE's quantiser: each of the encoder's 7×7 vectors becomes its nearest code from the codebook.

It is what `VectorQuantizer` in training/vqvae.py computes, in plain Python: distances, argmin, lookup. The page
runs it between the two ONNX networks, and the learner reads and edits it, as sampling is for the VAE. Plus the
checked reader of the shipped codebook (models/vq/codebook.bin and its manifest, codebook.json).

Pure Python: the same code runs in the page (Pyodide) and in the tests (CPython).
"""

import array
import hashlib
import json
import math
import sys

GRID = 7  # the code is a 7×7 grid of vectors
CELLS = GRID * GRID


class CodebookError(ValueError):
    """A codebook file that disagrees with its manifest or with the model, or a model output of the wrong shape."""


def squared_distances(vector, codebook):
    """‖z − e_k‖² from one encoder vector z to every code e_k: what the argmin compares.

    math.dist is the Euclidean distance ‖z − e_k‖ = √Σ(z_d − e_kd)², computed in C: 49 × K distances per frame.
    """
    return [math.dist(vector, code) ** 2 for code in codebook]


def nearest_code(distances):
    """The argmin: the index of the smallest distance (the first of equals, as TensorFlow's argmin)."""
    return distances.index(min(distances))


def lookup(indices, codebook):
    """The quantised vectors: code k_i in place of vector i. The decoder sees only these."""
    return [list(codebook[k]) for k in indices]


def quantize(vectors, codebook, squared_distances=squared_distances, nearest_code=nearest_code, lookup=lookup):
    """(indices, quantized, distances) for a list of vectors. The page passes a learner's edited functions in."""
    distances = [squared_distances(vector, codebook) for vector in vectors]
    indices = [nearest_code(row) for row in distances]
    return indices, lookup(indices, codebook), distances


def quantization_losses(vectors, quantized, commitment_cost=0.25):
    """(codebook loss, commitment loss) for this grid, as `VectorQuantizer` adds them in training.

    Both are the mean of the squared differences over every number, so a cell's squared distance to its code
    divided by D. They differ in which side the gradient moves: the codebook loss moves the codes, the commitment
    loss (weighted by γ = 0.25) the encoder.
    """
    pairs = [
        (z - e) * (z - e)
        for vector, code in zip(vectors, quantized, strict=True)
        for z, e in zip(vector, code, strict=True)
    ]
    mean = sum(pairs) / len(pairs)
    return mean, commitment_cost * mean


def codes_used(indices):
    """How many distinct codes a grid uses."""
    return len(set(indices))


def grid_vectors(flat, code_dim, name="models/vq/encoder.onnx"):
    """The encoder's flat output (7·7·D numbers, row-major) → 49 vectors of D numbers, checked for its length."""
    if len(flat) != CELLS * code_dim:
        raise CodebookError(
            f"{name} gave {len(flat)} numbers, expected {CELLS * code_dim} ({GRID}×{GRID} vectors of {code_dim}): "
            "the model and the codebook do not belong together"
        )
    return [list(flat[i * code_dim : (i + 1) * code_dim]) for i in range(CELLS)]


def flatten(vectors):
    """49 vectors → one flat row-major list, the decoder's (1, 7, 7, D) input."""
    return [value for vector in vectors for value in vector]


def parse_codebook(manifest_text, data, code_dim=None, name="models/vq/codebook.json"):
    """codebook.json + codebook.bin → K codes of D floats, each a tuple.

    Checks the manifest against the bytes (length and sha256) and, when given, the encoder's vector length
    `code_dim`. Every error names the file, so a half-deployed site says which file is wrong.
    """
    try:
        manifest = json.loads(manifest_text)
    except ValueError:
        raise CodebookError(f"{name} is not valid JSON") from None
    try:
        num_codes, dim = int(manifest["num_codes"]), int(manifest["code_dim"])
        shape, dtype, byte_order = manifest["shape"], manifest["dtype"], manifest["byte_order"]
        declared, digest, file = int(manifest["byte_length"]), str(manifest["sha256"]), str(manifest["file"])
    except (KeyError, TypeError, ValueError):
        raise CodebookError(
            f"{name} lacks num_codes, code_dim, shape, dtype, byte_order, byte_length, sha256 or file"
        ) from None
    binary = name.rsplit("/", 1)[0] + "/" + file if "/" in name else file
    if num_codes < 1 or dim < 1 or shape != [num_codes, dim]:
        raise CodebookError(f"{name}: shape {shape} does not match num_codes {num_codes} × code_dim {dim}")
    if dtype != "float32" or byte_order != "little":
        raise CodebookError(f"{name} describes {dtype} ({byte_order} endian); the page reads little-endian float32")
    if declared != num_codes * dim * 4:
        raise CodebookError(
            f"{name} declares {declared} bytes, but {num_codes}×{dim} float32 are {num_codes * dim * 4}"
        )
    if len(data) != declared:
        raise CodebookError(
            f"{binary} holds {len(data)} bytes, but {name} declares {declared}: the two files do not belong together"
        )
    if hashlib.sha256(bytes(data)).hexdigest() != digest:
        raise CodebookError(f"{binary} does not match the sha256 in {name}: the file is corrupt or from another run")
    if code_dim is not None and code_dim != dim:
        raise CodebookError(f"{name} holds codes of {dim} numbers, but the encoder gives vectors of {code_dim}")
    values = array.array("f")
    values.frombytes(bytes(data))
    if sys.byteorder != "little":
        values.byteswap()
    if not all(math.isfinite(v) for v in values):
        raise CodebookError(f"{binary} contains non-finite numbers")
    return [tuple(values[k * dim : (k + 1) * dim]) for k in range(num_codes)]
