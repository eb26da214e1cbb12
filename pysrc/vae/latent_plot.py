"""The latent-space plot: scales with equal units on both axes, ticks, the label scatter, and its markup."""

import heapq
import itertools
import math

from page.svg import element, num, text
from vae.distribution import contour_ellipses

# One colour per digit (Tableau 10): learners know it from matplotlib, and labels stay apart from the
# semantic colours (μ, σ, ε, z) drawn on top.
LABEL_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip

SIZE = 440  # plot area, in SVG user units (square: equal scale on both axes)
MARGIN = (12, 14, 50, 54)  # top, right, bottom, left: room for tick labels readable at the plot's phone size


class Scale:
    """A linear map from latent units to pixels, and back (for hover and clicks)."""

    def __init__(self, domain, pixels):
        self.d0, self.d1 = domain
        self.p0, self.p1 = pixels
        self.k = (self.p1 - self.p0) / (self.d1 - self.d0)

    def __call__(self, value):
        return self.p0 + (value - self.d0) * self.k

    def invert(self, pixel):
        return self.d0 + (pixel - self.p0) / self.k

    def length(self, value):
        """A distance in latent units as pixels: radii of the σ ellipses."""
        return abs(value * self.k)


def square_domain(mu_min, mu_max, pad=0.3, minimum=3.0):
    """One symmetric range for both axes that holds every map point: equal units on x and y."""
    half = max(minimum, *(abs(v) + pad for v in (*mu_min, *mu_max)))
    return -math.ceil(half * 2) / 2, math.ceil(half * 2) / 2


def nice_ticks(lo, hi, target=8):
    """Tick values at 1, 2 or 5 × 10^k, about `target` of them, inside [lo, hi]."""
    raw = (hi - lo) / target
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step)
    return [round(i * step, 10) for i in range(first, math.floor(hi / step) + 1)]


DOT_PX = 3.0  # a map dot's diameter on screen (style.css .scatter-digit), in the magnifier too
TICKS = 8  # about this many ticks per axis at every zoom (at least 3): labels of five characters stay apart
CORNER = 14  # plot pixels right of the bottom-left corner where z₁'s ticks are not labelled
MAX_ZOOM = 64.0  # the map's dots are written to 0.001 latent units: at ×64 one is off by at most its own radius
MILLI = 1000  # the map's dots are written in thousandths of a latent unit (integers: as short as pixels, finer)


def tick_decimals(ticks):
    """Decimals enough to tell the ticks apart, and no more (steps of 2 → 0, 0.5 → 1, 0.02 → 2)."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return max(0, -math.floor(math.log10(step) + 1e-9))


def clamp_view(domain, centre, zoom):
    """The view window's (centre, zoom) kept to ×1…MAX_ZOOM and inside the domain: nothing past the map is shown."""
    d0, d1 = domain
    zoom = min(MAX_ZOOM, max(1.0, zoom))
    half = (d1 - d0) / 2 / zoom
    return tuple(min(d1 - half, max(d0 + half, c)) for c in centre), zoom


class LatentPlot:
    """Geometry of the plot: the same scales serve the scatter, the overlay and pointer input.

    `domain` is the whole map; the scales map the view window, `zoom` times smaller, around `centre`, onto the plot
    area. A zoomed or panned view is a new LatentPlot (zoomed_about, panned): every mark drawn through it follows.
    """

    def __init__(self, domain, centre=None, zoom=1.0):
        top, right, bottom, left = MARGIN
        self.domain = domain
        middle = (domain[0] + domain[1]) / 2
        self.centre, self.zoom = clamp_view(domain, centre or (middle, middle), zoom)
        half = (domain[1] - domain[0]) / 2 / self.zoom
        (cx, cy) = self.centre
        self.window = ((cx - half, cx + half), (cy - half, cy + half))
        self.width = left + SIZE + right
        self.height = top + SIZE + bottom
        self.x = Scale(self.window[0], (left, left + SIZE))
        self.y = Scale(self.window[1], (top + SIZE, top))
        self.area = (left, top, SIZE, SIZE)

    def __eq__(self, other):
        return isinstance(other, LatentPlot) and (self.domain, self.centre, self.zoom) == (
            other.domain,
            other.centre,
            other.zoom,
        )

    def __hash__(self):
        return hash((self.domain, self.centre, self.zoom))

    def to_latent(self, px, py):
        return [self.x.invert(px), self.y.invert(py)]

    def to_pixels(self, z):
        return self.x(z[0]), self.y(z[1])

    def ellipses(self, contours):
        """(cx, cy, rx, ry) in pixels from contours in latent units; equal scales keep their true shape."""
        return [(self.x(cx), self.y(cy), self.x.length(rx), self.y.length(ry)) for cx, cy, rx, ry in contours]

    # ---- zoom and pan ----

    def zoomed_about(self, factor, z):
        """The view `factor` times closer (clamped), with the latent point z kept under the same pixel."""
        _, zoom = clamp_view(self.domain, self.centre, self.zoom * factor)
        kept = self.zoom / zoom  # how much nearer z the centre comes: the factor after clamping
        centre = tuple(v + (c - v) * kept for c, v in zip(self.centre, z, strict=True))
        return LatentPlot(self.domain, centre, zoom)

    def panned(self, dx, dy):
        """The view with its contents moved (dx, dy) plot pixels (right and down), as a drag would move them."""
        cx, cy = self.centre
        return LatentPlot(self.domain, (cx - dx / self.x.k, cy + dy / self.x.k), self.zoom)

    def reset(self):
        return LatentPlot(self.domain)

    def scatter_transform(self):
        """Thousandths of a latent unit (how scatter_markup writes the map) → plot pixels, as an SVG transform."""
        k = self.x.k / MILLI
        return f"matrix({k!r} 0 0 {-k!r} {self.x(0.0)!r} {self.y(0.0)!r})"

    def dot_width(self):
        """The map dots' stroke width in the scatter's units: DOT_PX once transformed, at every zoom."""
        return repr(DOT_PX * MILLI / self.x.k)

    def base_transform(self):
        """The whole map's plot pixels (the view at ×1, where the manifold image is drawn) → this view's pixels."""
        left, top, size, _ = self.area
        s, d0 = self.zoom, self.domain[0]
        return f"matrix({s!r} 0 0 {s!r} {self.x(d0) - s * left!r} {self.y(d0) - s * (top + size)!r})"

    def axes_markup(self):
        """Frame, grid, ticks and labels as SVG, for the view window: finer steps, with more decimals, as it zooms."""
        left, top, w, h = self.area
        parts = [element("rect", x=left, y=top, width=w, height=h, class_="frame")]
        for axis, (lo, hi) in zip("xy", self.window, strict=True):
            ticks = nice_ticks(lo, hi, TICKS)
            decimals = tick_decimals(ticks)
            for t in ticks:
                grid = "grid zero" if t == 0 else "grid"
                label = text(num(t, decimals))
                # z₁'s label at the bottom-left corner would meet z₂'s there: z₂'s alone names that corner.
                if axis == "x":
                    x = self.x(t)
                    parts.append(element("line", x1=x, y1=top, x2=x, y2=top + h, class_=grid))
                    if x - left >= CORNER:
                        parts.append(element("text", label, x=x, y=top + h + 19, class_="tick", text_anchor="middle"))
                else:
                    y = self.y(t)
                    parts.append(element("line", x1=left, y1=y, x2=left + w, y2=y, class_=grid))
                    parts.append(element("text", label, x=left - 7, y=y + 6, class_="tick", text_anchor="end"))
        parts.append(element("text", "z₁", x=left + w / 2, y=top + h + 44, class_="axis-label"))
        parts.append(
            element(
                "text", "z₂", x=20, y=top + h / 2, class_="axis-label", transform=f"rotate(-90 20 {num(top + h / 2)})"
            )
        )
        return "".join(parts)


def scatter_markup(plot, mu, labels):
    """The map's points as ten SVG paths, one per digit: zero-length round-capped segments draw as dots.

    Ten elements instead of 10,000 keep the DOM small and the layer cheap to composite while z moves above it. The
    dots are in thousandths of a latent unit, placed by the scatter group's transform (LatentPlot.scatter_transform):
    a zoom rewrites that one attribute, not 10,000 dots, and a dot is as exact at ×64 as at ×1.
    """
    paths = [[] for _ in LABEL_COLORS]
    for (mx, my), label in zip(mu, labels, strict=True):
        paths[label].append(f"M{round(mx * MILLI)} {round(my * MILLI)}h0")
    return "".join(
        element("path", d="".join(p), stroke=color, class_="scatter-digit", data_digit=digit)
        for digit, (color, p) in enumerate(zip(LABEL_COLORS, paths, strict=True))
        if p
    )


def legend_markup():
    """The digit legend, as HTML (it sits beside the plot); pressing an entry highlights that digit's points."""
    return "".join(
        f'<span class="legend-item" role="button" tabindex="0" aria-pressed="false" data-digit="{digit}"'
        f' title="Highlight the {digit}s"><i style="background:{color}"></i>{digit}</span>'
        for digit, color in enumerate(LABEL_COLORS)
    )


def prior_markup(plot, levels=(1, 2, 3)):
    """The prior N(0, I) as its 1σ, 2σ, 3σ circles around the origin, in the plot's latent units."""
    cx, cy = plot.to_pixels((0.0, 0.0))
    return "".join(element("circle", cx=cx, cy=cy, r=plot.x.length(k), class_="prior") for k in levels)


def dots_markup(plot, points, class_):
    """Small dots at latent points (the many samples of q(z|x))."""
    return "".join(element("circle", cx=plot.x(x), cy=plot.y(y), r=2.5, class_=class_) for x, y in points)


def path_markup(plot, a, b):
    """The straight interpolation path from A to B, with labelled ends."""
    (ax, ay), (bx, by) = plot.to_pixels(a), plot.to_pixels(b)
    return element("line", x1=ax, y1=ay, x2=bx, y2=by, class_="interp-path") + "".join(
        element("circle", cx=x, cy=y, r=7, class_="interp-end")
        + element("text", name, x=x, y=y + 4, class_="interp-label", text_anchor="middle")
        for name, x, y in (("A", ax, ay), ("B", bx, by))
    )


def base_markup(plot, scatter=""):
    """The plot's static layer: frame and ticks (#axes), then, clipped to the plot, the manifold's slot and the
    scatter of the map, each placed by one transform that a zoom rewrites (view_numbers)."""
    left, top, size, _ = plot.area
    clip = element("clipPath", element("rect", x=left, y=top, width=size, height=size), id="base-clip")
    return (
        element("defs", clip)
        + element("g", plot.axes_markup(), id="axes")
        + '<g clip-path="url(#base-clip)">'
        + element("g", id="manifold-layer", transform=plot.base_transform())
        + element("g", scatter, id="scatter", transform=plot.scatter_transform(), stroke_width=plot.dot_width())
        + "</g>"
    )


def view_numbers(plot):
    """What a new view window changes in the static layer, as (element id, attribute, value): the ticks are
    rewritten with axes_markup, the map and the manifold only moved."""
    return [
        ("scatter", "transform", plot.scatter_transform()),
        ("scatter", "stroke-width", plot.dot_width()),
        ("manifold-layer", "transform", plot.base_transform()),
    ]


def overlay_markup(plot, mu=None, sigma=None, z=None):
    """The live layer: σ ellipses, μ, z and the optional layers, clipped to the plot; drawn at (μ, σ, z) if given.

    What is centred on μ (the ellipses, μ's dot, the start of z's link) sits in one group moved by one transform: a
    new encoding rewrites that and the radii, a hover only z's dot and the link's end."""
    left, top, size, _ = plot.area
    clip = element("clipPath", element("rect", x=left, y=top, width=size, height=size), id="plot-clip")
    if mu is None:
        radii, move, link, zx, zy = [(0.0, 0.0)] * 3, None, (None, None), None, None
    else:
        radii = [(rx, ry) for _, _, rx, ry in plot.ellipses(contour_ellipses(mu, sigma))]
        (mx, my), (zx, zy) = plot.to_pixels(mu), plot.to_pixels(z)
        move, link = mu_transform(mx, my), (zx - mx, zy - my)
    return (
        element("defs", clip)
        + '<g clip-path="url(#plot-clip)">'
        + '<g id="prior-layer"></g><g id="interp-layer"></g><g id="samples-layer"></g>'
        + element(
            "g",
            "".join(
                element("ellipse", id=f"ellipse-{k}", class_=f"ellipse k{k}", rx=rx, ry=ry)
                for k, (rx, ry) in reversed(list(zip((1, 2, 3), radii, strict=True)))
            )
            + element("line", id="z-link", class_="z-link", x1=0.0, y1=0.0, x2=link[0], y2=link[1])
            + element("circle", id="mu-point", class_="mu-point", r=4),
            id="mu-marks",
            transform=move,
        )
        + element("circle", id="z-point", class_="z-point", r=6, cx=zx, cy=zy)
        + "</g>"
    )


def mu_transform(mx, my):
    """The transform that puts the marks centred on μ at μ's pixel (mx, my)."""
    return f"translate({num(mx)} {num(my)})"


ZOOM_SIZE = 160  # the magnifier, in SVG units


def dot(x, y):
    """A map point in latent units as a zero-length, round-capped path segment: a dot wherever a transform puts it."""
    return f"M{x:.4f} {y:.4f}h0"


def map_dots_markup(chosen, map_mu, labels, index=None):
    """The chosen map points as one path per digit, in latent units; `index` (a PointIndex) has each point's text."""
    dots = [[] for _ in LABEL_COLORS]
    texts = index.dots if index is not None else None
    for i in chosen:
        dots[labels[i]].append(texts[i] if texts is not None else dot(*map_mu[i]))
    return "".join(
        element("path", d="".join(d), stroke=color, class_="scatter-digit")
        for color, d in zip(LABEL_COLORS, dots, strict=True)
        if d
    )


class Zoom:
    """A magnifier around μ with equal scale on both axes: on the map the σ ellipses are often smaller than a dot.

    Its window depends on μ and σ only, so the map points in it are found once per encoding, not per frame.
    """

    def __init__(self, mu, sigma, size=ZOOM_SIZE):
        self.mu = mu
        self.half = min(max(4.0 * max(sigma), 0.02), 4.0)
        self.size = size
        self.k = size / (2 * self.half)

    def px(self, x, y):
        """Latent → magnifier units, clamped to the frame (a far z sits on the edge, pointing its way)."""
        to = lambda v: min(self.size, max(0.0, v))  # noqa: E731
        return to((x - self.mu[0] + self.half) * self.k), to((self.mu[1] + self.half - y) * self.k)

    def window_points(self, map_mu, limit=600, index=None):
        """Indices of the map points in the window, the first `limit` of them in map order.

        With `index` (a PointIndex of map_mu) only the points near the window are visited; the answer is the same.
        """
        mu0, mu1, half = self.mu[0], self.mu[1], self.half
        if index is not None and index.points is not map_mu:
            raise ValueError("the index and the points do not belong together")
        candidates = range(len(map_mu)) if index is None else index.near(self.mu, half)
        chosen = []
        for i in candidates if limit > 0 else ():
            mx, my = map_mu[i]
            if -half <= mx - mu0 <= half and -half <= my - mu1 <= half:  # abs() without the calls
                chosen.append(i)
                if len(chosen) == limit:
                    break
        return chosen

    def transform(self):
        """Latent units → magnifier units, as an SVG transform: the dots are written in latent units, so a new window
        over the same points changes this attribute and dot_width() alone."""
        k = self.k
        return f"matrix({k!r} 0 0 {-k!r} {(self.half - self.mu[0]) * k!r} {(self.mu[1] + self.half) * k!r})"

    def dot_width(self):
        """The dots' stroke width in latent units, DOT_PX once transformed. (vector-effect: non-scaling-stroke would
        keep it without this, but WebKit scales such a stroke by the transform: the dots became one solid block.)"""
        return repr(DOT_PX / self.k)

    def scatter_markup(self, map_mu, labels, limit=600, index=None):
        """The frame, and the map points in the window (window_points) as one path per digit in a group placed by
        transform(), whose id the magnifier writes to."""
        if len(labels) != len(map_mu):
            raise ValueError("the points and the labels do not belong together")
        dots = map_dots_markup(self.window_points(map_mu, limit, index), map_mu, labels, index)
        frame = element("rect", x=0.0, y=0.0, width=self.size, height=self.size, class_="frame")
        return frame + element("g", dots, id="zoom-dots", transform=self.transform(), stroke_width=self.dot_width())

    def overlay_numbers(self, sigma):
        """The overlay's numbers that depend on the encoding alone, as (element id, attribute, value), and the scale
        bar's label. The magnifier draws its elements once (overlay_markup), then writes these only when μ or σ
        change, and z_numbers on every frame (a hover moves only z)."""
        cx, cy = self.px(*self.mu)
        bar = nice_ticks(0, self.half, 3)[1]  # a step below the half-width, so there is always a second tick
        bottom = self.size - 10.0
        numbers = [
            (f"zoom-ellipse-{n}", name, value)
            for n in (3, 2, 1)
            for name, value in (("cx", cx), ("cy", cy), ("rx", n * sigma[0] * self.k), ("ry", n * sigma[1] * self.k))
        ]
        numbers += [("zoom-mu", "cx", cx), ("zoom-mu", "cy", cy), ("zoom-z-link", "x1", cx), ("zoom-z-link", "y1", cy)]
        numbers += [("zoom-scale-bar", "x1", 8.0), ("zoom-scale-bar", "y1", bottom)]
        numbers += [("zoom-scale-bar", "x2", 8 + bar * self.k), ("zoom-scale-bar", "y2", bottom)]
        numbers += [("zoom-scale-label", "x", 8.0), ("zoom-scale-label", "y", bottom - 5)]
        return numbers, f"{num(bar, 3)} latent units"

    def z_numbers(self, z):
        """z's marker and the end of its link from μ, as (element id, attribute, value)."""
        zx, zy = self.px(*z)
        return [("zoom-z", "cx", zx), ("zoom-z", "cy", zy), ("zoom-z-link", "x2", zx), ("zoom-z-link", "y2", zy)]

    def overlay_markup(self, sigma, z):
        numbers, label = self.overlay_numbers(sigma)
        attributes = {}
        for element_id, name, value in numbers + self.z_numbers(z):
            attributes.setdefault(element_id, {})[name] = value
        parts = [("ellipse", f"ellipse k{n}", f"zoom-ellipse-{n}", {}) for n in (3, 2, 1)] + [
            ("line", "z-link", "zoom-z-link", {}),
            ("circle", "mu-point", "zoom-mu", {"r": 3.5}),
            ("circle", "z-point", "zoom-z", {"r": 5}),
            ("line", "scale-bar", "zoom-scale-bar", {}),
        ]
        return "".join(
            element(tag, class_=class_, id=id_, **fixed, **attributes[id_]) for tag, class_, id_, fixed in parts
        ) + element("text", label, class_="tick", id="zoom-scale-label", **attributes["zoom-scale-label"])


class PointIndex:
    """The map's points bucketed on a square grid, so that a small window (the magnifier's, found again whenever μ
    moves) visits the few hundred points near it instead of all 10,000."""

    def __init__(self, points, cell=0.25, most_cells=400):
        self.points = points
        self.cell = cell
        self.most_cells = most_cells  # a window over more cells than this scans every point instead
        self.cells = {}
        for i, (x, y) in enumerate(points):
            self.cells.setdefault((math.floor(x / cell), math.floor(y / cell)), []).append(i)
        columns, rows = zip(*self.cells, strict=True) if self.cells else ((0,), (0,))
        self.extent = (min(columns), max(columns), min(rows), max(rows))
        self.dots = [dot(x, y) for x, y in points]  # each point's markup, made once (map_dots_markup)

    def nearest(self, centre, k):
        """Indices of the k points nearest to `centre` (Euclidean; ties to the lower index), nearest first.

        Rings of cells are visited outwards until the k-th nearest found is closer than any cell not yet visited:
        the same answer as sorting all the points, for the few dozen points of a ring or two.
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k!r}")
        cx, cy = centre
        if not (math.isfinite(cx) and math.isfinite(cy)):
            raise ValueError(f"the centre must be finite, not {centre!r}")
        ci, cj = math.floor(cx / self.cell), math.floor(cy / self.cell)
        i0, i1, j0, j1 = self.extent
        rings = max(abs(ci - i0), abs(ci - i1), abs(cj - j0), abs(cj - j1))
        found = []  # (squared distance, index)
        for r in range(rings + 1):
            for i in range(ci - r, ci + r + 1):
                for j in range(cj - r, cj + r + 1) if abs(i - ci) == r else (cj - r, cj + r):
                    for n in self.cells.get((i, j), ()):
                        x, y = self.points[n]
                        found.append(((x - cx) ** 2 + (y - cy) ** 2, n))
            # A point in ring r + 1 or beyond is more than r cells from the centre along one axis (less a hair, for
            # a point that rounded into its neighbouring cell at a border).
            reach = r * self.cell - 1e-9
            if reach > 0 and len(found) >= k and heapq.nsmallest(k, found)[-1][0] <= reach * reach:
                break
        return [n for _, n in heapq.nsmallest(k, found)]

    def near(self, centre, half):
        """Indices, ascending, of every point with |x − cx| ≤ half and |y − cy| ≤ half, and maybe a few more."""
        cx, cy = centre
        # A hair of slack on each side, far more than any rounding here: a point in the window may sit on a cell
        # border that its division rounds into the neighbouring cell.
        cell, slack = self.cell, 1e-9
        i0, i1 = math.floor((cx - half) / cell - slack), math.floor((cx + half) / cell + slack)
        j0, j1 = math.floor((cy - half) / cell - slack), math.floor((cy + half) / cell + slack)
        if (i1 - i0 + 1) * (j1 - j0 + 1) > self.most_cells:
            return range(len(self.points))
        cells = self.cells
        found = [cells[key] for key in ((i, j) for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)) if key in cells]
        return sorted(itertools.chain.from_iterable(found))
