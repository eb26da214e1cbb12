"""Stage 3, the distribution: the encoder's (μ, log σ²) become the Gaussian N(μ, σ²) over the latent space.

Pure Python: the same code runs in the page (Pyodide) and in the tests (CPython).
"""

import math


def sigma_from_log_var(log_var):
    """The log-var trick: the encoder may output any real log σ², and σ = exp(½·log σ²) is always positive."""
    return [math.exp(0.5 * v) for v in log_var]


def gaussian_pdf(x, mu, sigma):
    """Density of N(mu, sigma²) at x, for the per-dimension curves."""
    u = (x - mu) / sigma
    return math.exp(-0.5 * u * u) / (sigma * math.sqrt(2 * math.pi))


def pdf_curve(mu, sigma, lo, hi, n=80):
    """(x, density) pairs across [lo, hi], to draw one dimension's bell curve."""
    step = (hi - lo) / (n - 1)
    return [(lo + i * step, gaussian_pdf(lo + i * step, mu, sigma)) for i in range(n)]


def curve_domain(centres, sigmas, at=(), k=3.5, min_half_width=3.0):
    """A symmetric x-range that holds every curve's ±k·σ and every marked value, so nothing ever clips."""
    reach = [abs(c) + k * s for c, s in zip(centres, sigmas, strict=True)]
    reach += [abs(a) * 1.1 for a in at]
    half = max([min_half_width, *reach])
    return -half, half


def contour_ellipses(mu, sigma, levels=(1, 2, 3)):
    """The k-σ density contours of a diagonal 2-D Gaussian: axis-aligned ellipses (cx, cy, rx, ry) in latent units."""
    return [(mu[0], mu[1], k * sigma[0], k * sigma[1]) for k in levels]
