"""The page in words: what a screen reader hears once an input settles, and the nearest-digit line on screen.

The nearest training digits come from the latent map (the μ of 10,000 labelled training digits) through its grid
index, so the words say what the plot shows. Pure: tested under CPython with the real map.
"""

import math

K = 10  # neighbours that vote, as in the model card's kNN accuracy
# An empty canvas is no input: nothing is encoded, and the page says so instead of describing a blank image's code.
EMPTY_SENTENCE = "The canvas is empty: draw a digit, or pick a preset, and the encoder will encode it."
EMPTY_LINE = "Nothing to encode yet: draw a digit in step 1, or pick a preset."


def number(value):
    """Two decimals with a real minus sign, which screen readers say as "minus" rather than "dash"."""
    if not math.isfinite(value):
        raise ValueError(f"cannot put the non-finite value {value!r} into words")
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text.replace("-", "−")


def vote(labels):
    """(digit, count) of the most common label; a tie goes to the digit whose nearest member is nearest.

    `labels` are the neighbours' labels, nearest first.
    """
    if not labels:
        raise ValueError("no neighbours to vote")
    counts = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    best = max(counts.values())
    digit = next(label for label in labels if counts[label] == best)
    return digit, best


def nearest_phrase(labels):
    """ "all 7s (10 of 10)", "mostly 7s (9 of 10)", or "a mix, most often 3s (4 of 10)" without a majority."""
    digit, count = vote(labels)
    share = f"{digit}s ({count} of {len(labels)})"
    if count == len(labels):
        return f"all {share}"
    return f"mostly {share}" if 2 * count > len(labels) else f"a mix, most often {share}"


def nearest_line(labels):
    """The line under the numbers: which training digits lie nearest to μ."""
    return f"Nearest training digits to μ: {nearest_phrase(labels)}."


def encoding_sentence(mu, sigma, labels=None):
    """What the encoder made of the input; `labels` (nearest to μ first) are None without a latent map."""
    _check(mu, sigma)
    words = (
        f"Encoded as a Gaussian centred at z₁ {number(mu[0])}, z₂ {number(mu[1])}, "
        f"spread {number(sigma[0])} by {number(sigma[1])}"
    )
    return words + (f"; the nearest training digits are {nearest_phrase(labels)}." if labels else ".")


def z_sentence(z, how, labels=None):
    """Where z went when only z moved (pinned, resampled, slid along the interpolation path)."""
    _check(z)
    words = f"z {how} at z₁ {number(z[0])}, z₂ {number(z[1])}"
    return words + (f"; the training digits nearest to it are {nearest_phrase(labels)}." if labels else ".")


def samples_sentence(sigma):
    """Why the samples look alike, or not: σ, in latent units, against the plot's clusters (a few units across)."""
    _check(sigma)
    spread = f"{number(2 * sigma[0])} by {number(2 * sigma[1])}"
    if max(sigma) < 0.15:
        return (
            f"Here σ is only {number(sigma[0])} by {number(sigma[1])}: 95% of the draws fall within {spread} of μ, "
            "far less than a cluster's width, so the decoder draws almost the same digit each time. The encoder is "
            "sure of this input; an ambiguous one gets a wider σ and more varied samples."
        )
    return (
        f"Here σ is {number(sigma[0])} by {number(sigma[1])}: 95% of the draws fall within {spread} of μ, wide "
        "enough to reach other shapes, so the samples differ. The encoder is unsure of this input."
    )


def _check(*vectors):
    for vector in vectors:
        if len(vector) != 2:
            raise ValueError(f"expected a 2-D latent vector, got {len(vector)} numbers")
