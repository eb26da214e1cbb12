"""What each training step is given: its β, its batch's digits and its ε. Edit any of the three in the Source panel
and press Apply: the run in progress takes the new code from its next step and keeps its weights.

Anneal β, for example: `return beta * min(1.0, step / 100)` weighs the KL term in over the first 100 steps, so the
codes spread out before the prior pulls them in. β must stay a number of zero or more.

Every choice is a function of the seed and the step (or the epoch) alone, never of what ran before, so a run is
reproducible, and going back to an earlier step after a bad learning rate needs no saved random state.
"""

import random


def beta_at(step, beta):
    """The weight of the KL term at step `step` (1 for the first), given the β the learner picked."""
    return beta


def epoch_order(seed, epoch, count):
    """The order in which epoch `epoch` (0 for the first) visits the `count` training digits; the loop cuts it into
    batches of 64, and the last few digits that do not fill a batch wait for another epoch's order."""
    order = list(range(count))
    random.Random(f"{seed}:shuffle:{epoch}").shuffle(order)
    return order


def epsilon(seed, step, count):
    """The ε ~ N(0, I) of step `step`: `count` numbers, two per digit of the batch (z = μ + σ·ε)."""
    rng = random.Random(f"{seed}:epsilon:{step}")
    return [rng.gauss(0.0, 1.0) for _ in range(count)]
