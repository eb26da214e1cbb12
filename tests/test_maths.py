"""The maths of the pure core against closed forms: σ from log σ², the Gaussian, the reparameterization trick and
the loss (BCE with Keras's clipping, the closed-form KL, the negative ELBO), plus a statistical check that the
seeded samples really are N(μ, σ²)."""

import math
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pysrc"))

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vae.distribution import contour_ellipses, curve_domain, gaussian_pdf, pdf_curve, sigma_from_log_var
from vae.loss import P_MAX, P_MIN, kl_divergence, negative_elbo, pixel_bce, reconstruction_bce
from vae.sample import choose_z, draw_epsilon, epsilon_for, reparameterize

finite = st.floats(min_value=-50, max_value=50, allow_nan=False)
log_vars = st.floats(min_value=-12, max_value=12, allow_nan=False)
sigmas = st.floats(min_value=1e-3, max_value=30, allow_nan=False)
probability = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
FAST = settings(max_examples=60, deadline=None)


def simpson(f, a, b, n=4000):
    """Composite Simpson's rule with n (even) intervals."""
    h = (b - a) / n
    total = f(a) + f(b)
    total += 4 * math.fsum(f(a + i * h) for i in range(1, n, 2))
    total += 2 * math.fsum(f(a + i * h) for i in range(2, n, 2))
    return total * h / 3


# ---- σ = exp(½ log σ²) ----


@pytest.mark.parametrize(
    ("log_var", "expected"),
    [
        (0.0, 1.0),
        (2 * math.log(3.0), 3.0),
        (2 * math.log(0.25), 0.25),
        (1.0, math.sqrt(math.e)),
        (-1.0, 1 / math.sqrt(math.e)),
        (-40.0, math.exp(-20.0)),
        (40.0, math.exp(20.0)),
        (-700.0, math.exp(-350.0)),
        (700.0, math.exp(350.0)),
        (1400.0, math.exp(700.0)),
        (-1400.0, math.exp(-700.0)),
    ],
)
def test_sigma_closed_forms(log_var, expected):
    (sigma,) = sigma_from_log_var([log_var])
    assert sigma == pytest.approx(expected, rel=1e-12)
    assert sigma > 0


@FAST
@given(st.lists(st.floats(min_value=-1000, max_value=1000, allow_nan=False), min_size=1, max_size=8))
def test_sigma_is_positive_and_squares_back_to_the_variance(log_var):
    sigma = sigma_from_log_var(log_var)
    assert len(sigma) == len(log_var)
    for s, lv in zip(sigma, log_var, strict=True):
        assert s > 0 and math.isfinite(s)
        assert 2 * math.log(s) == pytest.approx(lv, abs=1e-9)


def test_sigma_of_nothing_is_nothing():
    assert sigma_from_log_var([]) == []


# ---- the Gaussian density ----


@pytest.mark.parametrize(("mu", "sigma"), [(0.0, 1.0), (2.5, 0.3), (-4.0, 2.0), (0.1, 0.05), (10.0, 7.0)])
def test_gaussian_pdf_integrates_to_one(mu, sigma):
    total = simpson(lambda x: gaussian_pdf(x, mu, sigma), mu - 12 * sigma, mu + 12 * sigma)
    assert total == pytest.approx(1.0, abs=1e-9)
    # and its mean and variance are μ and σ²
    mean = simpson(lambda x: x * gaussian_pdf(x, mu, sigma), mu - 12 * sigma, mu + 12 * sigma)
    var = simpson(lambda x: (x - mu) ** 2 * gaussian_pdf(x, mu, sigma), mu - 12 * sigma, mu + 12 * sigma)
    assert mean == pytest.approx(mu, abs=1e-8 * max(1.0, abs(mu)))
    assert var == pytest.approx(sigma**2, rel=1e-8)


def test_gaussian_pdf_known_values():
    assert gaussian_pdf(0.0, 0.0, 1.0) == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-15)
    assert gaussian_pdf(1.0, 0.0, 1.0) == pytest.approx(math.exp(-0.5) / math.sqrt(2 * math.pi), rel=1e-15)
    assert gaussian_pdf(3.0, 1.0, 2.0) == pytest.approx(math.exp(-0.5) / (2 * math.sqrt(2 * math.pi)), rel=1e-15)


@FAST
@given(finite, finite, sigmas)
def test_gaussian_pdf_matches_closed_form(x, mu, sigma):
    expected = math.exp(-((x - mu) ** 2) / (2 * sigma**2)) / math.sqrt(2 * math.pi * sigma**2)
    got = gaussian_pdf(x, mu, sigma)
    assert got >= 0
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-300)
    # symmetric about μ
    assert gaussian_pdf(2 * mu - x, mu, sigma) == pytest.approx(got, rel=1e-9, abs=1e-300)


@FAST
@given(finite, sigmas, st.floats(-60, 60), st.floats(0.1, 60), st.integers(2, 300))
def test_pdf_curve_endpoints_and_spacing(mu, sigma, lo, width, n):
    hi = lo + width
    curve = pdf_curve(mu, sigma, lo, hi, n)
    assert len(curve) == n
    assert curve[0][0] == lo
    assert curve[-1][0] == pytest.approx(hi, rel=1e-12, abs=1e-12)
    xs = [x for x, _ in curve]
    assert all(b > a for a, b in itertools.pairwise(xs))
    step = width / (n - 1)
    for i, (x, y) in enumerate(curve):
        assert x == pytest.approx(lo + i * step, abs=1e-9)
        assert y == gaussian_pdf(x, mu, sigma)


def test_pdf_curve_default_has_80_points_and_peaks_at_mu():
    curve = pdf_curve(0.0, 1.0, -3.95, 3.95)
    assert len(curve) == 80
    peak = max(curve, key=lambda p: p[1])
    assert abs(peak[0]) <= 0.1
    assert curve[0][1] == pytest.approx(curve[-1][1], rel=1e-12)


@FAST
@given(
    st.lists(st.tuples(finite, sigmas), min_size=1, max_size=6),
    st.lists(st.floats(-100, 100), max_size=4),
)
def test_curve_domain_holds_every_curve_and_marked_value(curves, marks):
    centres = [c for c, _ in curves]
    spreads = [s for _, s in curves]
    lo, hi = curve_domain(centres, spreads, at=marks)
    assert lo == -hi
    assert hi >= 3.0
    for c, s in curves:
        assert lo <= c - 3.5 * s and c + 3.5 * s <= hi
    for a in marks:
        assert lo <= a <= hi
        if a:
            assert abs(a) < hi  # strictly inside, so a marker is never drawn on the edge


def test_curve_domain_minimum_and_exact_reach():
    assert curve_domain([0.0, 0.0], [0.1, 0.2]) == (-3.0, 3.0)
    assert curve_domain([1.0], [2.0]) == (-8.0, 8.0)  # |1| + 3.5·2
    assert curve_domain([-5.0], [1.0]) == (-8.5, 8.5)
    _lo, hi = curve_domain([0.0], [0.1], at=[10.0])
    assert hi == pytest.approx(11.0)
    with pytest.raises(ValueError):
        curve_domain([0.0, 1.0], [1.0])


@FAST
@given(finite, finite, sigmas, sigmas)
def test_contour_radii_are_k_sigma(mx, my, sx, sy):
    ellipses = contour_ellipses([mx, my], [sx, sy])
    assert len(ellipses) == 3
    for k, (cx, cy, rx, ry) in zip((1, 2, 3), ellipses, strict=True):
        assert (cx, cy) == (mx, my)
        assert rx == pytest.approx(k * sx) and ry == pytest.approx(k * sy)
    assert contour_ellipses([0, 0], [1, 2], levels=(0.5,)) == [(0, 0, 0.5, 1.0)]


# ---- the reparameterization trick ----


@FAST
@given(st.lists(st.tuples(finite, sigmas, finite), min_size=1, max_size=8))
def test_reparameterize_closed_form(rows):
    mu, sigma, eps = (list(c) for c in zip(*rows, strict=True))
    z = reparameterize(mu, sigma, eps)
    assert z == [m + s * e for m, s, e in rows]


def test_reparameterize_small_examples():
    assert reparameterize([1.0, -2.0], [0.5, 3.0], [2.0, -1.0]) == [2.0, -5.0]
    assert reparameterize([1.0, 2.0], [1.0, 1.0], [0.0, 0.0]) == [1.0, 2.0]
    with pytest.raises(ValueError):
        reparameterize([1.0, 2.0], [1.0], [0.0, 0.0])


@pytest.mark.parametrize(("mu", "sigma"), [(0.0, 1.0), (1.5, 0.2), (-3.0, 2.5)])
def test_seeded_samples_are_distributed_as_n_mu_sigma(mu, sigma):
    """20,000 samples, one per seed: the sample mean and std lie within 5 standard errors of μ and σ."""
    n = 20_000
    samples = [z for seed in range(n) for z in reparameterize([mu, -mu], [sigma, 2 * sigma], draw_epsilon(seed, 2))]
    for dim, (m, s) in enumerate(((mu, sigma), (-mu, 2 * sigma))):
        values = samples[dim::2]
        assert len(values) == n
        mean, std = statistics.fmean(values), statistics.stdev(values)
        assert abs(mean - m) < 5 * s / math.sqrt(n)
        # the standard error of a sample std of a normal is σ/√(2(n−1))
        assert abs(std - s) < 5 * s / math.sqrt(2 * (n - 1))
    # and the two dimensions are uncorrelated
    first, second = samples[0::2], samples[1::2]
    assert abs(statistics.correlation(first, second)) < 5 / math.sqrt(n)


def test_draw_epsilon_is_deterministic_per_seed():
    assert draw_epsilon(7) == draw_epsilon(7)
    assert draw_epsilon(7, 5) == draw_epsilon(7, 5)
    assert len(draw_epsilon(7)) == 2 and len(draw_epsilon(7, 5)) == 5
    assert draw_epsilon(7) != draw_epsilon(8)
    assert len({tuple(draw_epsilon(s)) for s in range(200)}) == 200
    assert all(math.isfinite(e) for s in range(200) for e in draw_epsilon(s, 3))


@FAST
@given(st.lists(st.tuples(finite, sigmas, finite), min_size=1, max_size=6))
def test_epsilon_for_inverts_reparameterize(rows):
    mu, sigma, eps = (list(c) for c in zip(*rows, strict=True))
    z = reparameterize(mu, sigma, eps)
    back = epsilon_for(z, mu, sigma)
    for e, b, s, m in zip(eps, back, sigma, mu, strict=True):
        # z = μ + σε was rounded once; dividing that rounding by σ bounds the error in ε
        assert b == pytest.approx(e, abs=4e-16 * (abs(m) + abs(s * e) + 1) / s)
    assert reparameterize(mu, sigma, epsilon_for(z, mu, sigma)) == pytest.approx(z, abs=1e-12)


def test_epsilon_for_small_example():
    assert epsilon_for([3.0, -1.0], [1.0, 1.0], [2.0, 0.5]) == [1.0, -4.0]


def _consistent(mu, sigma, epsilon, z):
    for m, s, e, zi in zip(mu, sigma, epsilon, z, strict=True):
        assert zi == pytest.approx(m + s * e, rel=1e-12, abs=1e-12)


@FAST
@given(
    st.tuples(finite, finite),
    st.tuples(sigmas, sigmas),
    st.integers(0, 2**31 - 1),
    st.none() | st.tuples(finite, finite),
    st.none() | st.tuples(finite, finite),
)
def test_choose_z_priorities_and_consistency(mu, sigma, seed, pinned, hover):
    mu, sigma = list(mu), list(sigma)
    pinned = list(pinned) if pinned is not None else None
    hover = list(hover) if hover is not None else None
    epsilon, z = choose_z(mu, sigma, seed, pinned_z=pinned, hover_z=hover)
    if hover is not None:
        assert z == hover
    elif pinned is not None:
        assert z == pinned
    else:
        assert epsilon == draw_epsilon(seed, 2)
        assert z == reparameterize(mu, sigma, epsilon)
    _consistent(mu, sigma, epsilon, z)


def test_choose_z_returns_a_copy_and_uses_the_given_reparameterize():
    pinned = [1.0, 2.0]
    _, z = choose_z([0.0, 0.0], [1.0, 1.0], 3, pinned_z=pinned)
    z[0] = 99.0
    assert pinned == [1.0, 2.0]
    calls = []

    def spy(mu, sigma, eps):
        calls.append((mu, sigma, eps))
        return [42.0, 43.0]

    _eps, z = choose_z([0.0, 0.0], [1.0, 1.0], 3, reparameterize=spy)
    assert z == [42.0, 43.0] and calls == [([0.0, 0.0], [1.0, 1.0], draw_epsilon(3))]
    # a hand-chosen z never goes through the (possibly user-edited) reparameterize
    choose_z([0.0, 0.0], [1.0, 1.0], 3, hover_z=[1.0, 1.0], reparameterize=spy)
    assert len(calls) == 1


def test_choose_z_seeded_sample_depends_only_on_the_seed():
    a = choose_z([0.0, 0.0], [1.0, 1.0], 11)
    b = choose_z([0.0, 0.0], [1.0, 1.0], 11)
    c = choose_z([0.0, 0.0], [1.0, 1.0], 12)
    assert a == b and a != c
    eps, z = choose_z([1.0, -1.0], [2.0, 0.5], 11)
    assert eps == a[0]
    assert z == [1.0 + 2.0 * eps[0], -1.0 + 0.5 * eps[1]]


# ---- the loss ----


def test_pixel_bce_known_values():
    assert pixel_bce([1.0], [0.5]) == pytest.approx([math.log(2)])
    assert pixel_bce([0.0], [0.5]) == pytest.approx([math.log(2)])
    assert pixel_bce([1.0, 0.0], [0.9, 0.9]) == pytest.approx([-math.log(0.9), -math.log(0.1)])
    assert pixel_bce([0.3], [0.3]) == pytest.approx([-(0.3 * math.log(0.3) + 0.7 * math.log(0.7))])


def test_pixel_bce_clips_at_zero_and_one():
    assert (float(np.float32(1e-7)), float(np.float32(1 - 1e-7))) == (P_MIN, P_MAX)  # Keras's bounds, in float32
    values = pixel_bce([1.0, 0.0, 0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0, -3.0, 4.0])
    assert all(math.isfinite(v) for v in values)
    assert values[0] == pytest.approx(-math.log(P_MIN), rel=1e-12)  # ink where nothing was drawn: finite, not inf
    assert values[1] == pytest.approx(-math.log(1.0 - P_MAX), rel=1e-12)
    assert values[2] == pytest.approx(-math.log(1.0 - P_MIN), rel=1e-12)  # ≈ 1e-7, never exactly 0
    assert values[3] == pytest.approx(-math.log(P_MAX), rel=1e-12)
    assert values[4] == values[0]  # out of range values clip too
    assert values[5] == values[1]


@FAST
@given(st.lists(st.tuples(probability, st.floats(-0.5, 1.5, allow_nan=False)), min_size=1, max_size=50))
def test_pixel_bce_formula(rows):
    x, x_hat = (list(c) for c in zip(*rows, strict=True))
    for (t, p), got in zip(rows, pixel_bce(x, x_hat), strict=True):
        q = min(max(p, P_MIN), P_MAX)
        assert got == pytest.approx(-(t * math.log(q) + (1 - t) * math.log(1 - q)), rel=1e-12, abs=1e-15)
        assert 0 < got <= -math.log(1e-7) * (1 + 1e-6)


def test_pixel_bce_lengths_must_match():
    with pytest.raises(ValueError):
        pixel_bce([0.0, 1.0], [0.5])


@FAST
@given(st.lists(st.tuples(probability, probability), min_size=0, max_size=60))
def test_reconstruction_bce_is_the_sum(rows):
    x = [t for t, _ in rows]
    x_hat = [p for _, p in rows]
    assert reconstruction_bce(x, x_hat) == pytest.approx(math.fsum(pixel_bce(x, x_hat)), rel=1e-15, abs=0)


def test_kl_is_zero_at_the_prior():
    assert kl_divergence([0.0, 0.0], [0.0, 0.0]) == [0.0, 0.0]
    assert kl_divergence([], []) == []


@pytest.mark.parametrize(
    ("mu", "log_var", "expected"),
    [
        (1.0, 0.0, 0.5),
        (-2.0, 0.0, 2.0),
        (0.0, math.log(4.0), 0.5 * (4.0 - 1.0 - math.log(4.0))),
        (0.0, -10.0, 0.5 * (math.exp(-10.0) - 1.0 + 10.0)),
        (3.0, 2.0, 0.5 * (9.0 + math.exp(2.0) - 1.0 - 2.0)),
    ],
)
def test_kl_closed_form_examples(mu, log_var, expected):
    assert kl_divergence([mu], [log_var]) == [pytest.approx(expected, rel=1e-12)]


@FAST
@given(st.lists(st.tuples(finite, log_vars), min_size=1, max_size=8))
def test_kl_closed_form_and_positive(rows):
    mu, log_var = (list(c) for c in zip(*rows, strict=True))
    kl = kl_divergence(mu, log_var)
    for (m, lv), k in zip(rows, kl, strict=True):
        sigma2 = math.exp(lv)
        # KL(N(μ, σ²) ‖ N(0, 1)) = log(1/σ) + (σ² + μ²)/2 − ½
        expected = -0.5 * lv + (sigma2 + m * m) / 2 - 0.5
        assert k == pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert k >= 0
        if abs(m) > 1e-3 or abs(lv) > 1e-3:
            assert k > 0


def test_kl_lengths_must_match():
    with pytest.raises(ValueError):
        kl_divergence([0.0, 1.0], [0.0])


def test_loss_against_numpy_on_random_inputs():
    rng = np.random.default_rng(20240611)
    for _ in range(20):
        x = rng.random(784)
        x[rng.random(784) < 0.3] = 0.0
        x[rng.random(784) < 0.1] = 1.0
        x_hat = rng.random(784)
        x_hat[rng.random(784) < 0.05] = 0.0
        x_hat[rng.random(784) < 0.05] = 1.0
        mu = rng.normal(0, 2, 2)
        log_var = rng.normal(0, 3, 2)

        p = np.clip(x_hat, P_MIN, P_MAX)
        np_pixels = -(x * np.log(p) + (1 - x) * np.log(1 - p))
        np_kl = -0.5 * (1 + log_var - mu**2 - np.exp(log_var))
        np_rec = float(np.sum(np_pixels))

        pixels = pixel_bce(x.tolist(), x_hat.tolist())
        np.testing.assert_allclose(pixels, np_pixels, rtol=1e-12, atol=0)
        rec = reconstruction_bce(x.tolist(), x_hat.tolist())
        assert rec == pytest.approx(np_rec, rel=1e-12)
        kl = kl_divergence(mu.tolist(), log_var.tolist())
        np.testing.assert_allclose(kl, np_kl, rtol=1e-12, atol=0)
        assert negative_elbo(rec, kl) == pytest.approx(np_rec + float(np.sum(np_kl)), rel=1e-12)


@FAST
@given(st.floats(0, 1e4), st.lists(st.floats(0, 100), max_size=8))
def test_negative_elbo_is_reconstruction_plus_total_kl(rec, kl):
    assert negative_elbo(rec, kl) == pytest.approx(rec + math.fsum(kl), rel=1e-15, abs=0)
    assert negative_elbo(rec, []) == rec
    assert negative_elbo(2.5, [0.25, 0.5]) == 3.25


def test_the_total_is_called_an_elbo_estimate_only_for_a_sampled_z():
    from vae.loss import total_name

    assert "one-sample estimate" in total_name(False) and "negative ELBO" in total_name(False)
    assert "not an ELBO" in total_name(True) and "BCE at this z" in total_name(True)
