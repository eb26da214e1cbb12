"""`python -m training.first_view`: the page's first view (preset, μ, σ, ε, z, reconstruction) computed from the
shipped models with onnxruntime and the page's own maths, so serve.py can draw it before Python starts in the
browser. The export runs it too; run it alone after changing the presets or the first-view defaults.
"""

import base64
import json
import sys
from pathlib import Path

import numpy as np

from training.evaluate import decode, encode, sessions

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "pysrc"))

from page.state import FIRST_PRESET, FIRST_SEED  # noqa: E402
from vae import distribution, sample  # noqa: E402


def first_view(models: Path) -> dict:
    encoder, decoder = sessions(models)
    presets = np.frombuffer((models / "presets.bin").read_bytes(), np.uint8).reshape(10, 28, 28)
    mu, log_var = (v[0].tolist() for v in encode(encoder, presets[FIRST_PRESET : FIRST_PRESET + 1]))
    sigma = distribution.sigma_from_log_var(log_var)
    epsilon = sample.draw_epsilon(FIRST_SEED)
    z = sample.reparameterize(mu, sigma, epsilon)
    reconstruction = decode(decoder, np.array([z], np.float32))[0].reshape(-1)
    pixels = np.rint(np.clip(reconstruction, 0, 1) * 255).astype(np.uint8)
    return {
        "preset": FIRST_PRESET,
        "seed": FIRST_SEED,
        "mu": mu,
        "log_var": log_var,
        "sigma": sigma,
        "epsilon": epsilon,
        "z": z,
        "reconstruction": base64.b64encode(pixels.tobytes()).decode(),
    }


def write_first_view(models: Path) -> None:
    (models / "first_view.json").write_text(json.dumps(first_view(models), indent=2) + "\n")


if __name__ == "__main__":
    write_first_view(REPO / "models")
