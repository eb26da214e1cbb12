"""What "Train it yourself" shows while it trains, computed from the run's numbers: the held-out map's axes and
markup (the main plot's own, from vae/latent_plot), the loss chart, the steps per second, the sentence under the
map, and when the map is due again. Pure: the browser adapter (train/browser/view.py) only writes these out.
"""

from __future__ import annotations

import math

from page.svg import element, num, polyline_points, text
from vae.latent_plot import prior_markup, scatter_markup, square_domain

MAP_EVERY_S = 0.4  # the map is encoded again this often while training (the issue asks for at least every 0.5 s)
MAP_CHUNK = 500  # held-out digits encoded per animation frame: 2,000 at once would cost about two steps' time
DECODED = 10  # the decoded grid under the map: DECODED² points in one decoder run, redrawn with the map
RATE_WINDOW = 30  # steps per second over the last this many steps
CLIP_ID = "train-clip"
RECENT = 20  # the sentence's losses: the mean of the last this many batches (one batch is noisy)


# ## The map of the held-out codes


EDGE = 1.05


def map_domain(current, xs, ys):
    """The map's square axes: wide enough for all but the farthest 0.5% of the codes (one digit flung far in an
    early step would shrink the rest to a dot), kept while they still fit well, so the codes are seen moving
    rather than the axes; wider at once when the codes outgrow them, narrower once they fill less than half."""
    extent = sorted(max(abs(x), abs(y)) for x, y in zip(xs, ys, strict=True))
    reach = extent[min(len(extent) - 1, int(0.995 * len(extent)))]
    # 5 % beyond the half-step square_domain rounds to, so that no tick sits on the frame's corner, where the two
    # axes' end labels (-20 and -20, say) would meet.
    fitted = tuple(EDGE * v for v in square_domain((-reach, -reach), (reach, reach), minimum=3.5))
    if current is None or fitted[1] > current[1] or fitted[1] < 0.5 * current[1]:
        return fitted
    return current


def map_markup(plot, xs, ys, labels):
    """(axes, codes, prior circles) as SVG for the plot's three layers; the codes beyond the axes are clipped
    (CLIP_ID: the frame)."""
    left, top, width, height = plot.area
    clip = element("clipPath", element("rect", x=left, y=top, width=width, height=height), id=CLIP_ID)
    codes = scatter_markup(plot, list(zip(xs, ys, strict=True)), labels)
    return plot.axes_markup() + clip, codes, prior_markup(plot)


# ## The codes, in numbers the sentence uses


def code_figures(xs, ys, labels):
    """(mean distance from the origin, share inside the prior's 2σ circle, separation): separation is the mean
    distance between the ten digits' centres over the mean distance of a code from its digit's centre, so it
    says how far apart the classes are for their size (about 0 untrained, above 1 when they separate)."""
    count = len(xs)
    radius = sum(math.hypot(x, y) for x, y in zip(xs, ys, strict=True)) / count
    inside = sum(1 for x, y in zip(xs, ys, strict=True) if x * x + y * y <= 4.0) / count
    sums = {}
    for x, y, label in zip(xs, ys, labels, strict=True):
        sx, sy, n = sums.get(label, (0.0, 0.0, 0))
        sums[label] = (sx + x, sy + y, n + 1)
    centres = {label: (sx / n, sy / n) for label, (sx, sy, n) in sums.items()}
    spread = sum(math.dist((x, y), centres[label]) for x, y, label in zip(xs, ys, labels, strict=True)) / count
    pairs = [(a, b) for a in centres for b in centres if a < b]
    between = sum(math.dist(centres[a], centres[b]) for a, b in pairs) / max(1, len(pairs))
    return radius, inside, between / spread if spread > 0 else 0.0


def sentence(step, epochs, beta, losses, figures):
    """One sentence (two at most) under the map, from this run's figures: `losses` is the run's StepLosses so
    far, `figures` code_figures of the map shown."""
    radius, inside, separation = figures
    where = (
        f"the 2,000 held-out codes lie {num(radius, 2)} from the origin on average, {round(100 * inside)}% inside "
        f"the prior's 2σ circle, and the digits' centres are {num(separation, 1)}× their spread apart"
    )
    if step == 0:
        return f"Untrained, with random weights: {where}. Press Train or Step."
    recent = losses[-RECENT:]
    bce = sum(s.bce for s in recent) / len(recent)
    kl = sum(s.kl for s in recent) / len(recent)
    pull = (
        "with β = 0 nothing pulls the codes toward N(0, I)"
        if beta == 0
        else f"the KL term, weighed by β = {beta:g}, pulls the codes toward N(0, I) while the reconstruction "
        "pushes the digits apart"
    )
    return (
        f"After {step} steps ({num(epochs, 2)} epochs), the last {len(recent)} batches averaged a negative ELBO of "
        f"{num(bce + kl, 1)} nats ({num(bce, 1)} BCE + {num(kl, 2)} KL); {where}. Here {pull}."
    )


# ## The loss chart

CHART = (340, 200, 40, 10, 26, 10)  # width, height, left, right, bottom, top
LOG_RANGE = (0.1, 1000.0)  # nats: the KL starts near 0.01, the BCE near 550 (a log scale shows both)
MAX_POINTS = 300  # a long run is drawn as this many bucket means per curve
CURVES = (("bce", "BCE"), ("kl", "KL"), ("elbo", "−ELBO"))


def chart_markup(losses, steps_per_epoch):
    """Each step's BCE, KL and negative ELBO on a log scale against the step, with dashed lines at the epochs."""
    width, height, left, right, bottom, top = CHART
    last = max(len(losses), steps_per_epoch)
    lo, hi = (math.log10(v) for v in LOG_RANGE)

    def x(step):
        return left + (width - left - right) * step / last

    def y(value):
        v = min(max(math.log10(max(value, LOG_RANGE[0])), lo), hi)
        return height - bottom - (height - top - bottom) * (v - lo) / (hi - lo)

    parts = [element("rect", x=left, y=top, width=width - left - right, height=height - top - bottom, class_="frame")]
    for value in (0.1, 1, 10, 100, 1000):
        parts.append(element("line", x1=left, y1=y(value), x2=width - right, y2=y(value), class_="grid"))
        parts.append(element("text", text(f"{value:g}"), x=left - 4, y=y(value) + 3, class_="tick", text_anchor="end"))
    for epoch in range(1, last // steps_per_epoch + 1):
        at = x(epoch * steps_per_epoch)
        parts.append(element("line", x1=at, y1=top, x2=at, y2=height - bottom, class_="epoch-mark"))
        parts.append(element("text", f"epoch {epoch}", x=at - 3, y=top + 10, class_="tick", text_anchor="end"))
    parts.append(element("text", text(f"step (of {last})"), x=(left + width) / 2, y=height - 4, class_="tick"))
    size = max(1, math.ceil(len(losses) / MAX_POINTS))
    buckets = [losses[i : i + size] for i in range(0, len(losses), size)]
    for key, _ in CURVES:
        points = []
        for k, bucket in enumerate(buckets):
            values = [s.bce if key == "bce" else s.kl if key == "kl" else s.negative_elbo for s in bucket]
            points.append((x(k * size + len(bucket)), y(sum(values) / len(values))))
        if points:
            parts.append(element("polyline", points=polyline_points(points), class_=f"curve {key}"))
    for k, (key, label) in enumerate(CURVES):
        parts.append(element("text", label, x=left + 8 + 48 * k, y=height - bottom - 6, class_=f"legend {key}"))
    return "".join(parts)


# ## Pace


def steps_per_second(times):
    """Steps per second from the times (in ms) at which the last steps ended; None before two."""
    recent = times[-RATE_WINDOW:]
    if len(recent) < 2 or recent[-1] <= recent[0]:
        return None
    return 1000 * (len(recent) - 1) / (recent[-1] - recent[0])


def map_due(now_ms, last_ms):
    """Whether the map should be encoded again (it is, at least every MAP_EVERY_S while training)."""
    return last_ms is None or now_ms - last_ms >= 1000 * MAP_EVERY_S
