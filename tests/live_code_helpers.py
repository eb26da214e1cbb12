"""The shipped sources and the small helpers the live-code tests share: an edit of one line, where a line is, and
what a failed apply must leave alone."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "pysrc"))

from live.edits import SWAPPABLE, EditError, apply_module, original_source
from vq import quantizer

ORIGINAL = {
    module: original_source(module)
    for module in ("vae.distribution", "vae.sample", "vae.loss", "vq.quantizer", "train.schedule")
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


FRAGILE = "    if mu[0] > 100:\n        raise ValueError('too far')\n    return [m + 1 for m in mu]"
