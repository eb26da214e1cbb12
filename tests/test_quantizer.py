"""The page's VQ quantiser (pysrc/quantizer.py) under CPython: distances, argmin and lookup as properties, and the
checked codebook reader, whose every kind of mismatch is a CodebookError that names the file.

tests/test_vq_models.py runs it on the shipped files and tests/test_vq_tf.py against the Keras layer.
"""

import hashlib
import json
import math
import random
import struct
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vq.quantizer import (
    CELLS,
    CodebookError,
    codes_used,
    flatten,
    grid_vectors,
    lookup,
    nearest_code,
    parse_codebook,
    quantization_losses,
    quantize,
    squared_distances,
)

FAST = settings(max_examples=50, deadline=None)
NAME = "models/vq/codebook.json"

coordinate = st.floats(min_value=-50, max_value=50, allow_nan=False, width=32)


@st.composite
def codebooks_and_vectors(draw, max_codes=16, max_dim=8, max_vectors=20):
    """A codebook of K codes of D numbers and some vectors of D numbers."""
    dim = draw(st.integers(1, max_dim))
    codebook = draw(st.lists(st.tuples(*[coordinate] * dim), min_size=1, max_size=max_codes))
    vectors = draw(st.lists(st.lists(coordinate, min_size=dim, max_size=dim), min_size=1, max_size=max_vectors))
    return codebook, vectors


def codebook_files(codes, **changes):
    """A self-consistent codebook.json text and codebook.bin bytes for `codes`, with manifest fields replaced."""
    data = struct.pack(f"<{sum(map(len, codes))}f", *(v for code in codes for v in code))
    manifest = {
        "file": "codebook.bin",
        "num_codes": len(codes),
        "code_dim": len(codes[0]),
        "dtype": "float32",
        "byte_order": "little",
        "shape": [len(codes), len(codes[0])],
        "byte_length": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    for key, value in changes.items():
        if value is ...:
            del manifest[key]
        else:
            manifest[key] = value
    return json.dumps(manifest), data


# ## Distances, argmin, lookup


@FAST
@given(codebooks_and_vectors())
def test_squared_distances_are_the_sum_of_squared_differences(case):
    codebook, vectors = case
    for vector in vectors:
        distances = squared_distances(vector, codebook)
        assert len(distances) == len(codebook)
        for code, d in zip(codebook, distances, strict=True):
            expected = sum((z - e) ** 2 for z, e in zip(vector, code, strict=True))
            assert d == pytest.approx(expected, rel=1e-12, abs=1e-9)
            assert d >= 0


@FAST
@given(codebooks_and_vectors())
def test_each_vector_gets_its_nearest_code(case):
    codebook, vectors = case
    indices, quantized, distances = quantize(vectors, codebook)
    assert len(indices) == len(quantized) == len(distances) == len(vectors)
    for vector, k, q in zip(vectors, indices, quantized, strict=True):
        assert 0 <= k < len(codebook)
        assert q == list(codebook[k])
        own = sum((z - e) ** 2 for z, e in zip(vector, q, strict=True))
        for code in codebook:  # no code is nearer (up to rounding of the distances)
            assert own <= sum((z - e) ** 2 for z, e in zip(vector, code, strict=True)) * (1 + 1e-12) + 1e-9


@FAST
@given(codebooks_and_vectors())
def test_a_code_quantises_to_itself(case):
    """Quantising is idempotent: a quantised grid, quantised again, is the same grid with the same indices."""
    codebook, vectors = case
    indices, quantized, _ = quantize(vectors, codebook)
    again, quantized_again, distances = quantize(quantized, codebook)
    assert again == indices
    assert quantized_again == quantized
    assert all(row[k] == 0 for row, k in zip(distances, indices, strict=True))


@FAST
@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=40))
def test_nearest_code_is_the_first_smallest_distance(distances):
    k = nearest_code(distances)
    assert distances[k] == min(distances)
    assert all(d > distances[k] for d in distances[:k]), "TensorFlow's argmin takes the first of equal minima"


def test_ties_go_to_the_first_code():
    codebook = [(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0)]
    indices, quantized, distances = quantize([[0.0, 0.0], [0.0, 0.5]], codebook)
    assert distances[0] == [1.0, 1.0, 1.0]
    assert indices == [0, 2]
    assert quantized == [[1.0, 0.0], [0.0, 1.0]]


@FAST
@given(codebooks_and_vectors(max_vectors=1), st.data())
def test_lookup_and_codes_used(case, data):
    codebook, _ = case
    indices = data.draw(st.lists(st.integers(0, len(codebook) - 1), min_size=1, max_size=CELLS))
    assert lookup(indices, codebook) == [list(codebook[k]) for k in indices]
    assert codes_used(indices) == len(set(indices))
    assert 1 <= codes_used(indices) <= min(len(indices), len(codebook))


def test_quantize_runs_a_learners_edited_functions():
    """The page passes a learner's edits in: nearest → farthest code picks the other end of the codebook."""
    codebook = [(0.0,), (1.0,), (5.0,)]

    def farthest_code(distances):
        return distances.index(max(distances))

    indices, quantized, _ = quantize([[0.2], [4.0]], codebook, nearest_code=farthest_code)
    assert indices == [2, 0]
    assert quantized == [[5.0], [0.0]]


@FAST
@given(codebooks_and_vectors())
def test_the_two_losses_are_one_squared_distance_weighted_twice(case):
    codebook, vectors = case
    indices, quantized, distances = quantize(vectors, codebook)
    codebook_loss, commitment_loss = quantization_losses(vectors, quantized)
    # The mean over every number of the grid: the chosen codes' squared distances, over vectors × D.
    expected = sum(row[k] for row, k in zip(distances, indices, strict=True)) / (len(vectors) * len(codebook[0]))
    assert codebook_loss == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert commitment_loss == pytest.approx(0.25 * codebook_loss, rel=1e-12, abs=1e-15)
    assert quantization_losses(quantized, quantized) == (0.0, 0.0)


# ## The 7×7 grid in and out of the networks


@FAST
@given(st.integers(1, 16), st.integers(0, 2**32 - 1))
def test_grid_vectors_and_flatten_round_trip(dim, seed):
    rng = random.Random(seed)
    flat = [rng.uniform(-50, 50) for _ in range(CELLS * dim)]
    vectors = grid_vectors(flat, dim)
    assert len(vectors) == 49 and all(len(v) == dim for v in vectors)
    assert vectors[8] == flat[8 * dim : 9 * dim]  # row 1, column 1: row-major, as (1, 7, 7, D) lies in memory
    assert flatten(vectors) == list(flat)


@pytest.mark.parametrize("length", [0, 48 * 8, 49 * 8 - 1, 49 * 8 + 1, 49 * 16])
def test_an_encoder_output_of_the_wrong_length_is_named(length):
    with pytest.raises(CodebookError, match=r"models/vq/encoder\.onnx gave \d+ numbers, expected 392"):
        grid_vectors([0.0] * length, 8)


# ## The codebook reader

CODES = [(0.5, -1.25, 3.0), (2.0, 0.0, -0.75)]


def test_a_good_codebook_reads_back_exactly():
    manifest, data = codebook_files(CODES)
    assert parse_codebook(manifest, data) == CODES
    assert parse_codebook(manifest, bytearray(data), code_dim=3) == CODES


@FAST
@given(codebooks_and_vectors(max_vectors=1))
def test_any_float32_codebook_round_trips(case):
    codebook, _ = case
    assert parse_codebook(*codebook_files(codebook)) == [tuple(code) for code in codebook]


@pytest.mark.parametrize(
    ("changes", "data_change", "code_dim", "message"),
    [
        ({}, lambda d: d[:-4], None, r"codebook\.bin holds 20 bytes, but models/vq/codebook\.json declares 24"),
        ({}, lambda d: d + b"\0" * 4, None, r"codebook\.bin holds 28 bytes"),
        ({}, lambda d: d[:4] + bytes([d[4] ^ 1]) + d[5:], None, r"codebook\.bin does not match the sha256"),
        ({"sha256": "0" * 64}, None, None, r"does not match the sha256 in models/vq/codebook\.json"),
        ({"num_codes": 3}, None, None, r"shape \[2, 3\] does not match num_codes 3 × code_dim 3"),
        ({"code_dim": 2}, None, None, r"shape \[2, 3\] does not match num_codes 2 × code_dim 2"),
        ({"shape": [3, 2]}, None, None, r"shape \[3, 2\] does not match"),
        ({"byte_length": 12}, None, None, r"declares 12 bytes, but 2×3 float32 are 24"),
        ({"dtype": "float64"}, None, None, r"describes float64"),
        ({"byte_order": "big"}, None, None, r"\(big endian\)"),
        ({"sha256": ...}, None, None, r"models/vq/codebook\.json lacks"),
        ({"num_codes": "many"}, None, None, r"models/vq/codebook\.json lacks"),
        ({}, None, 8, r"codes of 3 numbers, but the encoder gives vectors of 8"),
    ],
)
def test_a_mismatched_codebook_is_named(changes, data_change, code_dim, message):
    manifest, data = codebook_files(CODES, **changes)
    if data_change:
        data = data_change(data)
    with pytest.raises(CodebookError, match=message):
        parse_codebook(manifest, data, code_dim=code_dim)


def test_a_codebook_manifest_that_is_not_json_is_named():
    _, data = codebook_files(CODES)
    with pytest.raises(CodebookError, match=r"models/vq/codebook\.json is not valid JSON"):
        parse_codebook("{not json", data)
    with pytest.raises(CodebookError, match=r"other/codebook\.json lacks"):
        parse_codebook("[]", data, name="other/codebook.json")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_codebook_with_non_finite_numbers_is_named(bad):
    with pytest.raises(CodebookError, match=r"models/vq/codebook\.bin contains non-finite numbers"):
        parse_codebook(*codebook_files([(0.0, bad)]))


def test_the_binary_is_named_beside_its_manifest():
    manifest, _ = codebook_files(CODES)
    with pytest.raises(CodebookError, match=r"^elsewhere/codebook\.bin holds 0 bytes"):
        parse_codebook(manifest, b"", name="elsewhere/codebook.json")


def test_distances_for_a_whole_grid_stay_fast():
    """The page quantises 49 vectors against every code on each frame; K = 16, D = 8 must stay far below 8 ms."""
    rng = random.Random(0)
    codebook = [tuple(rng.gauss(0, 1) for _ in range(8)) for _ in range(16)]
    vectors = [[rng.gauss(0, 1) for _ in range(8)] for _ in range(CELLS)]
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        quantize(vectors, codebook)
        timings.append(time.perf_counter() - started)
    assert sorted(timings)[10] < 0.004, f"median {sorted(timings)[10] * 1000:.2f} ms for one 7×7 grid"
