"""The PixelCNN prior over the VQ-VAE's codes: the page's sampler (pysrc/prior.py) under CPython, and the shipped
models/vq/pixelcnn.onnx with onnxruntime: its masks, and the model card's figures recomputed from the files.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re

import numpy as np
import pytest

from training.evaluate import session
from training.mnist import REPO
from training.vq_evaluate import encode, grid_codes, prior_logits, prior_nll_bits, read_codebook
from vq import prior

VQ = REPO / "models" / "vq"
K = 16


def sample(network, seed, num_codes=K):
    """A grid from the page's sampler, driven by `network` (49·K one-hot numbers → 49·K logits)."""
    steps = prior.sampler(random.Random(seed), num_codes)
    _, codes = next(steps)
    try:
        while True:
            _, codes = steps.send(network(codes))
    except StopIteration as done:
        return done.value


def shipped_network():
    pixelcnn = session(VQ / "pixelcnn.onnx")

    def run(codes):
        (logits,) = pixelcnn.run(["logits"], {"codes": np.asarray(codes, np.float32).reshape(1, 7, 7, K)})
        return logits.reshape(-1).tolist()

    return run


# ## The pure sampler


def test_softmax_is_a_distribution_and_keeps_the_order():
    p = prior.softmax([1.0, 3.0, -2.0, 1000.0])  # a huge logit must not overflow
    assert sum(p) == pytest.approx(1.0) and p[3] == pytest.approx(1.0)
    p = prior.softmax([0.0, math.log(3.0)])
    assert p == pytest.approx([0.25, 0.75])


def test_draw_follows_the_probabilities():
    rng = random.Random(0)
    counts = np.bincount([prior.draw([0.1, 0.0, 0.6, 0.3], rng) for _ in range(20_000)], minlength=4)
    assert counts[1] == 0
    assert counts / counts.sum() == pytest.approx([0.1, 0.0, 0.6, 0.3], abs=0.015)
    assert prior.draw([1.0], random.Random(5)) == 0


def test_one_hot_is_zero_where_nothing_is_drawn():
    codes = prior.one_hot([3, None, *[None] * 46, 15], K)
    assert len(codes) == 49 * K and sum(codes) == 2
    assert codes[3] == 1.0 and codes[48 * K + 15] == 1.0


def test_the_sampler_draws_in_raster_order_from_each_cells_logits():
    """A network that makes code (cell mod K) certain at every cell, and checks what the sampler showed it."""
    seen = []

    def network(codes):
        drawn = [k for cell in range(49) for k in range(K) if codes[cell * K + k] == 1.0]
        seen.append(drawn)
        return [0.0 if k == cell % K else -1e4 for cell in range(49) for k in range(K)]

    grid = sample(network, seed=1)
    assert grid == [cell % K for cell in range(49)]
    assert seen == [[cell % K for cell in range(n)] for n in range(49)]  # cell n sees exactly the n before it


def test_a_seed_gives_one_grid():
    def network(codes):
        return [0.0] * (49 * K)  # uniform

    assert sample(network, 7) == sample(network, 7) != sample(network, 8)


@pytest.mark.parametrize(
    ("flat", "named"),
    [
        ([0.0] * (49 * 8), "gave 392 numbers, expected 784 (7×7 cells of 16)"),
        ([math.nan] * (49 * K), "gave non-finite logits"),
    ],
)
def test_a_wrong_output_is_named(flat, named):
    steps = prior.sampler(random.Random(0), K, "models/vq/pixelcnn.onnx")
    next(steps)
    with pytest.raises(prior.PriorError, match=re.escape(named)) as error:
        steps.send(flat)
    assert str(error.value).startswith("models/vq/pixelcnn.onnx ")


# ## The shipped prior


@pytest.fixture(scope="module")
def card():
    return json.loads((VQ / "model_card.json").read_text())


def test_each_cells_logits_depend_only_on_the_cells_before_it():
    """The masks, in the shipped file: changing cell i changes no logits of cells 0 … i."""
    pixelcnn = session(VQ / "pixelcnn.onnx")
    grids = np.random.default_rng(0).integers(0, K, (49, 7, 7))
    changed = grids.copy()
    for cell in range(49):
        changed[cell].flat[cell] = (grids[cell].flat[cell] + 1) % K
    before = prior_logits(pixelcnn, grids).reshape(49, 49, K)
    after = prior_logits(pixelcnn, changed).reshape(49, 49, K)
    for cell in range(49):
        assert np.array_equal(before[cell, : cell + 1], after[cell, : cell + 1]), cell
    assert any(not np.array_equal(before[c, c + 1 :], after[c, c + 1 :]) for c in range(48)), "it looks back at all"


def test_model_card_nll_is_the_shipped_files(card, test):
    """Recomputed: the codes of the 10,000 test digits under the ONNX prior. The card used the page's quantiser
    (pysrc/quantizer.py, 7.8 million distances in Python); numpy's argmin gives the same codes, checked on 500 of
    them, in a fraction of the time. And the prior must beat a uniform one by far: under half its 4 bits per code."""
    encoded = encode(session(VQ / "encoder.onnx"), test.images).astype(np.float64)
    codebook = read_codebook(VQ).astype(np.float64)
    codes = (np.square(encoded[..., None, :] - codebook).sum(axis=-1)).argmin(axis=-1)
    assert np.array_equal(codes[:500], grid_codes(VQ, test.images[:500]))
    m = card["prior"]["metrics"]
    bits = prior_nll_bits(VQ, codes)
    assert m["test_nll_bits_per_code"] == pytest.approx(bits, rel=1e-6)
    assert m["test_nll_bits_per_grid"] == pytest.approx(49 * bits, rel=1e-6)
    assert m["uniform_bits_per_code"] == math.log2(K) == 4.0
    assert bits < 0.5 * m["uniform_bits_per_code"]


def test_model_card_records_the_prior_and_its_files(card):
    p = card["prior"]
    assert p["command"].split()[:3] == ["python", "-m", "training"]
    assert isinstance(p["seed"], int) and p["epochs"] >= 1 and p["wall_time_s"] > 0
    assert p["metrics"]["train_nll_nats_per_code"] < math.log(K)
    assert 0 <= p["metrics"]["onnx_vs_keras_max_abs_diff_logits"] <= 1e-4
    for name, digest in p["artifacts"].items():
        assert hashlib.sha256((VQ / name).read_bytes()).hexdigest() == digest, name
    # It was trained on the codes of the shipped VQ-VAE, not of an earlier one.
    assert p["codes_from"] == {name: card["artifacts"][name] for name in ("encoder.onnx", "codebook.bin")}
    text = (VQ / "MODEL_CARD.md").read_text()
    assert f"**{p['metrics']['test_nll_bits_per_code']:.3f}** (uniform prior: 4)" in text
    assert all(digest in text for digest in [*p["artifacts"].values(), *p["codes_from"].values()])


def test_prior_samples_use_several_codes(card):
    """Samples from the shipped prior look like the encoder's grids: background codes and a handful of others."""
    network = shipped_network()
    grids = [sample(network, seed) for seed in range(4)]
    assert all(4 <= len(set(grid)) <= K for grid in grids), grids
    assert len({tuple(grid) for grid in grids}) == 4
