"""Why the KL term: the evidence the "Why the KL term?" view shows, read from models/kl/index.json.

`python -m training` saves the shipped run (β = 1) at a few epochs and trains the same model with other weights β
on the KL term (training/kl.py writes the index). This module reads that index and its files, each checked
against the length and sha256 the index records, and makes what the view draws from them: the latent maps of
the checkpoints (and the points moving between them), the prior draws every model decodes, the loss curves, the
rate–distortion chart, and the sentences under them. Every figure in them comes from the index. Pure Python.
"""

import hashlib
import json
import math
import posixpath
import struct
from dataclasses import dataclass
from functools import cached_property

from page.svg import element, num, polyline_points, text
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


def domain_of(maps):
    """One square domain (equal units on both axes) that holds every code of every map given."""
    lows, highs = zip(*(m.extent for m in maps), strict=True)
    return square_domain(
        (min(lo[0] for lo in lows), min(lo[1] for lo in lows)), (max(hi[0] for hi in highs), max(hi[1] for hi in highs))
    )


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


# ## Charts: the loss over training, and rate against distortion


class Axis:
    """A linear, square-root or log scale from a value range onto a pixel range."""

    def __init__(self, lo, hi, p0, p1, kind="linear"):
        self.f = {"linear": lambda v: v, "sqrt": math.sqrt, "log": math.log10}[kind]
        self.lo, self.hi, self.p0, self.p1 = self.f(lo), self.f(hi), p0, p1

    def __call__(self, v):
        return self.p0 + (self.f(v) - self.lo) / (self.hi - self.lo) * (self.p1 - self.p0)


CHART = (340, 160, 42, 12, 36, 24)  # width, height, left, right, bottom, top margins
RD_HEIGHT = 210  # the rate–distortion chart is taller: its labelled points need the room
# Text size in the charts' own units. A chart is drawn at least 298 px wide for its 340 units (a quarter of the
# 1280 px layout; a phone draws it at full width), so 13 units stay at 11 CSS px or more (style.css uses it).
FONT = 13


def chart_view_box(height=2 * CHART[1]):
    """The viewBox of a chart: the loss curves are two charts stacked, the rate–distortion chart one taller one."""
    return f"0 0 {CHART[0]} {height}"


def _frame(x, y, xticks, yticks, xlabel, ylabel, digits=0, height=CHART[1]):
    width, _, left, right, bottom, top = CHART
    parts = [
        element(
            "rect",
            x=float(left),
            y=float(top),
            width=float(width - left - right),
            height=float(height - top - bottom),
            class_="frame",
        )
    ]
    for t in _apart(xticks, x, lambda t: _text_width(num(t, 1))):
        parts.append(
            element(
                "text", text(num(t, 1)), x=x(t), y=float(height - bottom + 15), class_="tick", text_anchor="middle"
            )
        )
    for t in yticks:
        parts.append(element("line", x1=float(left), y1=y(t), x2=float(width - right), y2=y(t), class_="grid"))
    for t in _apart(yticks, y, lambda t: FONT):
        parts.append(
            element("text", text(num(t, digits)), x=float(left - 4), y=y(t) + 4, class_="tick", text_anchor="end")
        )
    parts.append(
        element(
            "text",
            text(xlabel),
            x=float((left + width - right) / 2),
            y=float(height - 5),
            class_="chart-label",
            text_anchor="middle",
        )
    )
    parts.append(element("text", text(ylabel), x=float(left), y=float(top - 7), class_="chart-label"))
    return parts


def _text_width(label):
    """About how wide a label is drawn, in chart units (a sans-serif's digits and letters average 0.6 em)."""
    return 0.62 * FONT * len(label)


def _apart(ticks, axis, size, gap=4.0):
    """The ticks whose labels keep `gap` units apart along the axis: a later one too close to the last kept is
    dropped (the first and the last are kept: a crowded one before the last gives way instead)."""
    kept = []
    for t in ticks:
        if kept and abs(axis(t) - axis(kept[-1])) < (size(t) + size(kept[-1])) / 2 + gap:
            if t != ticks[-1] or len(kept) == 1:
                continue
            kept.pop()
        kept.append(t)
    return kept


def _log_ticks(lo, hi):
    """Ticks for a log axis over [lo, hi]: 1, 2, 3, 5 × 10^k, or evenly spaced ones when the range is narrow."""
    if hi / lo < 4:
        return _linear_ticks(lo, hi)
    ticks, power = [], 10 ** math.floor(math.log10(lo))
    while power <= hi:
        ticks += [m * power for m in (1, 2, 3, 5) if lo <= m * power <= hi]
        power *= 10
    return ticks


def curves_markup(index, epoch):
    """The test-set reconstruction BCE, negative ELBO and KL of the β = 1 run over its checkpoints, with `epoch`
    marked (None marks none): two stacked charts on a square-root epoch axis (the first epochs are where most
    happens)."""
    width, height, left, right, bottom, top = CHART
    epochs = index.epochs
    x = Axis(epochs[0], epochs[-1], left, width - right, "sqrt")
    m = {e: index.checkpoints[e].metrics for e in epochs}
    bce = [m[e]["test_reconstruction_bce"] for e in epochs]
    elbo = [m[e]["test_negative_elbo"] for e in epochs]
    kl = [m[e]["test_kl"] for e in epochs]
    lo, hi = min(bce) * 0.95, max(elbo) * 1.05
    y = Axis(lo, hi, height - bottom, top, "log")
    upper = _frame(x, y, epochs, _log_ticks(lo, hi), "epoch (square-root scale)", "nats per test image (log scale)")
    for values, name in ((elbo, "elbo"), (bce, "bce")):
        upper.append(
            element(
                "polyline",
                points=polyline_points([(x(e), y(v)) for e, v in zip(epochs, values, strict=True)]),
                class_=f"curve {name}",
            )
        )
    ky = Axis(0.0, max(kl) * 1.15, height - bottom, top)
    lower = _frame(
        x,
        ky,
        epochs,
        [t for t in _linear_ticks(0.0, max(kl) * 1.15)],
        "epoch (square-root scale)",
        "KL, nats per test image",
    )
    lower.append(
        element(
            "polyline",
            points=polyline_points([(x(e), ky(v)) for e, v in zip(epochs, kl, strict=True)]),
            class_="curve kl",
        )
    )
    if epoch is not None:  # the replay's epoch; the β comparison marks none
        for chart, axis, value in ((upper, y, m[epoch]["test_negative_elbo"]), (lower, ky, m[epoch]["test_kl"])):
            chart.append(
                element("line", x1=x(epoch), y1=float(top), x2=x(epoch), y2=float(height - bottom), class_="epoch-mark")
            )
            chart.append(element("circle", cx=x(epoch), cy=axis(value), r=3.5, class_="curve-dot"))
        upper.append(
            element("circle", cx=x(epoch), cy=y(m[epoch]["test_reconstruction_bce"]), r=3.5, class_="curve-dot")
        )
    legend = element(
        "text", "negative ELBO", x=float(width - right - 4), y=float(top + 14), class_="legend elbo", text_anchor="end"
    ) + element(
        "text",
        "reconstruction (BCE)",
        x=float(width - right - 4),
        y=float(top + 31),
        class_="legend bce",
        text_anchor="end",
    )
    return element("g", "".join(upper) + legend, class_="chart") + element(
        "g", "".join(lower), class_="chart", transform=f"translate(0 {height})"
    )


def _linear_ticks(lo, hi, target=4):
    raw = (hi - lo) / target
    power = 10 ** math.floor(math.log10(raw))
    step = next(k * power for k in (1, 2, 5, 10) if k * power >= raw)
    return [round(i * step, 10) for i in range(math.ceil(lo / step), math.floor(hi / step) + 1)]


def rate_distortion_markup(index, beta, epoch=None):
    """Test-set KL (the rate: how much the codes say about the input) against reconstruction BCE (the
    distortion) for each fully trained model, with the β = 1 run's checkpoints as the path it took there, and the
    replay's `epoch` ringed on that path (None rings none).
    Epoch 0 is left off: untrained, its BCE is several times the rest and its KL near 0, off any shared scale."""
    width, _, left, right, bottom, top = CHART
    height = RD_HEIGHT
    path = [index.checkpoints[e] for e in index.epochs if e > 0]
    models = [index.betas[b] for b in index.beta_values]
    points = path + models
    kls = [p.metrics["test_kl"] for p in points]
    bces = [p.metrics["test_reconstruction_bce"] for p in points]
    x = Axis(min(kls) / 1.3, max(kls) * 1.3, left, width - right, "log")
    lo, hi = min(bces) - 2, max(bces) + 2
    y = Axis(lo, hi, height - bottom, top)
    parts = _frame(
        x,
        y,
        _log_ticks(min(kls) / 1.3, max(kls) * 1.3),
        _linear_ticks(lo, hi),
        "test KL, nats (log scale)",
        "reconstruction BCE",
        height=height,
    )

    def at(entry):
        return x(entry.metrics["test_kl"]), y(entry.metrics["test_reconstruction_bce"])

    line = [at(p) for p in path]
    parts.append(element("polyline", points=polyline_points(line), class_="curve path"))
    parts += [element("circle", cx=cx, cy=cy, r=2.0, class_="curve-dot path") for cx, cy in line]
    labels = []
    for model in models:
        cx, cy = at(model)
        chosen = model.beta == beta
        kind = "rd-model chosen" if chosen else "rd-model"
        parts.append(
            element("circle", cx=cx, cy=cy, r=6.0 if chosen else 4.5, class_=kind, data_beta=f"{model.beta:g}")
        )
        labels.append((f"β = {model.beta:g}", (cx, cy), "rd-label"))
    labels.append((f"epoch {path[0].epoch}", line[0], "tick"))
    area = (left, top, width - right, height - bottom)
    for label, (lx, ly), kind in _place(labels, [at(p) for p in points], line, area):
        parts.append(element("text", text(label), x=lx, y=ly, class_=kind, text_anchor="middle"))
    shown = [p for p in path if p.epoch == epoch]
    if shown:
        cx, cy = at(shown[0])
        parts.append(element("circle", cx=cx, cy=cy, r=5.0, class_="rd-epoch", data_epoch=str(epoch)))
    return element("g", "".join(parts), class_="chart")


def _place(labels, dots, line, area, offset=9.0):
    """Each (label, point, class) given a place beside its point, as (label, (x, y) of its centred baseline, class):
    the first of above, right, below, left and the corners that keeps the label inside the chart's area and off the
    other labels, the points and the path's line; above when none does."""
    taken, placed = [], []
    segments = list(zip(line, line[1:], strict=False))
    for label, (px, py), kind in labels:
        w, h = _text_width(label), FONT
        spots = [
            (px, py - offset),
            (px + offset + w / 2, py + h / 3),
            (px, py + offset + h * 0.8),
            (px - offset - w / 2, py + h / 3),
            (px + offset + w / 2, py - offset),
            (px - offset - w / 2, py - offset),
            (px + offset + w / 2, py + offset + h * 0.8),
            (px - offset - w / 2, py + offset + h * 0.8),
        ]

        def box(spot, w=w, h=h):
            return (spot[0] - w / 2 - 1, spot[1] - h * 0.8 - 1, spot[0] + w / 2 + 1, spot[1] + h * 0.25 + 1)

        def free(b, px=px, py=py):
            inside = area[0] <= b[0] and area[1] <= b[1] and b[2] <= area[2] and b[3] <= area[3]
            return (
                inside
                and not any(_boxes_meet(b, t) for t in taken)
                and not any(_boxes_meet(b, (dx - 5, dy - 5, dx + 5, dy + 5)) for dx, dy in dots if (dx, dy) != (px, py))
                and not any(_crosses(b, s) for s in segments)
            )

        spot = next((s for s in spots if free(box(s))), spots[0])
        taken.append(box(spot))
        placed.append((label, spot, kind))
    return placed


def _boxes_meet(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _crosses(b, segment, steps=24):
    """Whether a line segment passes through a box (sampled along its length: the boxes are wider than a step)."""
    (x0, y0), (x1, y1) = segment
    return any(
        b[0] <= x0 + (x1 - x0) * k / steps <= b[2] and b[1] <= y0 + (y1 - y0) * k / steps <= b[3]
        for k in range(steps + 1)
    )


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
