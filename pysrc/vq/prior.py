"""Generation with the VQ-VAE: draw a new 7×7 grid of codes from the PixelCNN prior (models/vq/pixelcnn.onnx,
trained by training/pixelcnn.py), one cell at a time in raster order, for the decoder to draw.

The prior says how likely each code is in a cell given the cells before it (rows above, and to the left in its
row). So a grid is drawn in 49 steps: run the network on the grid so far, turn cell i's K logits into
probabilities (softmax), draw one code from them, and go on to cell i + 1. Later cells are zero in the input;
the network's masks make sure it never looks at them.

Pure Python: the page (Pyodide) and the tests (CPython) run the same steps with the same `random.Random(seed)`,
so a seed gives the same grid in both.
"""

import math

from vq.quantizer import CELLS


class PriorError(ValueError):
    """A prior model whose output is not 7×7 cells of K finite logits; the message names the file."""


def softmax(logits):
    """K logits → K probabilities that sum to 1 (the largest logit subtracted first, so exp never overflows)."""
    top = max(logits)
    weights = [math.exp(v - top) for v in logits]
    total = sum(weights)
    return [w / total for w in weights]


def draw(probabilities, rng):
    """One code drawn with these probabilities: the first whose running total passes a uniform number in [0, 1)."""
    u = rng.random()
    total = 0.0
    for k, p in enumerate(probabilities):
        total += p
        if u < total:
            return k
    return len(probabilities) - 1  # u within rounding of 1


def one_hot(grid, num_codes):
    """The network's input: 49 cells of K numbers, row-major, 1 at the cell's code; all 0 where none is drawn yet."""
    out = [0.0] * (CELLS * num_codes)
    for cell, code in enumerate(grid):
        if code is not None:
            out[cell * num_codes + code] = 1.0
    return out


def cell_logits(flat, cell, num_codes, name="models/vq/pixelcnn.onnx"):
    """Cell `cell`'s K logits from the network's flat 7×7×K output, checked for its length and finiteness."""
    if len(flat) != CELLS * num_codes:
        raise PriorError(f"{name} gave {len(flat)} numbers, expected {CELLS * num_codes} (7×7 cells of {num_codes})")
    logits = [float(v) for v in flat[cell * num_codes : (cell + 1) * num_codes]]
    if not all(math.isfinite(v) for v in logits):
        raise PriorError(f"{name} gave non-finite logits")
    return logits


def sampler(rng, num_codes, name="models/vq/pixelcnn.onnx"):
    """The 49 steps of drawing one grid, as a generator: it yields (the grid so far, with None for cells not drawn
    yet; the network's input for the next cell) and is sent the network's flat output; it returns the grid."""
    grid = [None] * CELLS
    for cell in range(CELLS):
        flat = yield list(grid), one_hot(grid, num_codes)
        grid[cell] = draw(softmax(cell_logits(flat, cell, num_codes, name)), rng)
    return grid
