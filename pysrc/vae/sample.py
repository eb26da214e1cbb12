"""Stage 4, the sample: z = μ + σ·ε, with ε ~ N(0, I) drawn outside the network (the reparameterization trick)."""

import random


def draw_epsilon(seed, dim=2):
    """ε ~ N(0, I) from a seed, so a sample can be shared in a URL and drawn again identically."""
    rng = random.Random(seed)
    return [rng.gauss(0.0, 1.0) for _ in range(dim)]


def reparameterize(mu, sigma, epsilon):
    """z = μ + σ·ε: z is random, yet differentiable in μ and σ, so gradients reach the encoder."""
    return [m + s * e for m, s, e in zip(mu, sigma, epsilon, strict=True)]


def epsilon_for(z, mu, sigma):
    """The ε that puts the sample at a z chosen by hand: ε = (z − μ)/σ, so every number shown stays consistent."""
    return [(zi - m) / s for zi, m, s in zip(z, mu, sigma, strict=True)]


def choose_z(mu, sigma, seed, pinned_z=None, hover_z=None, reparameterize=reparameterize):
    """(ε, z) for what the learner is doing: z under the pointer, a pinned z, or the seeded sample."""
    by_hand = hover_z if hover_z is not None else pinned_z
    if by_hand is not None:
        return epsilon_for(by_hand, mu, sigma), list(by_hand)
    epsilon = draw_epsilon(seed, len(mu))
    return epsilon, reparameterize(mu, sigma, epsilon)
