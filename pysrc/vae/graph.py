"""The computational graph of the details view: encoder → μ, log σ² → σ, with ε on a side branch → z → decoder.

The skeleton is drawn once; every live number, curve and marker is a (element id, attribute) update, so a frame
only touches what changed. Each part is a `<g data-part>` that the page links to the lines of code behind it.
"""

import functools
import math
import re
from html import escape

from page.svg import NonFiniteError, arrow_marker, element, num, polyline_points, text
from vae.distribution import curve_domain, gaussian_pdf, pdf_curve

PARTS = ("encoder", "mu", "log_var", "sigma", "epsilon", "multiply", "add", "z", "decoder")
DIM = 2  # latent dimensions: one number slot and one small plot each
WIDTH, HEIGHT = 900, 420
INSET = 3  # keeps curves and markers off a small plot's frame
# The graph is laid out for text of 14.5 and 15.5 units (style.css), which the page draws at 11 CSS px or more: it
# never shows the graph narrower than 700 px for its 900 units (760 px on a phone, for 12 px, scrolled sideways).
TICK_GAP = 14  # from a small plot's bottom to its range labels' baseline

LABELS = {
    "encoder": "Encoder: the image x in, two vectors out",
    "mu": "μ, the mean of the encoding",
    "log_var": "log σ², the log-variance of the encoding",
    "sigma": "The log-var trick: σ = exp(½·log σ²)",
    "epsilon": "ε ~ N(0, I): noise drawn outside the network",
    "multiply": "Multiply: σ·ε",
    "add": "Add: z = μ + σ·ε",
    "z": "z, the sampled code, and each dimension's N(μ, σ²)",
    "decoder": "Decoder: z back to an image",
}

# The CSS class that gives each quantity its colour, the same in the code, the graph and the prose.
COLOR = {"mu": "mu", "log_var": "log-var", "sigma": "sigma", "epsilon": "epsilon", "z": "z"}

ANNOTATIONS = [
    (
        1,
        "Encode a distribution",
        ("encoder", "mu", "log_var"),
        "The encoder does not output a point. For each latent dimension it outputs a mean μ and a log-variance "
        "log σ²: a whole Gaussian of codes that could stand for this digit.",
    ),
    (
        2,
        "The log-var trick",
        ("log_var", "sigma"),
        "The network may output any real number as log σ². σ = exp(½·log σ²) turns it into a standard deviation "
        "that is always positive, with no constraint on the network.",
    ),
    (
        3,
        "Sample ε",
        ("epsilon",),
        "The randomness comes from outside: ε ~ N(0, I) is drawn on a side branch. It has no parameters, so no "
        "gradient has to flow through it.",
    ),
    (
        4,
        "Reparameterize",
        ("multiply", "add", "z"),
        "z = μ + σ·ε scales and shifts the noise. z is still random, yet differentiable in μ and σ, so training "
        "can reach the encoder.",
    ),
]


class Plot:
    """A small plot's rectangle; values map into it with a small inset so nothing ever touches the frame."""

    def __init__(self, plot_id, x, y, width, height):
        self.id = plot_id
        self.x, self.y, self.width, self.height = x, y, width, height
        self.top, self.bottom = y + INSET, y + height - INSET

    def px(self, value, lo, hi):
        return self.x + INSET + _unit((value - lo) / (hi - lo)) * (self.width - 2 * INSET)

    def py(self, fraction):
        """0 at the bottom, 1 at the top."""
        return self.bottom - _unit(fraction) * (self.bottom - self.top)

    def frame(self):
        return element(
            "rect", id=self.id, x=self.x, y=self.y, width=self.width, height=self.height, class_="plot-frame"
        )

    def inside(self, tag, **items):
        """An element drawn in this plot; `data-plot` names the plot, so a test can check it never leaves it."""
        return element(tag, data_plot=self.id, **items)


def _unit(fraction):
    """Clamp to [0, 1], the last resort behind the domains; a NaN from overflowing arithmetic is refused, not hidden."""
    if not math.isfinite(fraction):
        raise NonFiniteError(f"a graph coordinate overflowed ({fraction!r})")
    return min(1.0, max(0.0, fraction))


EXP_PLOT = Plot("g-exp-plot", 300, 196, 120, 84)
EPSILON_PLOTS = [Plot(f"g-epsilon-plot-{i}", 452 + 160 * i, 356, 104, 34) for i in range(DIM)]
Z_PLOTS = [Plot(f"g-z-plot-{i}", 664, 134 + 76 * i, 104, 40) for i in range(DIM)]

MU_BOX = (160, 40, 100, 76)
LOG_VAR_BOX = (160, 200, 100, 76)
SIGMA_BOX = (460, 200, 90, 76)
Z_BOX = (660, 40, 100, 76)
MULTIPLY_AT = (612, 238)
ADD_AT = (612, 78)
NODE_R = 16


def _part(name, content):
    """A focusable group, not a button: focus only lights up its code, and a group's name need not repeat its
    text (live numbers), which a button's must."""
    return element(
        "g", content, class_=f"part part-{name}", data_part=name, tabindex=0, role="group", aria_label=LABELS[name]
    )


def _arrow(d, carries=None):
    """An edge into an operation, coloured by the quantity it carries; it belongs to the part it feeds."""
    return element("path", d=d, class_=f"arrow {COLOR[carries]}" if carries else "arrow", marker_end="url(#g-arrow)")


def _box(x, y, width, height, extra=""):
    return element("rect", x=x, y=y, width=width, height=height, rx=6, class_=f"box {extra}".strip())


def _vector(name, symbol, box):
    """A vector as a box: its symbol on top, one number slot per latent dimension."""
    x, y, width, _ = box
    rows = [
        element("text", text(symbol), x=x + width / 2, y=y + 18, class_=f"symbol {COLOR[name]}", text_anchor="middle")
    ]
    for i in range(DIM):
        row_y = y + 41 + 22 * i
        rows.append(element("text", str(i + 1), x=x + 10, y=row_y, class_="index"))
        rows.append(
            element(
                "text",
                "0.000",
                id=f"g-{name}-{i}",
                x=x + width - 10,
                y=row_y,
                class_=f"value {COLOR[name]}",
                text_anchor="end",
                data_value="0.0",
            )
        )
    return _box(*box, COLOR[name]) + "".join(rows)


def _node(at, symbol, label, label_at):
    cx, cy = at
    return (
        element("circle", cx=cx, cy=cy, r=NODE_R, class_="op")
        + element("text", symbol, x=cx, y=cy + 6, class_="op-symbol", text_anchor="middle")
        + element("text", label, x=label_at[0], y=label_at[1], class_="op-label", text_anchor="middle")
    )


def _axis_ticks(plot, lo_id, hi_id):
    """Range labels under a plot; the symmetric domains put 0 in the middle, so that tick never moves."""
    y = plot.y + plot.height + TICK_GAP
    middle = plot.x + plot.width / 2
    return (
        element("line", x1=middle, y1=plot.top, x2=middle, y2=plot.bottom, class_="zero")
        + element("text", "-3", id=lo_id, x=plot.x, y=y, class_="tick")
        + element("text", "0", x=middle, y=y, class_="tick", text_anchor="middle")
        + element("text", "3", id=hi_id, x=plot.x + plot.width, y=y, class_="tick", text_anchor="end")
    )


def _bell_plot(name, i, plot):
    """A bell curve with a dashed line at one value: the curve and the line are filled in by `graph_updates`."""
    middle = plot.x + plot.width / 2
    return (
        plot.frame()
        + _axis_ticks(plot, f"g-{name}-lo-{i}", f"g-{name}-hi-{i}")
        + plot.inside("polyline", id=f"g-{name}-curve-{i}", class_=f"curve {COLOR[name]}", points="")
        + plot.inside(
            "line",
            id=f"g-{name}-line-{i}",
            x1=middle,
            y1=plot.top,
            x2=middle,
            y2=plot.bottom,
            class_=f"marker {COLOR[name]}",
        )
    )


ENCODER_NOTE = "conv · conv · dense"  # the shipped encoder's layers; another model in use says its own


def _encoder():
    return _part(
        "encoder",
        _box(8, 130, 128, 96)
        + element("text", "x → encoder", x=72, y=182, class_="box-title", text_anchor="middle")
        # Under the box, not in it: a model's list of layers may be wider than the box.
        + element("text", ENCODER_NOTE, id="g-encoder-note", x=72, y=246, class_="box-note", text_anchor="middle"),
    )


def _sigma():
    """The log-var trick as a plot of y = exp(x/2), a dot on it at each log σ², then σ itself."""
    p = EXP_PLOT
    below = p.y + p.height + TICK_GAP
    dots = "".join(
        p.inside("circle", id=f"g-exp-dot-{i}", cx=p.x + INSET, cy=p.bottom, r=3.5, class_="dot sigma")
        for i in range(DIM)
    )
    return _part(
        "sigma",
        _arrow("M260 238H296", "log_var")
        + element("text", "exp(½·)", x=p.x + p.width / 2, y=p.y - 8, class_="box-title", text_anchor="middle")
        + p.frame()
        + p.inside("polyline", id="g-exp-curve", class_="curve sigma", points="")
        + dots
        + element("text", "σ", x=p.x - 6, y=p.y + 16, class_="axis-label sigma", text_anchor="end")
        + element("text", "-4", id="g-exp-lo", x=p.x, y=below, class_="tick")
        # A line below the range labels, which grow with log σ² and would run into it beside them.
        + element(
            "text", "log σ²", x=p.x + p.width / 2, y=below + 17, class_="axis-label log-var", text_anchor="middle"
        )
        + element("text", "2", id="g-exp-hi", x=p.x + p.width, y=below, class_="tick", text_anchor="end")
        + _arrow("M420 238H456", "sigma")
        + _vector("sigma", "σ", SIGMA_BOX),
    )


def _epsilon():
    """The noise branch, boxed apart with a dashed outline: nothing in it is learned."""
    plots = []
    for i, p in enumerate(EPSILON_PLOTS):
        value_x, value_y = p.x + p.width + 6, p.y + p.height / 2
        plots.append(_bell_plot("epsilon", i, p))
        plots.append(element("text", f"ε{'₁₂'[i]}", x=value_x, y=value_y - 8, class_="index epsilon"))
        plots.append(
            element(
                "text",
                "0.000",
                id=f"g-epsilon-{i}",
                x=value_x,
                y=value_y + 14,
                class_="value epsilon",
                data_value="0.0",
            )
        )
    return _part(
        "epsilon",
        element("rect", x=440, y=306, width=330, height=108, rx=8, class_="noise-box")
        + element("text", "ε ~ N(0, I)", x=452, y=326, class_="box-title epsilon")
        + element("text", "noise: no parameters, no gradient needed", x=452, y=344, class_="box-note")
        + "".join(plots),
    )


def _z():
    """z as a vector, and per dimension the N(μ, σ²) it was drawn from, with μ ticked and z dashed."""
    plots = []
    for i, p in enumerate(Z_PLOTS):
        label_y = p.y + p.height / 2 + 4
        plots.append(element("text", f"z{'₁₂'[i]}", x=p.x - 6, y=label_y, class_="index z", text_anchor="end"))
        plots.append(_bell_plot("z", i, p))
        middle = p.x + p.width / 2
        plots.append(
            p.inside(
                "line", id=f"g-z-mu-{i}", x1=middle, y1=p.bottom - 6, x2=middle, y2=p.bottom, class_="tick-mark mu"
            )
        )
    return _part("z", _arrow(f"M{ADD_AT[0] + NODE_R} 78H656", "z") + _vector("z", "z", Z_BOX) + "".join(plots))


def _annotation(step, title, parts, at):
    cx, cy = at
    return element(
        "g",
        element("title", text(title))
        + element("circle", cx=cx, cy=cy, r=11)
        + element("text", str(step), x=cx, y=cy + 5, text_anchor="middle"),
        class_="annotation",
        data_step=step,
        data_parts=" ".join(parts),
    )


ANNOTATION_AT = {1: (20, 114), 2: (300, 182), 3: (440, 306), 4: (560, 50)}


def graph_markup():
    """(viewBox, inner SVG): the static skeleton with an id on every slot that `graph_updates` fills."""
    mx, my = MULTIPLY_AT
    ax, ay = ADD_AT
    defs = arrow_marker("g-arrow")
    parts = [
        _encoder(),
        _part("mu", _arrow("M136 160H146V78H156", "mu") + _vector("mu", "μ", MU_BOX)),
        _part("log_var", _arrow("M136 196H146V238H156", "log_var") + _vector("log_var", "log σ²", LOG_VAR_BOX)),
        _sigma(),
        _epsilon(),
        _part(
            "multiply",
            _arrow(f"M550 238H{mx - NODE_R - 2}", "sigma")
            + _arrow(f"M{mx} 306V{my + NODE_R + 2}", "epsilon")
            + _node(MULTIPLY_AT, "×", "σ·ε", (mx - 30, my + 30)),
        ),
        _part(
            "add",
            _arrow(f"M260 78H{ax - NODE_R - 2}", "mu")
            + _arrow(f"M{mx} {my - NODE_R}V{ay + NODE_R + 2}")
            + _node(ADD_AT, "+", "μ + σ·ε", (ax, ay - 24)),
        ),
        _z(),
        _part(
            "decoder",
            _arrow("M760 78H796", "z")
            + _box(800, 40, 88, 76)
            + element("text", "decoder", x=844, y=74, class_="box-title", text_anchor="middle")
            + element("text", "z → image", x=844, y=92, class_="box-note", text_anchor="middle"),
        ),
    ]
    notes = [_annotation(step, title, names, ANNOTATION_AT[step]) for step, title, names, _ in ANNOTATIONS]
    return f"0 0 {WIDTH} {HEIGHT}", defs + "".join(parts) + "".join(notes)


@functools.lru_cache(maxsize=16)
def _bell(plot, mu, sigma, half):
    """The N(μ, σ²) curve across [-half, half], peak at the top: its shape, not its height, is the message.

    A narrow curve gets extra samples around μ so the grid cannot step over its peak, and σ is floored far below
    a pixel so a vanishing σ still draws a spike instead of dividing by zero. Cached: while z moves under the
    pointer, μ, σ and the ranges stay put, and so do the curves.
    """
    sigma = max(sigma, half * 1e-4)
    peak = gaussian_pdf(mu, mu, sigma)
    points = pdf_curve(mu, sigma, -half, half, n=48) + pdf_curve(mu, sigma, mu - 3.5 * sigma, mu + 3.5 * sigma, n=17)
    return polyline_points((plot.px(x, -half, half), plot.py(density / peak)) for x, density in sorted(points))


@functools.lru_cache(maxsize=4)
def _exp_curve(lo, hi):
    """y = exp(x/2) across [lo, hi], scaled so the right end is the top. Heights are exp(-(distance from that
    end)/2), which never overflow, however large log σ² is."""
    span, p = hi - lo, EXP_PLOT
    return polyline_points(
        (p.px(lo + span * t, lo, hi), p.py(math.exp(-(1 - t) * span / 2))) for t in (k / 39 for k in range(40))
    )


def _exp_domain(log_var):
    """An x-range for y = exp(x/2) that holds both inputs and shows where σ passes 1 (x = 0)."""
    lo, hi = min(-4.0, *log_var), max(2.0, *log_var)
    pad = 0.1 * (hi - lo)
    return lo - pad, hi + pad


def graph_updates(mu, log_var, sigma, epsilon, z):
    """{(element id, attribute or "text"): value} for the live numbers; raises NonFiniteError on NaN or infinity."""
    values = {"mu": mu, "log_var": log_var, "sigma": sigma, "epsilon": epsilon, "z": z}
    updates = {}
    for name, vector in values.items():
        if len(vector) != DIM:
            raise ValueError(f"{name} has {len(vector)} numbers, the graph draws {DIM}")
        for i, v in enumerate(vector):
            updates[(f"g-{name}-{i}", "text")] = _three_decimals(v)
            updates[(f"g-{name}-{i}", "data-value")] = repr(float(v))

    lo, hi = _exp_domain(log_var)
    updates[("g-exp-curve", "points")] = _exp_curve(lo, hi)
    updates[("g-exp-lo", "text")], updates[("g-exp-hi", "text")] = num(lo, 1), num(hi, 1)
    for i, v in enumerate(log_var):
        updates[(f"g-exp-dot-{i}", "cx")] = num(EXP_PLOT.px(v, lo, hi))
        updates[(f"g-exp-dot-{i}", "cy")] = num(EXP_PLOT.py(math.exp((v - hi) / 2)))

    for i, e in enumerate(epsilon):
        _, half = curve_domain([0.0], [1.0], at=[e])
        _bell_updates(updates, "epsilon", i, EPSILON_PLOTS[i], 0.0, 1.0, half, e)

    for i, (m, s, zi) in enumerate(zip(mu, sigma, z, strict=True)):
        _, half = curve_domain([m], [max(s, 0.0)], at=[zi, m])
        _bell_updates(updates, "z", i, Z_PLOTS[i], m, s, half, zi)
        x = num(Z_PLOTS[i].px(m, -half, half))
        updates[(f"g-z-mu-{i}", "x1")] = updates[(f"g-z-mu-{i}", "x2")] = x
    return updates


def _three_decimals(value):
    """Always three decimals, so the numbers in a box line up; NaN and infinity are refused like everywhere else."""
    if not math.isfinite(value):
        raise NonFiniteError(f"refusing to draw the non-finite value {value!r}")
    shown = f"{value:.3f}"
    return "0.000" if shown == "-0.000" else shown


def _bell_updates(updates, name, i, plot, mu, sigma, half, marked):
    """One small plot's range labels (first: they refuse a range that overflowed), its curve and its dashed line."""
    updates[(f"g-{name}-lo-{i}", "text")] = num(-half, 1)
    updates[(f"g-{name}-hi-{i}", "text")] = num(half, 1)
    updates[(f"g-{name}-curve-{i}", "points")] = _bell(plot, mu, sigma, half)
    x = num(plot.px(marked, -half, half))
    updates[(f"g-{name}-line-{i}", "x1")] = updates[(f"g-{name}-line-{i}", "x2")] = x


def annotations_markup():
    """The numbered story beside the graph, as HTML, with each symbol in its colour."""
    items = "".join(
        f'<li data-step="{step}" data-parts="{" ".join(parts)}"><strong>{escape(title)}.</strong> {_colour(body)}</li>'
        for step, title, parts, body in ANNOTATIONS
    )
    return f'<ol class="story">{items}</ol>'


def _colour(sentence):
    """Wrap μ, log σ², σ, ε and z in the span that colours them."""
    symbols = {"log σ²": "log_var", "μ": "mu", "σ": "sigma", "ε": "epsilon", "z": "z"}
    return re.sub(
        r"log σ²|μ|σ|ε|\bz\b",
        lambda m: f'<span class="{COLOR[symbols[m.group()]]}">{m.group()}</span>',
        escape(sentence),
    )
