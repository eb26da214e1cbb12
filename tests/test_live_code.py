"""Live code under CPython: the learner's lessons, every way an edit can go wrong, and the results the page cannot
draw (stopped edits and fall-backs: test_live_code_limits.py; whole modules: test_live_code_modules.py; the
quantiser: test_live_code_quantizer.py)."""

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "pysrc"))

from live_code_helpers import EPSILON, LOG_VAR, MU, ORIGINAL, SIGMA, SIGMA_RETURN, body, edit, failure, line_of

from live.edits import Registry, apply_module
from vae import distribution, loss, sample


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
