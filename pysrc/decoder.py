"""Stage 5, the decoder: a point z in the latent space becomes an image. onnxruntime runs the network; this
module prepares batches of z (the manifold grid, the interpolation path, the sample strip) and turns images
into canvas pixels.
"""

import math

INPUT_NAME = "z"
OUTPUT_NAME = "reconstruction"
PIXELS = 784


def grayscale_rgba(image, ink=(17, 17, 17), paper=(255, 255, 255)):
    """784 intensities in [0, 1] → RGBA bytes for putImageData; ink on paper, like the drawing canvas."""
    out = bytearray(len(image) * 4)
    for i, v in enumerate(image):
        v = 0.0 if not math.isfinite(v) else min(1.0, max(0.0, v))
        j = i * 4
        out[j] = round(paper[0] + (ink[0] - paper[0]) * v)
        out[j + 1] = round(paper[1] + (ink[1] - paper[1]) * v)
        out[j + 2] = round(paper[2] + (ink[2] - paper[2]) * v)
        out[j + 3] = 255
    return out


def split_images(flat, count):
    """A batched decoder output (count × 784 floats) → one list per image."""
    if len(flat) != count * PIXELS:
        raise ValueError(f"the decoder returned {len(flat)} values for {count} images, expected {count * PIXELS}")
    return [flat[i * PIXELS : (i + 1) * PIXELS] for i in range(count)]


def grid_points(domain, n):
    """Cell centres of an n×n grid over the plot's domain, row by row from the top: the decoded manifold."""
    lo, hi = domain
    step = (hi - lo) / n
    return [[lo + (col + 0.5) * step, hi - (row + 0.5) * step] for row in range(n) for col in range(n)]


def lerp_path(a, b, n):
    """n points evenly along the straight segment from a to b, ends included."""
    return [[a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t] for t in (i / (n - 1) for i in range(n))]
