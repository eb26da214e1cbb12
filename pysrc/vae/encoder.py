"""Stage 2, the encoder: the image goes in, (μ, log σ²) come out. onnxruntime runs the network; this module
checks what comes back, because a broken model must say so rather than draw NaN.
"""

import math

INPUT_NAME = "image"
OUTPUT_NAMES = ("z_mean", "z_log_var")
INPUT_SHAPE = (1, 28, 28, 1)


class ModelOutputError(ValueError):
    """A model answered with the wrong size or non-finite numbers."""


def check_vector(values, name, size=2):
    values = [float(v) for v in values]
    if len(values) != size:
        raise ModelOutputError(f"the model returned {len(values)} values for {name}, expected {size}")
    if not all(math.isfinite(v) for v in values):
        raise ModelOutputError(f"the model returned a non-finite {name}: {values}")
    return values
