"""Live code under CPython, a module at a time: what a module's edit must keep, the registry's bookkeeping (all of
a module's functions swap or none, reset), and any text at all applied or refused with an edit error."""

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parents[1] / "pysrc"))

from live_code_helpers import (
    EPSILON,
    FARTHEST_RETURN,
    FRAGILE,
    LOG_VAR,
    LOOKUP_RETURN,
    MU,
    NEAREST_RETURN,
    ORIGINAL,
    SIGMA,
    body,
    edit,
    failure,
    line_of,
    state,
)

from live.edits import SWAPPABLE, EditError, Registry, apply_module
from train import schedule
from vae import distribution, loss, sample
from vq import quantizer


@pytest.fixture
def registry():
    return Registry()


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
        "beta_at": schedule.beta_at,
        "epoch_order": schedule.epoch_order,
        "epsilon": schedule.epsilon,
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
