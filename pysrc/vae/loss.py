"""Stage 6, the loss: the negative ELBO = reconstruction BCE + KL(N(μ, σ²) ‖ N(0, I)), per image, as training.

Matches training/vae.py: Keras clips probabilities to [ε, 1 − ε] with ε = 1e-7 before taking logs, in float32.
"""

import math

# Keras's clip bounds as float32 values: they decide the loss where a pixel is maximally wrong.
P_MIN = 1.0000000116860974e-07  # float32(1e-7)
P_MAX = 0.9999998807907104  # float32(1 - 1e-7)


def pixel_bce(x, x_hat):
    """Binary cross-entropy of each pixel: the heatmap of where the reconstruction is wrong."""
    out = []
    for t, p in zip(x, x_hat, strict=True):
        p = min(max(p, P_MIN), P_MAX)
        out.append(-(t * math.log(p) + (1.0 - t) * math.log(1.0 - p)))
    return out


def reconstruction_bce(x, x_hat):
    """The reconstruction term: BCE summed over all 784 pixels."""
    return math.fsum(pixel_bce(x, x_hat))


def kl_divergence(mu, log_var):
    """KL(N(μ, σ²) ‖ N(0, I)) per latent dimension, in closed form: −½(1 + log σ² − μ² − σ²)."""
    return [-0.5 * (1.0 + lv - m * m - math.exp(lv)) for m, lv in zip(mu, log_var, strict=True)]


def negative_elbo(reconstruction, kl):
    """Reconstruction + total KL (β = 1): with z = μ + σ·ε, a one-sample estimate of what training minimises."""
    return reconstruction + math.fsum(kl)


def total_name(z_placed):
    """What that sum is: an estimate of the negative ELBO only when z was sampled, not hovered or pinned by hand."""
    if z_placed:
        return "BCE at this z + KL (z placed by hand: not an ELBO estimate)"
    return "negative ELBO, one-sample estimate (z = μ + σ·ε)"


def heatmap_rgba(values, vmax=None):
    """Per-pixel losses → RGBA bytes on a black–red–yellow–white ramp, scaled to the largest value shown."""
    top = vmax or max(max(values), 1e-9)
    out = bytearray(len(values) * 4)
    for i, v in enumerate(values):
        t = min(1.0, max(0.0, v / top)) if math.isfinite(v) else 1.0
        j = i * 4
        out[j] = int(255 * min(1.0, 3 * t))
        out[j + 1] = int(255 * min(1.0, max(0.0, 3 * t - 1)))
        out[j + 2] = int(255 * min(1.0, max(0.0, 3 * t - 2)))
        out[j + 3] = 255
    return out
