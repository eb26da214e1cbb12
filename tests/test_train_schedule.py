"""Issue 27, item 7, in CPython: the training schedule (pysrc/train/schedule.py) is live code. An edit applied through
the registry changes β, the batches or ε from the next step of a run in progress, which keeps its weights; a broken
edit is refused with a message and changes nothing; an edit that fails on a later step is set aside for the last
good code, and the run goes on."""

import pytest
from live_code_helpers import edit, failure, line_of

from live.edits import Registry
from train import loop, schedule
from training.live_runtime import run, trainer

BETA_RETURN = "    return beta\n"
ANNEAL = edit("train.schedule", BETA_RETURN, "    return beta * min(1.0, step / 100)\n")
IN_ORDER = edit(
    "train.schedule",
    '    random.Random(f"{seed}:shuffle:{epoch}").shuffle(order)\n',
    "",
)


def betas(t):
    return [s.beta for s in t.losses]


def test_annealing_beta_changes_the_run_from_the_next_step_and_keeps_the_weights():
    registry = Registry()
    shipped = trainer(loop.Settings(seed=2, beta=2.0))
    run(shipped.train(5))
    t = trainer(loop.Settings(seed=2, beta=2.0))
    t.schedule = registry
    run(t.train(2))
    assert betas(t) == [2.0, 2.0]
    registry.apply("train.schedule", ANNEAL)
    run(t.train(3))
    assert betas(t) == [2.0, 2.0, pytest.approx(0.06), pytest.approx(0.08), pytest.approx(0.1)]
    # Steps 1 to 3 saw the same weights (β weighs the loss; each step's BCE and KL are measured before it)...
    assert [(s.bce, s.kl) for s in t.losses[:3]] == [(s.bce, s.kl) for s in shipped.losses[:3]]
    # ...and the later steps went on from the weights the run had, not from new ones.
    assert [s.kl for s in t.losses[3:]] != [s.kl for s in shipped.losses[3:]]
    fresh = trainer(loop.Settings(seed=2, beta=2.0))  # what starting again with the edit would have given
    fresh.schedule = registry
    run(fresh.train(3))
    assert fresh.losses[2].kl != t.losses[2].kl


def test_an_edited_order_is_used_from_the_step_after_it_is_applied():
    registry = Registry()
    t = trainer(loop.Settings(seed=5))
    t.schedule = registry
    run(t.train(1))
    assert t.batch_indices(2) == schedule.epoch_order(5, 0, 10_000)[64:128]
    registry.apply("train.schedule", IN_ORDER)
    t.rescheduled()
    assert t.batch_indices(2) == list(range(64, 128))


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ("-beta", "beta_at returned -1.0 (line {line}); β must be a finite number, zero or more"),
        ("beta / (step - 1)", "beta_at raised ZeroDivisionError on line {line}: float division by zero"),
        ("[beta]", "beta_at returned a list (line {line}), expected a number (β)"),
        ("float('nan')", "beta_at returned nan (line {line}); β must be a finite number, zero or more"),
    ],
)
def test_a_broken_schedule_is_refused_with_its_line_and_changes_nothing(returned, message):
    source = edit("train.schedule", BETA_RETURN, f"    return {returned}\n")
    error = failure("train.schedule", source)
    line = line_of(source, f"return {returned}")
    assert (error.message, error.line, error.function) == (message.format(line=line), line, "beta_at")
    registry = Registry()
    with pytest.raises(Exception, match="beta_at"):
        registry.apply("train.schedule", source)
    assert registry.edited == set() and registry.function("beta_at") is schedule.beta_at


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    return order\n", "    return order[:-1]\n", "epoch_order returned 9 values (line {line}), expected 10"),
        ("    return order\n", "    return [i + 1 for i in order]\n", "10 in position"),
        ("for _ in range(count)]", "for _ in range(count - 1)]", "epsilon returned 127 values"),
    ],
)
def test_a_broken_order_or_epsilon_is_refused(old, new, message):
    source = edit("train.schedule", old, new)
    error = failure("train.schedule", source)
    assert message.format(line=error.line) in error.message


def test_an_edit_failing_on_a_later_step_is_set_aside_and_the_run_goes_on():
    """The checks at Apply pass (steps 1, 50 and 100,000); step 3 raises: the registry goes back to the shipped
    schedule, keeps the message for the page, and the step trains with the shipped β."""
    registry = Registry()
    fragile = edit(
        "train.schedule", BETA_RETURN, "    if step == 3:\n        raise ValueError('step 3')\n" + BETA_RETURN
    )
    registry.apply("train.schedule", fragile)
    t = trainer(loop.Settings(seed=1, beta=0.5))
    t.schedule = registry
    run(t.train(4))
    assert betas(t) == [0.5] * 4 and t.step == 4
    assert registry.edited == set()
    assert registry.last_error.message.startswith("beta_at raised ValueError on line")
