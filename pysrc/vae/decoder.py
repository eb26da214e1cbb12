"""Stage 5, the decoder: a point z in the latent space becomes an image. onnxruntime runs the network; this
module prepares batches of z (the manifold grid, the interpolation path, the sample strip) and turns images
into canvas pixels.
"""

INPUT_NAME = "z"
OUTPUT_NAME = "reconstruction"
PIXELS = 784


def grayscale_rgba(image, ink=17, paper=255):
    """Intensities in [0, 1] → RGBA bytes for putImageData; dark ink on white paper, like the drawing canvas.

    One list comprehension (inlined, so no generator frame per pixel), then slice assignment at C speed: this runs
    per frame, and for 400 images at once. Values out of [0, 1] are clipped (NaN counts as 0).
    """
    span = ink - paper
    full, blank = paper + int(span * 1.0 - 0.5), paper + int(span * 0.0 - 0.5)
    gray = bytes([paper + int(span * v - 0.5) if 0.0 <= v <= 1.0 else full if v > 1.0 else blank for v in image])
    out = bytearray(len(gray) * 4)
    out[0::4] = out[1::4] = out[2::4] = gray
    out[3::4] = b"\xff" * len(gray)
    return out


def tile_rgba(images, n, size=28):
    """n×n decoded images, row by row, as one RGBA picture (the manifold), so it paints in one call."""
    width = n * size
    out = bytearray(width * width * 4)
    for k, image in enumerate(images):
        rgba = grayscale_rgba(image)
        x0, y0 = (k % n) * size, (k // n) * size
        for row in range(size):
            start = ((y0 + row) * width + x0) * 4
            out[start : start + size * 4] = rgba[row * size * 4 : (row + 1) * size * 4]
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
    return [[a[0] * (1 - t) + b[0] * t, a[1] * (1 - t) + b[1] * t] for t in (i / (n - 1) for i in range(n))]
