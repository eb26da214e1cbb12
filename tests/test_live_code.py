"""Live code under CPython: the learner's lessons, every way an edit can go wrong, and the fall-backs."""

import math
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parents[1] / "pysrc"))

from live.edits import SWAPPABLE, EditError, Registry, apply_module, original_source
from vae import distribution, loss, sample
from vq import quantizer

ORIGINAL = {
    module: original_source(module) for module in ("vae.distribution", "vae.sample", "vae.loss", "vq.quantizer")
}
REPARAMETERIZE_RETURN = "    return [m + s * e for m, s, e in zip(mu, sigma, epsilon, strict=True)]"
SIGMA_RETURN = "    return [math.exp(0.5 * v) for v in log_var]"
MU, SIGMA, EPSILON = [0.3, -1.2], [0.5, 2.0], [1.5, -0.4]
LOG_VAR = [-1.0, 0.8]
DISTANCES_RETURN = "    return [math.dist(vector, code) ** 2 for code in codebook]"
NEAREST_RETURN = "    return distances.index(min(distances))"
FARTHEST_RETURN = "    return distances.index(max(distances))"
LOOKUP_RETURN = "    return [list(codebook[k]) for k in indices]"
VQ = Path(__file__).parents[1] / "models" / "vq"
CODEBOOK = quantizer.parse_codebook((VQ / "codebook.json").read_text(), (VQ / "codebook.bin").read_bytes())
VECTORS = [[v + 0.01 for v in code] for code in CODEBOOK]  # each next to its own code, far from another


def edit(module, old, new):
    """The shipped module with one piece of text replaced, checked to be there exactly once."""
    assert ORIGINAL[module].count(old) == 1, old
    return ORIGINAL[module].replace(old, new)


def body(new_body, module="vae.sample", old=REPARAMETERIZE_RETURN):
    """The shipped module with one function's return line replaced by new_body (already indented)."""
    return edit(module, old, new_body)


def line_of(source, text, after=0):
    """The 1-based number of the first line holding text (after line `after`), as the editor shows it."""
    for number, line in enumerate(source.splitlines(), start=1):
        if number > after and text in line:
            return number
    raise AssertionError(f"{text!r} not in source")


def failure(module, source):
    with pytest.raises(EditError) as caught:
        apply_module(module, source)
    assert caught.value.module == module
    assert str(caught.value) == caught.value.message
    return caught.value


def state(registry):
    """Everything a failed apply must leave alone."""
    return (registry.sources(), registry.edited, {name: registry.function(name) for name in SWAPPABLE})


@pytest.fixture
def registry():
    return Registry()


# ## The lessons


def test_reparameterize_returning_mu_makes_z_stick_to_mu(registry):
    assert registry.apply("vae.sample", body("    return mu")) == ["reparameterize"]
    assert registry.reparameterize(MU, SIGMA, EPSILON) == MU
    assert registry.edited == {"vae.sample"}


def test_dropping_the_half_makes_sigma_exp_of_log_var(registry):
    registry.apply("vae.distribution", edit("vae.distribution", "math.exp(0.5 * v)", "math.exp(v)"))
    assert registry.sigma_from_log_var(LOG_VAR) == pytest.approx([math.exp(-1.0), math.exp(0.8)])


def test_scaling_sigma_by_three(registry):
    registry.apply("vae.distribution", edit("vae.distribution", "math.exp(0.5 * v)", "3 * math.exp(0.5 * v)"))
    expected = [3 * s for s in distribution.sigma_from_log_var(LOG_VAR)]
    assert registry.call("sigma_from_log_var", LOG_VAR) == pytest.approx(expected)


def test_an_edited_kl_runs_too(registry):
    registry.apply("vae.loss", edit("vae.loss", "-0.5 * (", "-1.0 * ("))
    doubled = [2 * v for v in loss.kl_divergence(MU, LOG_VAR)]
    assert registry.kl_divergence(MU, LOG_VAR) == pytest.approx(doubled)


def test_results_come_back_as_fresh_lists_of_floats():
    reparameterize = apply_module("vae.sample", body("    return (1, 2.5)")).functions["reparameterize"]
    result = reparameterize(MU, SIGMA, EPSILON)
    assert result == [1.0, 2.5]
    assert [type(v) for v in result] == [float, float]


def test_an_edit_that_changes_its_inputs_cannot_change_the_callers():
    source = body("    mu[0] = 99.0\n    return mu")
    reparameterize = apply_module("vae.sample", source).functions["reparameterize"]
    mu = list(MU)
    assert reparameterize(mu, SIGMA, EPSILON) == [99.0, MU[1]]
    assert mu == MU


def test_an_edit_may_use_the_stdlib_and_its_own_helpers(registry):
    uses = "    return [statistics.fmean([m, m]) + helper(s, e) for m, s, e in zip(mu, sigma, epsilon)]"
    source = "import statistics\n" + body(uses) + "\n\ndef helper(s, e):\n    return s * e\n"
    registry.apply("vae.sample", source)
    expected = sample.reparameterize(MU, SIGMA, EPSILON)
    assert registry.reparameterize(MU, SIGMA, EPSILON) == pytest.approx(expected)


# ## Errors, with the line to mark


def test_syntax_error_names_its_line():
    source = edit("vae.sample", "epsilon):", "epsilon)")
    error = failure("vae.sample", source)
    line = line_of(source, "def reparameterize(")
    assert error.line == line
    assert error.message == f"SyntaxError on line {line}: expected ':'"
    assert error.function is None


def test_indentation_error_is_named_as_such():
    source = body("    return mu\n        pass")
    error = failure("vae.sample", source)
    assert error.line == line_of(source, "        pass")
    assert error.message.startswith(f"IndentationError on line {error.line}: ")


def test_exception_names_function_type_line_and_text():
    source = body("    return [m / 0 for m in mu]")
    error = failure("vae.sample", source)
    line = line_of(source, "m / 0")
    assert (error.line, error.function) == (line, "reparameterize")
    assert error.message == f"reparameterize raised ZeroDivisionError on line {line}: float division by zero"


def test_exception_points_at_the_innermost_edited_line():
    source = body("    return helper(mu)") + "\n\ndef helper(mu):\n    return statistics.mean([])\n"
    source = "import statistics\n" + source
    error = failure("vae.sample", source)
    assert error.line == line_of(source, "statistics.mean([])")
    assert error.message.startswith(f"reparameterize raised StatisticsError on line {error.line}: ")


def test_a_changed_signature_points_at_the_def_line():
    source = edit("vae.sample", "def reparameterize(mu, sigma, epsilon):", "def reparameterize(mu, sigma):")
    error = failure("vae.sample", source)
    assert error.line == line_of(source, "def reparameterize(")
    assert error.message == (
        f"reparameterize raised TypeError on line {error.line}: "
        "reparameterize() takes 2 positional arguments but 3 were given"
    )


def test_a_missing_module_is_an_error_with_its_line():
    source = edit("vae.sample", "import random\n", "import random\nimport numpy_is_not_in_the_page\n")
    error = failure("vae.sample", source)
    line = line_of(source, "import numpy_is_not_in_the_page")
    assert error.line == line
    assert error.message == f"ModuleNotFoundError on line {line}: No module named 'numpy_is_not_in_the_page'"


def test_top_level_exception_has_its_line():
    source = ORIGINAL["vae.loss"] + "\nx = {}['kl']\n"
    error = failure("vae.loss", source)
    assert error.line == line_of(source, "x = {}")
    assert error.message == f"KeyError on line {error.line}: 'kl'"


def test_exit_in_the_edit_is_an_error_not_the_end_of_the_page():
    source = ORIGINAL["vae.loss"] + "\nimport sys\nsys.exit(3)\n"
    assert failure("vae.loss", source).message == f"SystemExit on line {line_of(source, 'sys.exit')}: 3"


def test_a_learners_exception_text_is_cut_short_and_counted():
    source = body("    raise ValueError('x' * 1000)")
    assert failure("vae.sample", source).message.endswith(": " + "x" * 200 + "…")
    slow = [
        "class Oops(Exception):",
        "    def __str__(self):",
        "        for _ in range(100_000):",
        "            pass",
    ]
    source = "\n".join([*slow, "        return 'slow'", "", ""]) + body("    raise Oops()")
    error = failure("vae.sample", source)
    assert error.message == f"reparameterize raised Oops on line {line_of(source, 'raise Oops')}"


def test_null_bytes_are_an_edit_error():
    assert failure("vae.sample", ORIGINAL["vae.sample"] + "\0").line is None


# ## Results the page cannot draw


@pytest.mark.parametrize("value", ["float('nan')", "math.inf", "-math.inf", "10 ** 400"])
def test_non_finite_results_are_refused(value):
    source = "import math\n" + body(f"    return [{value}, 0.0]")
    error = failure("vae.sample", source)
    line = line_of(source, f"return [{value}")
    assert error.line == line
    shown = {"float('nan')": "nan", "math.inf": "inf", "-math.inf": "-inf", "10 ** 400": "inf"}[value]
    assert error.message == (
        f"reparameterize returned {shown} in position 0 (line {line}) — results must be finite numbers"
    )


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        ("mu[0]", "a float (line {line}), expected a list of 2 numbers"),
        ("'ab'", "a str (line {line}), expected a list of 2 numbers"),
        ("None", "None (line {line}), expected a list of 2 numbers"),
        ("{0: 1.0, 1: 2.0}", "a dict (line {line}), expected a list of 2 numbers"),
        ("(m for m in mu)", "a generator (line {line}), expected a list of 2 numbers"),
        ("[1.0, 2.0, 3.0]", "3 values (line {line}), expected 2"),
        ("[1.0]", "1 value (line {line}), expected 2"),
        ("[True, 0.0]", "True in position 0 (line {line}), expected a number"),
        ("[0.0, '1']", "a str in position 1 (line {line}), expected a number"),
        ("[0.0, 1j]", "a complex in position 1 (line {line}), expected a number"),
        ("[0.0, [1.0]]", "a list in position 1 (line {line}), expected a number"),
        ("Vector(mu)", "a Vector (line {line}), expected a list of 2 numbers"),
    ],
)
def test_wrong_types_and_shapes_are_refused(returned, expected):
    source = "class Vector(list):\n    pass\n\n" + body(f"    return {returned}")
    error = failure("vae.sample", source)
    line = line_of(source, f"    return {returned}")
    assert error.message == "reparameterize returned " + expected.format(line=line)
    assert (error.line, error.function) == (line, "reparameterize")


def test_a_missing_return_says_none():
    source = body("    z = mu")
    assert failure("vae.sample", source).message.startswith("reparameterize returned None")


@pytest.mark.parametrize(
    ("new_body", "shown"),
    [("    return [-math.exp(0.5 * v) for v in log_var]", "-1.0"), ("    return log_var", "0.0")],
)
def test_sigma_must_be_positive(new_body, shown):
    source = body(new_body, "vae.distribution", SIGMA_RETURN)
    error = failure("vae.distribution", source)
    line = line_of(source, new_body.strip())
    expected = f"sigma_from_log_var returned {shown} in position 0 (line {line}); σ must be positive"
    assert error.message == expected


def test_only_sigma_must_be_positive(registry):
    registry.apply("vae.sample", body("    return [-1.0, -2.0]"))
    assert registry.reparameterize(MU, SIGMA, EPSILON) == [-1.0, -2.0]


# ## Endless loops


def stopped_quickly(module, source):
    start = time.perf_counter()
    error = failure(module, source)
    assert time.perf_counter() - start < 3.0
    return error


def test_an_endless_loop_in_a_function_is_stopped():
    source = body("    while True:\n        pass")
    error = stopped_quickly("vae.sample", source)
    loop = line_of(source, "while True")
    assert error.line in (loop, loop + 1)
    assert error.message == (
        f"reparameterize ran for more than 200,000 steps (an endless loop?) — stopped at line {error.line}"
    )


def test_an_endless_loop_at_the_top_level_is_stopped():
    source = ORIGINAL["vae.sample"] + "\nwhile True:\n    pass\n"
    error = stopped_quickly("vae.sample", source)
    loop = line_of(source, "while True")
    assert error.line in (loop, loop + 1)
    assert error.function is None
    assert error.message.startswith("the module's top-level code ran for more than 200,000 steps")


def test_slow_lines_are_stopped_by_the_clock():
    source = body("    for _ in range(100_000):\n        sum(range(3_000))\n    return mu")
    error = stopped_quickly("vae.sample", source)
    loop = line_of(source, "range(100_000)")
    assert error.line in (loop, loop + 1)
    assert error.message.startswith("reparameterize ran for more than 0.5 s (an endless loop?)")


def test_endless_recursion_is_an_error():
    source = body("    return reparameterize(mu, sigma, epsilon)")
    error = stopped_quickly("vae.sample", source)
    assert error.message.startswith("reparameterize raised RecursionError on line ")


def test_except_exception_cannot_swallow_the_stop(monkeypatch):
    monkeypatch.setattr(sample, "stop_caught", False, raising=False)
    loop = [
        "    from vae import sample as shipped",
        "    try:",
        "        while True:",
        "            pass",
        "    except Exception:",
        "        shipped.stop_caught = True",
        "        return mu",
    ]
    assert "200,000 steps" in stopped_quickly("vae.sample", body("\n".join(loop))).message
    assert sample.stop_caught is False


def test_a_bare_except_that_catches_the_stop_is_still_refused():
    source = body("    try:\n        while True:\n            pass\n    except:\n        return mu")
    assert "200,000 steps" in stopped_quickly("vae.sample", source).message


# ## The module as a whole


def test_a_module_without_the_function_is_refused():
    error = failure("vae.loss", edit("vae.loss", "def kl_divergence(", "def kl("))
    assert error.message == "the module no longer defines kl_divergence"
    assert (error.line, error.function) == (None, "kl_divergence")


def test_a_function_still_used_at_the_top_level_fails_where_it_is_used():
    """sample.py uses reparameterize as a default argument, so renaming it stops the module there."""
    source = edit("vae.sample", "def reparameterize(", "def reparam(")
    error = failure("vae.sample", source)
    assert error.line == line_of(source, "reparameterize=reparameterize")
    assert error.message == f"NameError on line {error.line}: name 'reparameterize' is not defined"


def test_a_function_replaced_by_a_value_is_refused():
    error = failure("vae.sample", ORIGINAL["vae.sample"] + "\nreparameterize = 2\n")
    assert error.message == "reparameterize is no longer a function: the module sets it to an int"


def test_an_unknown_module_is_a_programming_error():
    with pytest.raises(ValueError, match="svg"):
        apply_module("svg", "")


def test_unchanged_source_gives_back_the_shipped_functions(registry):
    applied = apply_module("vae.sample", ORIGINAL["vae.sample"] + "\n\n", ORIGINAL["vae.sample"])
    assert not applied.edited
    assert applied.functions == {"reparameterize": sample.reparameterize}
    registry.apply("vae.sample", body("    return mu"))
    assert registry.apply("vae.sample", ORIGINAL["vae.sample"]) == ["reparameterize"]
    assert registry.edited == set()
    assert registry.function("reparameterize") is sample.reparameterize


def test_the_shipped_source_without_original_counts_as_an_edit():
    applied = apply_module("vae.sample", ORIGINAL["vae.sample"])
    assert applied.edited
    assert applied.functions["reparameterize"] is not sample.reparameterize
    expected = sample.reparameterize(MU, SIGMA, EPSILON)
    assert applied.functions["reparameterize"](MU, SIGMA, EPSILON) == expected


def test_a_failed_apply_keeps_the_last_good_edit(registry):
    good = body("    return mu")
    registry.apply("vae.sample", good)
    before = state(registry)
    with pytest.raises(EditError):
        registry.apply("vae.sample", body("    return [m / 0 for m in mu]"))
    assert state(registry) == before
    assert registry.sources() == {"vae.sample": good}


def test_all_of_a_modules_functions_swap_or_none(registry):
    """quantizer.py has three swappable functions: one bad one keeps all three out."""
    farthest = edit("vq.quantizer", NEAREST_RETURN, FARTHEST_RETURN)
    with pytest.raises(EditError) as caught:
        registry.apply("vq.quantizer", farthest.replace(LOOKUP_RETURN, "    return []"))
    assert caught.value.function == "lookup"
    assert registry.function("nearest_code") is quantizer.nearest_code
    assert registry.edited == set()
    assert sorted(registry.apply("vq.quantizer", farthest)) == ["lookup", "nearest_code", "squared_distances"]
    assert registry.nearest_code([0.5, 0.5, 4.5, 5.0]) == 3


# ## Runtime: the page calls edits every frame


FRAGILE = "    if mu[0] > 100:\n        raise ValueError('too far')\n    return [m + 1 for m in mu]"


def test_a_guarded_function_checks_every_call():
    reparameterize = apply_module("vae.sample", body(FRAGILE)).functions["reparameterize"]
    assert reparameterize(MU, SIGMA, EPSILON) == [m + 1 for m in MU]
    with pytest.raises(EditError, match=r"reparameterize raised ValueError on line \d+: too far"):
        reparameterize([1000.0, 0.0], SIGMA, EPSILON)


def test_runtime_failure_falls_back_to_the_previous_good_edit(registry):
    previous = body("    return mu")
    registry.apply("vae.sample", previous)
    fragile = body(FRAGILE)
    registry.apply("vae.sample", fragile)
    assert registry.reparameterize(MU, SIGMA, EPSILON) == [m + 1 for m in MU]
    assert registry.last_error is None
    far = [1000.0, 0.0]
    assert registry.reparameterize(far, SIGMA, EPSILON) == far
    error = registry.last_error
    assert (error.function, error.module) == ("reparameterize", "vae.sample")
    assert error.line == line_of(fragile, "raise")
    assert registry.sources() == {"vae.sample": previous}
    assert registry.edited == {"vae.sample"}


def test_runtime_failure_falls_back_to_the_original_at_last(registry):
    registry.apply("vae.sample", body(FRAGILE))
    registry.apply("vae.distribution", edit("vae.distribution", "math.exp(0.5 * v)", "math.exp(v)"))
    far = [1000.0, 0.0]
    assert registry.reparameterize(far, SIGMA, EPSILON) == sample.reparameterize(far, SIGMA, EPSILON)
    assert registry.last_error.message.startswith("reparameterize raised ValueError")
    assert registry.function("reparameterize") is sample.reparameterize
    assert registry.edited == {"vae.distribution"}


def test_the_newest_failure_is_the_one_reported(registry):
    registry.apply("vae.sample", body("    if mu[0] > 100:\n        raise KeyError('older')\n    return mu"))
    registry.apply("vae.sample", body(FRAGILE))
    registry.reparameterize([1000.0, 0.0], SIGMA, EPSILON)
    assert "too far" in registry.last_error.message
    assert registry.edited == set()


def test_a_bad_value_at_runtime_falls_back_too(registry):
    capped = "    return [math.exp(0.5 * v) if v < 100 else math.inf for v in log_var]"
    registry.apply("vae.distribution", body(capped, "vae.distribution", SIGMA_RETURN))
    assert registry.sigma_from_log_var([8.0, 0.0]) == distribution.sigma_from_log_var([8.0, 0.0])
    assert registry.last_error is None
    assert registry.sigma_from_log_var([200.0, 0.0]) == distribution.sigma_from_log_var([200.0, 0.0])
    assert "results must be finite numbers" in registry.last_error.message


def test_an_endless_loop_at_runtime_is_stopped_with_the_smaller_budget(registry):
    registry.apply("vae.sample", body("    while mu[0] > 100:\n        pass\n    return mu"))
    start = time.perf_counter()
    assert registry.reparameterize([1000.0, 0.0], SIGMA, EPSILON) == sample.reparameterize(
        [1000.0, 0.0], SIGMA, EPSILON
    )
    assert time.perf_counter() - start < 1.0
    assert registry.last_error.message.startswith("reparameterize ran for more than 20,000 steps")


def test_a_good_apply_clears_its_modules_error_only(registry):
    registry.apply("vae.sample", body(FRAGILE))
    registry.reparameterize([1000.0, 0.0], SIGMA, EPSILON)
    registry.apply("vae.loss", ORIGINAL["vae.loss"] + "\n# tidy\n")
    assert registry.last_error is not None
    registry.apply("vae.sample", body("    return mu"))
    assert registry.last_error is None


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
    assert set(registry.original_sources) == {"vae.distribution", "vae.sample", "vae.loss"}
    registry.apply("vq.quantizer", ORIGINAL["vq.quantizer"])
    assert registry.edited == {"vq.quantizer"} and "vq.quantizer" not in sys.modules
    assert registry.nearest_code([0.5, 0.5, 4.5, 5.0]) == 0
    registry.load("vq.quantizer")
    assert registry.original_sources["vq.quantizer"] == ORIGINAL["vq.quantizer"]
    assert registry.edited == {"vq.quantizer"}  # the edit in use stays in use
    registry.apply("vq.quantizer", ORIGINAL["vq.quantizer"])
    assert registry.edited == set()
    assert registry.function("nearest_code") is sys.modules["vq.quantizer"].nearest_code


# ## Registry bookkeeping


def test_reset_restores_the_originals(registry):
    sample_edit = body("    return mu")
    registry.apply("vae.sample", sample_edit)
    registry.apply("vae.loss", ORIGINAL["vae.loss"] + "\n# tidy\n")
    registry.reset("vae.loss")
    assert registry.function("kl_divergence") is loss.kl_divergence
    assert registry.edited == {"vae.sample"}
    assert registry.sources() == {"vae.sample": sample_edit}
    registry.apply("vae.sample", body(FRAGILE))
    registry.reparameterize([1000.0, 0.0], SIGMA, EPSILON)
    registry.reset()
    assert {name: registry.function(name) for name in SWAPPABLE} == {
        "sigma_from_log_var": distribution.sigma_from_log_var,
        "reparameterize": sample.reparameterize,
        "kl_divergence": loss.kl_divergence,
        "squared_distances": quantizer.squared_distances,
        "nearest_code": quantizer.nearest_code,
        "lookup": quantizer.lookup,
    }
    assert (registry.edited, registry.sources(), registry.last_error) == (set(), {}, None)


def test_reset_of_a_module_clears_its_error(registry):
    registry.apply("vae.sample", body(FRAGILE))
    registry.reparameterize([1000.0, 0.0], SIGMA, EPSILON)
    registry.reset("vae.loss")
    assert registry.last_error is not None
    registry.reset("vae.sample")
    assert registry.last_error is None


def test_the_registry_starts_with_the_shipped_code(registry):
    assert registry.original_sources == ORIGINAL
    assert registry.reparameterize(MU, SIGMA, EPSILON) == sample.reparameterize(MU, SIGMA, EPSILON)
    assert registry.kl_divergence(MU, LOG_VAR) == loss.kl_divergence(MU, LOG_VAR)
    assert (registry.edited, registry.sources(), registry.last_error) == (set(), {}, None)
    with pytest.raises(AttributeError, match="gaussian_pdf"):
        registry.gaussian_pdf  # noqa: B018


# ## The tracer of whoever called us survives


def sentinel(frame, event, arg):
    return None


@pytest.mark.parametrize(
    "source",
    [
        body("    return mu"),
        body("    return mu)"),
        body("    return [m / 0 for m in mu]"),
        body("    return [float('nan'), 0.0]"),
        body("    while True:\n        pass"),
        body("    try:\n        while True:\n            pass\n    except:\n        return mu"),
        ORIGINAL["vae.sample"] + "\nwhile True:\n    pass\n",
    ],
)
def test_the_previous_tracer_is_restored(source, registry):
    before = sys.gettrace()
    sys.settrace(sentinel)
    try:
        try:
            registry.apply("vae.sample", source)
            registry.reparameterize(MU, SIGMA, EPSILON)
        except EditError:
            pass
        assert sys.gettrace() is sentinel
    finally:
        sys.settrace(before)


def test_the_previous_tracer_is_restored_after_a_runtime_fall_back(registry):
    registry.apply("vae.sample", body(FRAGILE))
    before = sys.gettrace()
    sys.settrace(sentinel)
    try:
        registry.reparameterize([1000.0, 0.0], SIGMA, EPSILON)
        assert sys.gettrace() is sentinel
    finally:
        sys.settrace(before)
    assert registry.last_error is not None


# ## Any text at all


@st.composite
def edited_sources(draw):
    """A module and either random text or its shipped source with a random stretch rewritten."""
    module = draw(st.sampled_from(sorted(ORIGINAL)))
    if draw(st.booleans()):
        return module, draw(st.text())
    source = ORIGINAL[module]
    start = draw(st.integers(0, len(source)))
    end = draw(st.integers(start, min(len(source), start + 30)))
    return module, source[:start] + draw(st.text(max_size=12)) + source[end:]


@settings(max_examples=150, deadline=None)
@given(edited_sources())
def test_any_text_is_applied_or_refused_with_an_edit_error(edited):
    module, source = edited
    registry = Registry()
    registry.apply("vae.sample", body("    return mu"))
    before = state(registry)
    try:
        registry.apply(module, source)
    except EditError as error:
        assert error.message
        assert error.module == module
        assert error.line is None or error.line >= 1
        assert state(registry) == before
