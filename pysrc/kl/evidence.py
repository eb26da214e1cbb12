"""Why the KL term: the evidence the "Why the KL term?" view shows, read from models/kl/index.json.

`python -m training` saves the shipped run (β = 1) at a few epochs and trains the same model with other weights β
on the KL term (training/kl.py writes the index). This module reads that index and its files, each checked
against the length and sha256 the index records, and makes what the view draws from them: the latent maps of
the checkpoints (and the points moving between them), the prior draws every model decodes, and the sentences under
them (charts.py draws the loss curves and the rate–distortion chart). Every figure in them comes from the index.
Pure Python.
"""

import hashlib
import json
import math
import posixpath
import struct
from dataclasses import dataclass
from functools import cached_property

from page.svg import num
from vae import sample
from vae.latent_plot import LABEL_COLORS, square_domain

INDEX_URL = "models/kl/index.json"
FOLDER = posixpath.dirname(INDEX_URL)
MODES = ("replay", "beta")  # training replay (the β = 1 run, epoch by epoch) or the KL weight β
PRIOR_COUNT = 16
PRIOR_SEED = 20_240_914  # the same 16 z ~ N(0, I) for every model, on every load
METRICS = ("test_reconstruction_bce", "test_kl", "test_negative_elbo", "knn10_accuracy")
FILES = {"encoder": ".onnx", "decoder": ".onnx", "latent_map": ".bin"}


class KlError(ValueError):
    """A missing, corrupt or inconsistent file of the KL evidence; the message names the file."""


@dataclass(frozen=True)
class Entry:
    """One checkpoint or model: its name, β, epoch, test-set figures, and where its files are (url, bytes, sha256)."""

    name: str
    beta: float
    epoch: int
    metrics: dict
    files: dict


@dataclass(frozen=True)
class LatentMap:
    """μ and σ of the same 10,000 training images under one encoder, and their labels."""

    xs: list
    ys: list
    sigma_x: list
    sigma_y: list
    labels: bytes

    @cached_property
    def extent(self):
        """(lowest, highest) μ per dimension, for the plot's domain."""
        return (min(self.xs), min(self.ys)), (max(self.xs), max(self.ys))

    @cached_property
    def reach(self):
        """The distance from the origin within which 99% of the codes lie."""
        radii = sorted(math.hypot(x, y) for x, y in zip(self.xs, self.ys, strict=True))
        return radii[min(len(radii) - 1, int(0.99 * len(radii)))]

    @cached_property
    def outside_prior(self):
        """The share of codes farther than 3 from the origin: outside the prior's 3σ circle, where z ~ N(0, I)
        almost never lands."""
        return sum(1 for x, y in zip(self.xs, self.ys, strict=True) if x * x + y * y > 9.0) / len(self.xs)

    @cached_property
    def mean_sigma(self):
        return sum(self.sigma_x) / len(self.sigma_x), sum(self.sigma_y) / len(self.sigma_y)


class Index:
    """The checked index: which entry answers "epoch e" of the replay and "β = b" of the comparison."""

    def __init__(self, source, url=INDEX_URL):
        self.url = url
        try:
            data = json.loads(source)
            self.layout = _layout(data["latent_map"])
            self.entries = {name: _entry(name, e, url) for name, e in data["entries"].items()}
            self.checkpoints = {int(e): self.entries[name] for e, name in data["checkpoints"].items()}
            self.betas = {float(b): self.entries[name] for b, name in data["betas"].items()}
            self.test_images = int(data["data"]["test_images"])
            # A rerun need not reproduce the page's model bit for bit: then β = 1 here is a sibling, not it.
            self.shipped = None if data["final_checkpoint_is_the_shipped_model"] else data["shipped_model_metrics"]
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            if isinstance(error, KlError):
                raise
            raise KlError(f"{url} is not a KL evidence index ({type(error).__name__}: {error})") from None
        if not self.checkpoints or 1.0 not in self.betas:
            raise KlError(f"{url} names no checkpoints, or no β = 1 model")
        self.epochs = sorted(self.checkpoints)
        self.beta_values = sorted(self.betas)

    def entry(self, mode, epoch, beta):
        """The entry a view state shows: the checkpoint at `epoch`, or the model trained with weight `beta`."""
        return self.checkpoints[epoch] if mode == "replay" else self.betas[beta]

    def nearest_epoch(self, epoch):
        return min(self.epochs, key=lambda e: (abs(e - epoch), e))

    def nearest_beta(self, beta):
        return min(self.beta_values, key=lambda b: (abs(b - beta), b))


def _layout(layout):
    n = int(layout["count"])
    offsets = {key: int(layout[key]["offset"]) for key in ("mu", "sigma", "labels")}
    if layout["mu"]["dtype"] != "float16" or layout["sigma"]["dtype"] != "float16" or n <= 0:
        raise ValueError("the latent map layout is not float16 μ and σ")
    if offsets["labels"] + n > int(layout["byte_length"]) or max(offsets["mu"], offsets["sigma"]) + 4 * n > int(
        layout["byte_length"]
    ):
        raise ValueError("the latent map layout does not fit its byte length")
    return {"count": n, "byte_length": int(layout["byte_length"]), **offsets}


def _entry(name, entry, index_url):
    files = {}
    for key, suffix in FILES.items():
        record = entry["files"][key]
        url = posixpath.normpath(posixpath.join(posixpath.dirname(index_url), record["path"]))
        if not url.endswith(suffix) or url.startswith(("/", "..")) or "/../" in url or "//" in record["path"]:
            raise ValueError(f"entry {name} has an unexpected {key} path {record['path']!r}")
        size, digest = int(record["bytes"]), str(record["sha256"])
        if len(digest) != 64 or size <= 0:
            raise ValueError(f"entry {name}'s {key} record has no valid length or sha256")
        files[key] = (url, size, digest)
    metrics = {key: float(entry["metrics"][key]) for key in METRICS}
    if not all(math.isfinite(v) for v in metrics.values()):
        raise ValueError(f"entry {name} has a non-finite figure")
    return Entry(name, float(entry["beta"]), int(entry["epoch"]), metrics, files)


def check_file(record, data):
    """The bytes of a file the index names, or a KlError naming it when its length or sha256 differ."""
    url, size, digest = record
    if len(data) != size:
        raise KlError(f"{url} has {len(data)} bytes, but the index records {size} (truncated or replaced)")
    if hashlib.sha256(data).hexdigest() != digest:
        raise KlError(f"{url} is corrupt: its sha256 differs from the one the index records")
    return data


def parse_map(layout, data, url):
    """A checked latent-map file as a LatentMap (float16 pairs unpacked, every value finite, σ ≥ 0, labels 0–9)."""
    n = layout["count"]
    if len(data) != layout["byte_length"]:
        raise KlError(f"{url} has {len(data)} bytes, but the index's map layout needs {layout['byte_length']}")
    mu = struct.unpack_from(f"<{2 * n}e", data, layout["mu"])
    sigma = struct.unpack_from(f"<{2 * n}e", data, layout["sigma"])
    labels = bytes(data[layout["labels"] : layout["labels"] + n])
    # σ may be 0: without the KL term (β = 0) σ shrinks below float16's smallest step (6e-8) for many codes.
    if not all(math.isfinite(v) for v in mu) or not all(s >= 0 and math.isfinite(s) for s in sigma):
        raise KlError(f"{url} holds a non-finite μ or a negative σ")
    if max(labels) > 9:
        raise KlError(f"{url} holds a label that is not a digit")
    return LatentMap(list(mu[0::2]), list(mu[1::2]), list(sigma[0::2]), list(sigma[1::2]), labels)


EDGE = 1.05


def domain_of(maps):
    """One square domain (equal units on both axes) that holds every code of every map given, 5 % beyond the
    half-step square_domain rounds to: no tick then sits on the frame's corner, where the two axes' end labels
    (-30 and -30 without the KL term) would meet."""
    lows, highs = zip(*(m.extent for m in maps), strict=True)
    lo, hi = square_domain(
        (min(lo[0] for lo in lows), min(lo[1] for lo in lows)), (max(hi[0] for hi in highs), max(hi[1] for hi in highs))
    )
    return EDGE * lo, EDGE * hi


def prior_zs(count=PRIOR_COUNT, seed=PRIOR_SEED):
    """`count` draws of z ~ N(0, I): what sampling from a trained VAE means. Every model decodes these same z."""
    return [sample.draw_epsilon(seed + k) for k in range(count)]


# ## The scatter


def digit_paths(plot, latent_map):
    """The map's codes as one SVG path per digit (`d` strings, as the main plot draws its scatter: a zero-length
    round-capped segment per code). Every map holds the same images in the same order, so two maps' paths have
    the same commands and only their numbers differ: the browser can morph one into the other, with no frame
    of Python per step of the movement."""
    kx, x0, p0 = plot.x.k, plot.x.d0, plot.x.p0
    ky, y0, q0 = plot.y.k, plot.y.d0, plot.y.p0
    paths = [[] for _ in LABEL_COLORS]
    for x, y, label in zip(latent_map.xs, latent_map.ys, latent_map.labels, strict=True):
        paths[label].append(f"M{p0 + (x - x0) * kx:.1f} {q0 + (y - y0) * ky:.1f}h0")
    return ["".join(p) for p in paths]


# ## The words under the charts (every figure from the index)


def _f(entry):
    m = entry.metrics
    return m["test_reconstruction_bce"], m["test_kl"], m["test_negative_elbo"], m["knn10_accuracy"]


def replay_words(index, epoch, latent_map):
    """What the learner sees at this epoch of the β = 1 run, in plain sentences."""
    bce, kl, elbo, knn = _f(index.checkpoints[epoch])
    first, last = index.epochs[0], index.epochs[-1]
    sx, sy = latent_map.mean_sigma
    reach = num(latent_map.reach, 1)
    if epoch == first:
        now = (
            f"Epoch {epoch}, before any training: the weights are random, so every digit is encoded near the origin "
            f"with σ near 1 (mean σ {num(sx, 2)} by {num(sy, 2)}), almost the prior itself: the test KL is "
            f"{num(kl, 4)} nats. But z says nothing about the input, and the decoder draws a grey blur "
            f"(reconstruction BCE {num(bce, 1)} nats per test image)."
        )
    else:
        now = (
            f"After {epoch} epoch{'s' if epoch != 1 else ''}: reconstruction BCE {num(bce, 1)}, KL {num(kl, 2)}, "
            f"negative ELBO {num(elbo, 1)} nats per test image; 99% of the codes lie within {reach} of the"
            f" origin, with mean σ {num(sx, 3)} by {num(sy, 3)}, and a 10-nearest-neighbour vote on the codes "
            f"names {num(100 * knn, 0)}% of the test digits."
        )
    b0, k0, _, _ = _f(index.checkpoints[first])
    b1, k1, _, _ = _f(index.checkpoints[index.epochs[1]])
    bl, kl_last, _, _ = _f(index.checkpoints[last])
    story = (
        f"The reconstruction term pushes the codes apart so that z can tell digits apart; the KL term pulls every "
        f"encoding back toward N(0, I). The first epoch does most of the work (BCE {num(b0, 0)} → {num(b1, 0)}, KL "
        f"{num(k0, 3)} → {num(k1, 2)}); by epoch {last} the two have settled at BCE {num(bl, 1)} and KL "
        f"{num(kl_last, 2)}, with the codes spread over about the prior's 3σ circle."
    )
    return [now, story]


def beta_words(index, beta, latent_map):
    """What changes with the weight β on the KL term, in plain sentences."""
    bce, kl, _, knn = _f(index.betas[beta])
    vae_bce, vae_kl, _, vae_knn = _f(index.betas[1.0])
    reach = num(latent_map.reach, 1)
    if beta == 0:
        now = (
            f"β = 0 drops the KL term: a plain autoencoder. Nothing pulls its codes toward N(0, I): 99% of them lie "
            f"within {reach} of the origin, {num(100 * latent_map.outside_prior, 0)}% outside the prior's 3σ circle, "
            f"and their test KL is {num(kl, 2)} nats, {num(kl / vae_kl, 0)}× the VAE's {num(vae_kl, 2)}. It "
            f"reconstructs about as well (BCE {num(bce, 1)} against {num(vae_bce, 1)}), but z drawn from the prior "
            f"reaches only the few codes near the origin: compare its row of the strip with the VAE's. Its KL is no "
            f"measure of information: a code can tell apart at most {index.test_images:,} test images, ln "
            f"{index.test_images:,} = {num(math.log(index.test_images), 2)} nats, so a rate of {num(kl, 2)} is only an "
            "upper bound."
        )
    elif beta == 1:
        if index.shipped is None:
            who = f"β = 1 is the VAE this page runs: reconstruction BCE {num(bce, 1)} and KL {num(kl, 2)}"
        else:
            who = (
                f"β = 1 is a rerun of this page's VAE (same code, seed and data, another CPU's rounding, so not the "
                f"same weights): reconstruction BCE {num(bce, 1)} and KL {num(kl, 2)}, where the page's own model has "
                f"{num(index.shipped['test_reconstruction_bce'], 1)} and {num(index.shipped['test_kl'], 2)}"
            )
        now = (
            f"{who} nats per test image; 99% of its codes lie within {reach} of the origin (only "
            f"{num(100 * latent_map.outside_prior, 0)}% outside the prior's 3σ circle), so most z drawn from N(0, I) "
            "land among them."
        )
    else:
        now = (
            f"β = {beta:g} weighs the KL term {beta:g} times: the KL falls to {num(kl, 2)} (from {num(vae_kl, 2)} at "
            f"β = 1) and reconstruction worsens to BCE {num(bce, 1)} (from {num(vae_bce, 1)}). The codes crowd "
            f"together (99% within {reach} of the origin) and digits overlap more: a 10-nearest-neighbour vote names "
            f"{num(100 * knn, 0)}% of the test digits, against {num(100 * vae_knn, 0)}% at β = 1. A β above 1 is "
            "the β-VAE of Higgins et al., meant to make each latent dimension follow one factor of variation; "
            "with two dimensions for ten digits, what shows here is its price."
        )
    story = (
        "The strip decodes the same 16 draws z ~ N(0, I) with each model: that is how a VAE makes new digits. The "
        "chart puts each model's rate (its test KL, an upper bound on what its codes say about the input) against its "
        "distortion "
        "(reconstruction error); the β = 1 run's checkpoints trace the path training took."
    )
    return [now, story]
