"""Live code under CPython for the VQ-VAE's quantiser: distances, argmin and lookup edited and run over the real
codebook, their results checked against its inputs."""

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "pysrc"))

from live_code_helpers import (
    CODEBOOK,
    DISTANCES_RETURN,
    FARTHEST_RETURN,
    LOOKUP_RETURN,
    NEAREST_RETURN,
    ORIGINAL,
    VECTORS,
    edit,
    failure,
    line_of,
)

from live.edits import Registry
from vq import quantizer


@pytest.fixture
def registry():
    return Registry()


# ## The quantiser: distances, argmin and lookup over the real codebook


def quantize(registry, vectors=VECTORS):
    """The grid as the VQ view quantises it: the shipped quantize through the registry's current functions."""
    return quantizer.quantize(
        vectors,
        CODEBOOK,
        squared_distances=registry.squared_distances,
        nearest_code=registry.nearest_code,
        lookup=registry.lookup,
    )


def test_nearest_code_picking_the_farthest_code_changes_every_index(registry):
    shipped_indices, _, distances = quantize(registry)
    assert shipped_indices == list(range(16))
    registry.apply("vq.quantizer", edit("vq.quantizer", NEAREST_RETURN, FARTHEST_RETURN))
    indices, quantized, edited_distances = quantize(registry)
    expected = quantizer.quantize(VECTORS, CODEBOOK, nearest_code=lambda d: d.index(max(d)))
    assert (indices, quantized, edited_distances) == expected
    assert edited_distances == distances
    assert all(k != nearest for k, nearest in zip(indices, shipped_indices, strict=True))
    assert registry.edited == {"vq.quantizer"}
    registry.reset("vq.quantizer")
    assert quantize(registry)[0] == shipped_indices
    assert registry.function("nearest_code") is quantizer.nearest_code


def test_edited_distances_and_lookup_run_on_the_real_codebook(registry):
    manhattan = "    return [sum(abs(z - e) for z, e in zip(vector, code)) for code in codebook]"
    source = edit("vq.quantizer", DISTANCES_RETURN, manhattan)
    source = source.replace(LOOKUP_RETURN, "    return [[2 * v for v in codebook[k]] for k in indices]")
    registry.apply("vq.quantizer", source)
    indices, quantized, distances = quantize(registry)
    assert distances[3] == pytest.approx(
        [sum(abs(z - e) for z, e in zip(VECTORS[3], c, strict=True)) for c in CODEBOOK]
    )
    assert indices == [row.index(min(row)) for row in distances]
    assert quantized == [[2 * v for v in CODEBOOK[k]] for k in indices]


@pytest.mark.parametrize(
    ("function", "returned", "expected"),
    [
        # One finite number per code (Apply's small codebook has 4).
        ("squared_distances", "[1.0, 2.0]", "2 values (line {line}), expected 4"),
        (
            "squared_distances",
            "[math.inf] * len(codebook)",
            "inf in position 0 (line {line}) — results must be finite numbers",
        ),
        (
            "squared_distances",
            "{k: 0.0 for k in range(len(codebook))}",
            "a dict (line {line}), expected a list of 4 numbers",
        ),
        (
            "squared_distances",
            "[str(k) for k in range(len(codebook))]",
            "a str in position 0 (line {line}), expected a number",
        ),
        # An int that indexes the distances: not the distance itself, not a bool, not out of range.
        (
            "nearest_code",
            "min(distances)",
            "a float (line {line}), expected an int from 0 to 3 (an index, not a value)",
        ),
        ("nearest_code", "True", "True (line {line}), expected an int from 0 to 3 (an index, not a value)"),
        ("nearest_code", "0.0", "a float (line {line}), expected an int from 0 to 3 (an index, not a value)"),
        ("nearest_code", "[0]", "a list (line {line}), expected an int from 0 to 3 (an index, not a value)"),
        ("nearest_code", "None", "None (line {line}), expected an int from 0 to 3 (an index, not a value)"),
        ("nearest_code", "len(distances)", "4 (line {line}), expected an int from 0 to 3"),
        ("nearest_code", "-1", "-1 (line {line}), expected an int from 0 to 3"),
        ("nearest_code", "10 ** 400", "an int far out of range (line {line}), expected an int from 0 to 3"),
        # One code of 3 numbers for each of the 5 indices.
        ("lookup", "[list(codebook[k]) for k in indices[1:]]", "4 rows (line {line}), expected 5"),
        ("lookup", "[list(codebook[k])[:2] for k in indices]", "2 values in row 0 (line {line}), expected 3"),
        ("lookup", "[codebook[k][0] for k in indices]", "a float in row 0 (line {line}), expected a list of 3 numbers"),
        (
            "lookup",
            "[[math.nan] * 3 for k in indices]",
            "nan in position 0 of row 0 (line {line}) — results must be finite numbers",
        ),
        ("lookup", "None", "None (line {line}), expected a list of 5 lists of 3 numbers"),
    ],
)
def test_the_quantisers_results_are_checked_against_its_inputs(function, returned, expected):
    shipped = {"squared_distances": DISTANCES_RETURN, "nearest_code": NEAREST_RETURN, "lookup": LOOKUP_RETURN}
    source = edit("vq.quantizer", shipped[function], f"    return {returned}")
    error = failure("vq.quantizer", source)
    line = line_of(source, f"    return {returned}")
    assert error.message == f"{function} returned " + expected.format(line=line)
    assert (error.line, error.function) == (line, function)


def test_an_edit_that_only_fits_the_small_codebook_fails_on_the_real_one_and_is_set_aside(registry):
    """Apply's codebook has 4 codes; the page's has 16, and the check counts K from the codebook it is given."""
    source = edit(
        "vq.quantizer", DISTANCES_RETURN, "    return [math.dist(vector, code) ** 2 for code in codebook[:4]]"
    )
    registry.apply("vq.quantizer", source)
    assert quantize(registry) == quantizer.quantize(VECTORS, CODEBOOK)
    error = registry.last_error
    line = line_of(source, "codebook[:4]")
    assert error.message == f"squared_distances returned 4 values (line {line}), expected 16"
    assert (error.module, registry.edited) == ("vq.quantizer", set())


def test_an_endless_loop_in_nearest_code_on_the_real_grid_is_stopped(registry):
    registry.apply(
        "vq.quantizer",
        edit("vq.quantizer", NEAREST_RETURN, "    while len(distances) > 4:\n        pass\n" + NEAREST_RETURN),
    )
    start = time.perf_counter()
    assert quantize(registry) == quantizer.quantize(VECTORS, CODEBOOK)
    assert time.perf_counter() - start < 1.0
    assert registry.last_error.message.startswith("nearest_code ran for more than 20,000 steps")


def test_an_exception_in_nearest_code_names_its_line():
    source = edit("vq.quantizer", NEAREST_RETURN, "    return distances[4]")
    error = failure("vq.quantizer", source)
    line = line_of(source, "distances[4]")
    assert error.message == f"nearest_code raised IndexError on line {line}: list index out of range"


def test_a_module_the_page_loads_later_is_imported_only_by_load(monkeypatch):
    """The VQ view's quantizer.py is not in the page until the view opens: the registry leaves it alone until then,
    yet a saved edit to it can be applied (checked, but not compared with the shipped text)."""
    monkeypatch.delitem(sys.modules, "vq.quantizer")
    registry = Registry(later={"vq.quantizer"})
    assert "vq.quantizer" not in sys.modules
    assert set(registry.original_sources) == {"vae.distribution", "vae.sample", "vae.loss", "train.schedule"}
    registry.apply("vq.quantizer", ORIGINAL["vq.quantizer"])
    assert registry.edited == {"vq.quantizer"} and "vq.quantizer" not in sys.modules
    assert registry.nearest_code([0.5, 0.5, 4.5, 5.0]) == 0
    registry.load("vq.quantizer")
    assert registry.original_sources["vq.quantizer"] == ORIGINAL["vq.quantizer"]
    assert registry.edited == {"vq.quantizer"}  # the edit in use stays in use
    registry.apply("vq.quantizer", ORIGINAL["vq.quantizer"])
    assert registry.edited == set()
    assert registry.function("nearest_code") is sys.modules["vq.quantizer"].nearest_code
