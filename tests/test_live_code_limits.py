"""Live code under CPython, where an edit is stopped or set aside: endless loops and slow lines, failures while
the page calls an edit every frame (it falls back to the last good one), and the caller's tracer, which survives."""

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "pysrc"))

from live_code_helpers import EPSILON, FRAGILE, MU, ORIGINAL, SIGMA, SIGMA_RETURN, body, edit, failure, line_of

from live import edits
from live.edits import EditError, Registry, apply_module
from vae import distribution, sample


@pytest.fixture
def registry():
    return Registry()


# ## Endless loops


def stopped_quickly(module, source):
    start = time.perf_counter()
    error = failure(module, source)
    assert time.perf_counter() - start < 3.0
    return error


@pytest.fixture
def by_steps(monkeypatch):
    """The clock far away, so that the step budget is what stops a fast loop even on a loaded machine (there the
    200,000 steps can take longer than the 0.5 s that would otherwise stop them first)."""
    monkeypatch.setattr(edits, "APPLY_SECONDS", 2.5)


@pytest.mark.usefixtures("by_steps")
def test_an_endless_loop_in_a_function_is_stopped():
    source = body("    while True:\n        pass")
    error = stopped_quickly("vae.sample", source)
    loop = line_of(source, "while True")
    assert error.line in (loop, loop + 1)
    assert error.message == (
        f"reparameterize ran for more than 200,000 steps (an endless loop?) — stopped at line {error.line}"
    )


@pytest.mark.usefixtures("by_steps")
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


@pytest.mark.usefixtures("by_steps")
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


@pytest.mark.usefixtures("by_steps")
def test_a_bare_except_that_catches_the_stop_is_still_refused():
    source = body("    try:\n        while True:\n            pass\n    except:\n        return mu")
    assert "200,000 steps" in stopped_quickly("vae.sample", source).message


# ## Runtime: the page calls edits every frame


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
