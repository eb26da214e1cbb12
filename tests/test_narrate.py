"""The page in words (narrate) and the nearest-neighbour search behind it (PointIndex.nearest), under CPython,
against a plain sort over the real latent map."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from page.artifacts import parse_latent_map
from vae import narrate
from vae.latent_plot import PointIndex

MODELS = Path(__file__).resolve().parents[1] / "models"
MU, LABELS, _ = parse_latent_map((MODELS / "latent_map.json").read_text(), (MODELS / "latent_map.bin").read_bytes())
INDEX = PointIndex(MU)


def brute_nearest(points, centre, k):
    """The k nearest by a full sort in numpy (ties to the lower index): the definition the index must meet."""
    d = ((np.asarray(points, dtype=float) - np.asarray(centre, dtype=float)) ** 2).sum(axis=1)
    return list(np.lexsort((np.arange(len(d)), d))[:k])


@pytest.mark.parametrize("centre", [(0.0, 0.0), (1.43, 1.13), (-2.5, 0.7), (4.4, -4.4), (-30.0, 12.0)])
def test_nearest_on_the_real_map_is_a_full_sort(centre):
    assert INDEX.nearest(centre, narrate.K) == brute_nearest(MU, centre, narrate.K)


coordinate = st.floats(-3, 3, allow_nan=False).map(lambda v: round(v, 2))  # rounding makes exact ties likely


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=60),
    st.tuples(st.floats(-5, 5, allow_nan=False), st.floats(-5, 5, allow_nan=False)),
    st.integers(1, 70),
    st.sampled_from([0.1, 0.25, 1.0]),
)
def test_nearest_matches_a_full_sort(points, centre, k, cell):
    assert PointIndex(points, cell=cell).nearest(centre, k) == brute_nearest(points, centre, k)


def test_nearest_refuses_bad_queries():
    with pytest.raises(ValueError, match="k must be at least 1"):
        INDEX.nearest((0.0, 0.0), 0)
    with pytest.raises(ValueError, match="must be finite"):
        INDEX.nearest((float("nan"), 0.0), 10)


def test_vote_and_phrase():
    assert narrate.vote([7, 7, 1, 7]) == (7, 3)
    assert narrate.vote([3, 5, 5, 3]) == (3, 2)  # a tie goes to the digit met first (nearest)
    assert narrate.nearest_phrase([7] * 9 + [1]) == "mostly 7s (9 of 10)"
    assert narrate.nearest_phrase([2] * 10) == "all 2s (10 of 10)"
    assert narrate.nearest_phrase([3, 5, 3, 5, 8, 3, 5, 3, 5, 8]) == "a mix, most often 3s (4 of 10)"
    assert narrate.nearest_phrase([4] * 5 + [9] * 5) == "a mix, most often 4s (5 of 10)"
    with pytest.raises(ValueError, match="no neighbours"):
        narrate.vote([])


def test_sentences():
    labels = [7] * 9 + [1]
    assert narrate.encoding_sentence([1.4321, 1.129], [0.0449, 0.061], labels) == (
        "Encoded as a Gaussian centred at z₁ 1.43, z₂ 1.13, spread 0.04 by 0.06; "
        "the nearest training digits are mostly 7s (9 of 10)."
    )
    assert narrate.encoding_sentence([-0.004, -2.5], [1.0, 0.5]) == (
        "Encoded as a Gaussian centred at z₁ 0.00, z₂ −2.50, spread 1.00 by 0.50."
    )
    assert narrate.z_sentence([0.5, -1.25], "pinned", [3] * 6 + [5] * 4) == (
        "z pinned at z₁ 0.50, z₂ −1.25; the training digits nearest to it are mostly 3s (6 of 10)."
    )
    assert narrate.nearest_line(labels) == "Nearest training digits to μ: mostly 7s (9 of 10)."


def test_bad_numbers_are_refused():
    with pytest.raises(ValueError, match="non-finite value nan"):
        narrate.encoding_sentence([float("nan"), 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="expected a 2-D latent vector, got 3"):
        narrate.z_sentence([0.0, 0.0, 0.0], "pinned")


def test_the_samples_sentence_says_why_they_look_alike_or_not():
    tight = narrate.samples_sentence([0.02, 0.04])
    assert "σ is only 0.02 by 0.04" in tight and "within 0.04 by 0.08 of μ" in tight and "almost the same" in tight
    wide = narrate.samples_sentence([0.5, 0.9])
    assert "σ is 0.50 by 0.90" in wide and "within 1.00 by 1.80 of μ" in wide and "differ" in wide
    with pytest.raises(ValueError):
        narrate.samples_sentence([float("nan"), 0.1])
