"""The KL view's two charts, drawn from the evidence index: the β = 1 run's loss over its checkpoints, and each
model's rate against its distortion. Pure Python; text sizes and margins are in the charts' own units.
"""

import itertools
import math

from page.svg import element, num, polyline_points, text


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
            element("text", text(num(t, 1)), x=x(t), y=float(height - bottom + 15), class_="tick", text_anchor="middle")
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
    segments = list(itertools.pairwise(line))
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
