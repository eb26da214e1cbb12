"""The latent-space plot: linear scales that invert, equal units on both axes (a circle stays a circle), a square
symmetric domain, 1-2-5 ticks, and markup that parses as XML with one dot per map point."""

import math
import random
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pysrc"))

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vae import latent_plot
from vae.distribution import contour_ellipses
from vae.latent_plot import (
    LABEL_COLORS,
    MARGIN,
    SIZE,
    LatentPlot,
    Scale,
    legend_markup,
    nice_ticks,
    scatter_markup,
    square_domain,
)

FAST = settings(max_examples=60, deadline=None)
SVG = "{http://www.w3.org/2000/svg}"
coords = st.floats(min_value=-40, max_value=40, allow_nan=False)
domains = st.builds(square_domain, st.tuples(coords, coords), st.tuples(coords, coords))


def parse_svg(markup):
    return ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg">{markup}</svg>')


# ---- scales ----


@FAST
@given(
    st.tuples(st.floats(-100, 100), st.floats(0.5, 100)),
    st.tuples(st.floats(0, 1000), st.floats(10, 1000)),
    st.floats(-200, 200),
)
def test_scale_maps_ends_and_round_trips(domain, pixels, value):
    d0, width = domain
    p0, span = pixels
    scale = Scale((d0, d0 + width), (p0, p0 + span))
    assert scale(d0) == pytest.approx(p0)
    assert scale(d0 + width) == pytest.approx(p0 + span)
    assert scale.invert(scale(value)) == pytest.approx(value, abs=1e-9)
    assert scale(scale.invert(value)) == pytest.approx(value, abs=1e-9)
    assert scale.length(width) == pytest.approx(span)
    assert scale.length(-1.0) == scale.length(1.0) > 0


def test_scale_is_linear_and_flips():
    x = Scale((-4.0, 4.0), (40.0, 480.0))
    assert x(0.0) == 260.0 and x(-4.0) == 40.0 and x(4.0) == 480.0 and x(2.0) == 370.0
    y = Scale((-4.0, 4.0), (452.0, 12.0))
    assert y(-4.0) == 452.0 and y(4.0) == 12.0 and y(1.0) < y(0.0)
    assert y.invert(12.0) == 4.0 and y.length(1.0) == 55.0


@FAST
@given(domains, coords, coords)
def test_plot_axes_have_equal_units_and_y_points_up(domain, zx, zy):
    plot = LatentPlot(domain)
    assert plot.x.k == pytest.approx(-plot.y.k, rel=1e-12)
    assert plot.x.k > 0 > plot.y.k
    top, right, bottom, left = MARGIN
    assert plot.width == left + SIZE + right and plot.height == top + SIZE + bottom
    lo, hi = domain
    assert plot.to_pixels((lo, lo)) == pytest.approx((left, top + SIZE))  # bottom-left corner
    assert plot.to_pixels((hi, hi)) == pytest.approx((left + SIZE, top))  # top-right corner
    px, py = plot.to_pixels((zx, zy))
    assert plot.to_latent(px, py) == pytest.approx([zx, zy], abs=1e-9)
    # a step up in z₂ is a step up the screen (smaller y), as far as a step right in z₁ is to the right
    px2, py2 = plot.to_pixels((zx + 1, zy + 1))
    assert py2 < py and px2 - px == pytest.approx(py - py2, rel=1e-9)


@FAST
@given(domains, st.tuples(coords, coords), st.tuples(st.floats(0.01, 5), st.floats(0.01, 5)))
def test_ellipses_in_pixels_are_k_sigma_times_the_scale(domain, mu, sigma):
    plot = LatentPlot(domain)
    per_unit = SIZE / (domain[1] - domain[0])
    ellipses = plot.ellipses(contour_ellipses(mu, sigma))
    assert len(ellipses) == 3
    for k, (cx, cy, rx, ry) in zip((1, 2, 3), ellipses, strict=True):
        assert (cx, cy) == pytest.approx(plot.to_pixels(mu))
        assert rx == pytest.approx(k * sigma[0] * per_unit, rel=1e-9)
        assert ry == pytest.approx(k * sigma[1] * per_unit, rel=1e-9)
    # equal σ on both axes is a circle on screen
    (_, _, rx, ry), *_ = plot.ellipses(contour_ellipses(mu, (sigma[0], sigma[0])))
    assert rx == pytest.approx(ry, rel=1e-12)


# ---- the domain and the ticks ----


@FAST
@given(st.lists(st.tuples(coords, coords), min_size=1, max_size=50))
def test_square_domain_holds_every_point_and_is_symmetric(points):
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    lo, hi = square_domain((min(xs), min(ys)), (max(xs), max(ys)))
    assert lo == -hi and hi >= 3.0
    assert (2 * hi) == int(2 * hi)  # rounded up to a half unit
    for x, y in points:
        assert lo < x - 0.29 and x + 0.29 < hi  # every point, with its padding, inside
        assert lo < y - 0.29 and y + 0.29 < hi
    # and no more than half a unit more than needed
    need = max(3.0, *(abs(v) + 0.3 for v in xs + ys))
    assert hi < need + 0.5 + 1e-9


def test_square_domain_examples():
    assert square_domain((-1.0, -1.0), (1.0, 1.0)) == (-3.0, 3.0)
    assert square_domain((-2.71, -2.92), (4.2, 3.98)) == (-4.5, 4.5)
    assert square_domain((-7.6, 0.0), (0.0, 0.0)) == (-8.0, 8.0)
    assert square_domain((0.0, 0.0), (0.0, 7.71)) == (-8.5, 8.5)


def _nice(step):
    """The 1, 2 or 5 × 10^k that a measured step is (up to rounding), or None."""
    exponent = math.floor(math.log10(step))
    mantissa = step / 10**exponent
    return next((m * 10**exponent for m in (1, 2, 5, 10) if math.isclose(mantissa, m, rel_tol=1e-6)), None)


@FAST
@given(
    st.floats(-1e4, 1e4),
    st.floats(1e-3, 1e4),
    st.integers(3, 12),
)
def test_nice_ticks_are_nice_inside_and_about_target_many(lo, width, target):
    hi = lo + width
    ticks = nice_ticks(lo, hi, target)
    # the step is the first 1-2-5 value ≥ width/target, so at most 2.5× that: between target/2.5 and target gaps
    assert int(target / 2.5) <= len(ticks) <= target + 1
    assert len(ticks) >= 1
    if len(ticks) == 1:
        return
    steps = [b - a for a, b in itertools.pairwise(ticks)]
    step = _nice(steps[0])
    assert step is not None, steps[0]
    assert width / target <= step * (1 + 1e-6) and step <= 2.5 * width / target * (1 + 1e-6)
    assert all(math.isclose(s, step, rel_tol=1e-6) for s in steps)
    tol = 1e-9 * max(1.0, abs(lo), abs(hi))
    assert lo - tol <= ticks[0] and ticks[-1] <= hi + tol
    # the ticks reach to within a step of each end
    assert ticks[0] - lo < step * (1 + 1e-9) and hi - ticks[-1] < step * (1 + 1e-9)
    for t in ticks:
        assert math.isclose(t / step, round(t / step), abs_tol=1e-6)  # multiples of the step
    if lo < 0 < hi and min(-lo, hi) > tol:
        assert 0 in ticks


@FAST
@given(domains)
def test_ticks_for_every_plot_domain(domain):
    ticks = nice_ticks(*domain)
    assert 0 in ticks
    assert 3 <= len(ticks) <= 9
    assert ticks == [-t for t in reversed(ticks)]  # the domain is symmetric, so are its ticks
    assert all(domain[0] <= t <= domain[1] for t in ticks)


def test_nice_ticks_examples():
    assert nice_ticks(-3.0, 3.0) == [-3, -2, -1, 0, 1, 2, 3]
    assert nice_ticks(-4.5, 4.5) == [-4, -2, 0, 2, 4]  # 9/8 > 1, so steps of 2
    assert nice_ticks(-4.0, 4.0) == [-4, -3, -2, -1, 0, 1, 2, 3, 4]
    assert nice_ticks(-8.5, 8.5) == [-5, 0, 5]
    assert nice_ticks(0.0, 1.0, 5) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(-50.0, 50.0) == [-40, -20, 0, 20, 40]
    assert nice_ticks(-50.0, 50.0, 10) == [-50, -40, -30, -20, -10, 0, 10, 20, 30, 40, 50]


# ---- zoom and pan ----

views = st.tuples(domains, st.tuples(coords, coords), st.floats(0.01, 500))


@FAST
@given(views)
def test_a_view_stays_inside_the_map_and_between_x1_and_the_most(view):
    domain, centre, zoom = view
    plot = LatentPlot(domain, centre, zoom)
    assert 1 <= plot.zoom <= latent_plot.MAX_ZOOM
    assert plot.zoom == min(latent_plot.MAX_ZOOM, max(1.0, zoom))
    for lo, hi in plot.window:
        assert domain[0] - 1e-9 <= lo < hi <= domain[1] + 1e-9
        assert hi - lo == pytest.approx((domain[1] - domain[0]) / plot.zoom)
    # equal units on both axes at every zoom, and the window fills the plot area
    assert plot.x.k == pytest.approx(-plot.y.k) == pytest.approx(SIZE * plot.zoom / (domain[1] - domain[0]))
    (x0, x1), (y0, y1) = plot.window
    left, top, size, _ = plot.area
    assert plot.to_pixels((x0, y0)) == pytest.approx((left, top + size))
    assert plot.to_pixels((x1, y1)) == pytest.approx((left + size, top))


@FAST
@given(views, st.floats(0.05, 20), st.floats(0, 1), st.floats(0, 1))
def test_zooming_about_a_point_keeps_it_under_its_pixel(view, factor, fx, fy):
    plot = LatentPlot(*view)
    (x0, x1), (y0, y1) = plot.window
    z = (x0 + fx * (x1 - x0), y0 + fy * (y1 - y0))  # a point in view, as under a pointer
    zoomed = plot.zoomed_about(factor, z)
    assert zoomed.zoom == pytest.approx(min(latent_plot.MAX_ZOOM, max(1.0, plot.zoom * factor)))
    (nx0, nx1), (ny0, ny1) = zoomed.window
    inside = view[0][0] + 1e-9 < nx0 and nx1 < view[0][1] - 1e-9 and view[0][0] + 1e-9 < ny0 and ny1 < view[0][1] - 1e-9
    if inside:  # not pushed back inside the map by the clamp: the point has not moved on screen
        assert zoomed.to_pixels(z) == pytest.approx(plot.to_pixels(z), abs=1e-6)
    assert zoomed.reset() == LatentPlot(view[0])


def test_zoom_examples():
    plot = LatentPlot((-4.0, 4.0))
    assert plot.window == ((-4.0, 4.0), (-4.0, 4.0)) and plot.zoom == 1
    quarter = plot.zoomed_about(4, (2.0, 2.0))  # (2, 2) stays where it was: at three quarters of the plot
    assert quarter.window == ((0.5, 2.5), (0.5, 2.5))
    assert quarter.to_pixels((2.0, 2.0)) == pytest.approx(plot.to_pixels((2.0, 2.0)))
    assert plot.zoomed_about(0.5, (2.0, 2.0)) == plot  # no further out than the whole map
    assert plot.zoomed_about(1e6, (0.0, 0.0)).zoom == latent_plot.MAX_ZOOM
    edge = plot.zoomed_about(2, (4.0, 4.0))  # about a corner: the view stops at the map's edge
    assert edge.window == ((0.0, 4.0), (0.0, 4.0))
    moved = quarter.panned(plot.x.k * 4 * 0.5, 0)  # contents dragged right by half a unit: the view goes left
    assert moved.window == ((0.0, 2.0), (0.5, 2.5))
    assert quarter.panned(0, -1e9).window == ((0.5, 2.5), (-4.0, -2.0))  # a pan stops at the map's edge too
    assert plot.panned(100, 100) == plot  # at ×1 there is nothing to pan to


@pytest.mark.parametrize("zoom", [1, 1.5, 2, 3, 5, 8, 13, 21, 34, 55, 64])
def test_ticks_follow_the_zoom_with_round_steps_labels_that_differ_and_room_between(zoom):
    plot = LatentPlot((-4.5, 4.5), (0.0389, 0.0288), zoom)  # the first view's μ
    root = parse_svg(plot.axes_markup())
    left, _, w, _ = plot.area
    for axis, (lo, hi) in zip("xy", plot.window, strict=True):
        ticks = nice_ticks(lo, hi, latent_plot.TICKS)
        step = ticks[1] - ticks[0]
        assert 3 <= len(ticks) <= 9
        assert round(step / 10 ** math.floor(math.log10(step) + 1e-9), 6) in (1, 2, 5)
        anchor = "middle" if axis == "x" else "end"
        labels = [t for t in root.findall(f"{SVG}text") if t.get("class") == "tick" and t.get("text-anchor") == anchor]
        corner = [t for t in ticks if axis == "x" and plot.x(t) - left < latent_plot.CORNER]
        assert len(labels) == len(ticks) - len(corner) >= 3 and len(corner) <= 1
        texts = [t.text for t in labels]
        assert len(set(texts)) == len(texts)  # enough decimals to tell them apart
        labelled = [t for t in ticks if t not in corner]
        assert [float(v.replace("−", "-")) for v in texts] == pytest.approx(labelled, abs=1e-9)  # true latent units
        # the longest label, at the phone's 18 units (about 10 units a character), fits between two ticks
        assert max(map(len, texts)) * 10 <= step * plot.x.k
        if axis == "x":
            assert all(left - 1e-6 <= float(t.get("x")) <= left + w + 1e-6 for t in labels)


def test_the_map_moves_with_the_view_through_one_transform():
    mu, labels = [(0.5, -0.25), (3.9, 3.9)], [1, 2]
    for plot in (LatentPlot((-4.0, 4.0)), LatentPlot((-4.0, 4.0), (0.4, -0.2), 16)):
        root = parse_svg(scatter_markup(plot, mu, labels))
        placed = [v for path in root.findall(f"{SVG}path") for xy in _placed(plot, _dots(path.get("d"))) for v in xy]
        assert placed == pytest.approx([v for p in mu for v in plot.to_pixels(p)], abs=1e-9)
        assert float(plot.dot_width()) * plot.x.k / 1000 == pytest.approx(latent_plot.DOT_PX)  # 3 px at any zoom
        # the manifold image is drawn at the whole map's pixels: the view's transform puts it under the view
        whole = LatentPlot(plot.domain)
        s, _, _, d, e, f = (float(v) for v in re.fullmatch(r"matrix\((.*)\)", plot.base_transform()).group(1).split())
        for p in mu:
            wx, wy = whole.to_pixels(p)
            assert (s * wx + e, d * wy + f) == pytest.approx(plot.to_pixels(p))
        numbers = {(i, name): v for i, name, v in latent_plot.view_numbers(plot)}
        assert numbers[("scatter", "transform")] == plot.scatter_transform()
        assert numbers[("manifold-layer", "transform")] == plot.base_transform()


def test_at_the_most_zoom_the_first_views_1_sigma_ellipse_is_large():
    """σ is 0.02 to 0.06 here: a pixel or two on the whole map; zoomed in on μ, the 1σ ellipse is wide."""
    mu, sigma = (0.0389, 0.0288), (0.0203, 0.0389)
    plot = LatentPlot((-4.5, 4.5), mu, latent_plot.MAX_ZOOM)
    (_, _, rx, ry), *_ = plot.ellipses(contour_ellipses(mu, sigma))
    assert 2 * rx >= 100 and 2 * ry >= 100
    (_, _, rx, _), *_ = LatentPlot((-4.5, 4.5)).ellipses(contour_ellipses(mu, sigma))
    assert 2 * rx < 3


# ---- markup ----


@pytest.mark.parametrize("domain", [(-3.0, 3.0), (-4.5, 4.5), (-12.0, 12.0), (-50.5, 50.5)])
def test_axes_markup_is_well_formed(domain):
    plot = LatentPlot(domain)
    root = parse_svg(plot.axes_markup())
    frame = root.findall(f"{SVG}rect")
    assert len(frame) == 1 and frame[0].get("class") == "frame"
    ticks = nice_ticks(*domain)
    lines = root.findall(f"{SVG}line")
    assert len(lines) == 2 * len(ticks)
    assert sum(1 for line in lines if line.get("class") == "grid zero") == 2
    labels = [t.text for t in root.findall(f"{SVG}text") if t.get("class") == "tick"]
    at_corner = domain[0] in ticks  # z₂'s label names the bottom-left corner alone: z₁'s would meet it
    assert len(labels) == 2 * len(ticks) - at_corner
    assert "0" in labels
    axis = [t.text for t in root.findall(f"{SVG}text") if t.get("class") == "axis-label"]
    assert axis == ["z₁", "z₂"]
    left, top, w, h = plot.area
    for line in lines:
        for name in ("x1", "x2"):
            assert left - 1e-6 <= float(line.get(name)) <= left + w + 1e-6
        for name in ("y1", "y2"):
            assert top - 1e-6 <= float(line.get(name)) <= top + h + 1e-6


def _dots(d):
    return re.findall(r"M(-?\d+) (-?\d+)h0", d)


def _placed(plot, dots):
    """Dots as scatter_markup writes them, through the scatter group's transform: plot pixels."""
    a, _, _, d, e, f = (float(v) for v in re.fullmatch(r"matrix\((.*)\)", plot.scatter_transform()).group(1).split())
    return [(a * float(x) + e, d * float(y) + f) for x, y in dots]


def test_scatter_has_one_dot_per_point_in_its_digits_path():
    plot = LatentPlot((-4.0, 4.0))
    mu = [(math.cos(i) * 3, math.sin(i * 1.3) * 3) for i in range(300)]
    labels = [(i * 7) % 10 if i % 11 else 3 for i in range(300)]
    root = parse_svg(scatter_markup(plot, mu, labels))
    paths = root.findall(f"{SVG}path")
    counts = Counter(labels)
    assert len(paths) == len(counts) == 10
    for path in paths:
        digit = int(path.get("data-digit"))
        assert path.get("stroke") == LABEL_COLORS[digit]
        assert path.get("class") == "scatter-digit"
        d = path.get("d")
        dots = _dots(d)
        assert len(dots) == d.count("M") == d.count("h0") == counts[digit]
        expected = [p for p, label in zip(mu, labels, strict=True) if label == digit]
        for (x, y), (ex, ey) in zip(dots, expected, strict=True):  # in thousandths of a latent unit, rounded
            assert int(x) == round(ex * 1000) and int(y) == round(ey * 1000)
        for (x, y), (ex, ey) in zip(_placed(plot, dots), map(plot.to_pixels, expected), strict=True):
            assert x == pytest.approx(ex, abs=0.5e-3 * plot.x.k) and y == pytest.approx(ey, abs=0.5e-3 * plot.x.k)


def test_scatter_skips_absent_digits_and_handles_nothing():
    plot = LatentPlot((-3.0, 3.0))
    root = parse_svg(scatter_markup(plot, [(0.0, 0.0), (1.0, -1.0)], [4, 4]))
    (path,) = root.findall(f"{SVG}path")
    assert path.get("data-digit") == "4" and len(_dots(path.get("d"))) == 2
    assert scatter_markup(plot, [], []) == ""
    with pytest.raises(ValueError):
        scatter_markup(plot, [(0.0, 0.0)], [1, 2])


def test_scatter_of_the_real_latent_map():
    from page.artifacts import parse_latent_map

    models = Path(__file__).resolve().parents[1] / "models"
    mu, labels, (lo, hi) = parse_latent_map(
        (models / "latent_map.json").read_text(), (models / "latent_map.bin").read_bytes()
    )
    plot = LatentPlot(square_domain(lo, hi))
    root = parse_svg(scatter_markup(plot, mu, labels))
    counts = Counter(labels)
    left, top, w, h = plot.area
    total = 0
    for path in root.findall(f"{SVG}path"):
        dots = _dots(path.get("d"))
        assert len(dots) == counts[int(path.get("data-digit"))]
        total += len(dots)
        assert all(left <= x <= left + w and top <= y <= top + h for x, y in _placed(plot, dots))
    assert total == len(mu) == 10_000


def test_legend_has_ten_entries_in_order():
    markup = legend_markup()
    root = ET.fromstring(f"<div>{markup}</div>")
    items = root.findall("span")
    assert len(items) == 10
    for digit, (item, color) in enumerate(zip(items, LABEL_COLORS, strict=True)):
        assert item.get("class") == "legend-item"
        assert "".join(item.itertext()) == str(digit)
        assert item.find("i").get("style") == f"background:{color}"
    assert len(set(LABEL_COLORS)) == 10


def test_overlays_are_well_formed():
    plot = LatentPlot((-4.0, 4.0))
    root = parse_svg(latent_plot.prior_markup(plot))
    radii = [float(c.get("r")) for c in root.findall(f"{SVG}circle")]
    assert radii == pytest.approx([k * SIZE / 8 for k in (1, 2, 3)], abs=0.01)
    root = parse_svg(latent_plot.dots_markup(plot, [(0.0, 0.0), (1.0, 2.0)], "sample"))
    assert len(root.findall(f"{SVG}circle")) == 2
    root = parse_svg(latent_plot.path_markup(plot, (-1.0, 0.0), (2.0, 1.0)))
    assert [t.text for t in root.findall(f"{SVG}text")] == ["A", "B"]
    (line,) = root.findall(f"{SVG}line")
    assert float(line.get("x1")) == pytest.approx(plot.x(-1.0), abs=0.01)
    assert float(line.get("y2")) == pytest.approx(plot.y(1.0), abs=0.01)


def test_magnifier_shows_the_ellipses_at_true_equal_scale():
    mu, sigma, z = [0.5, -1.0], [0.02, 0.04], [0.53, -0.95]
    zoom = latent_plot.Zoom(mu, sigma)
    assert zoom.half >= 3 * max(sigma)  # the 3σ ellipse fits
    root = ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg">{zoom.overlay_markup(sigma, z)}</svg>')
    ellipses = {e.get("class"): e for e in root.iter("{http://www.w3.org/2000/svg}ellipse")}
    for n in (1, 2, 3):
        e = ellipses[f"ellipse k{n}"]
        assert float(e.get("rx")) == pytest.approx(n * sigma[0] * zoom.k, abs=0.01)
        assert float(e.get("ry")) == pytest.approx(n * sigma[1] * zoom.k, abs=0.01)  # one k for both axes
        assert (float(e.get("cx")), float(e.get("cy"))) == (zoom.size / 2, zoom.size / 2)
    assert zoom.px(100.0, -100.0) == (zoom.size, zoom.size)  # a far z is pinned to the edge, not drawn outside


def test_magnifier_scatter_holds_only_points_in_its_window():
    zoom = latent_plot.Zoom([0.0, 0.0], [0.05, 0.05])
    points = [(0.0, 0.0), (0.1, -0.1), (0.5, 0.0), (-3.0, 2.0)]
    markup = zoom.scatter_markup(points, [1, 2, 3, 4])
    assert markup.count("h0") == 2


@pytest.mark.parametrize("top_sigma", [0.011, 0.0125, 0.11, 0.122, 0.5, 1.0, 0.005])
def test_magnifier_scale_bar_exists_for_every_sigma(top_sigma):
    zoom = latent_plot.Zoom([0.0, 0.0], [top_sigma, top_sigma / 2])
    assert "latent units" in zoom.overlay_markup([top_sigma, top_sigma / 2], [0.0, 0.0])


def test_magnifier_scatter_through_the_point_index_is_the_same_markup():
    """The grid index only skips points that cannot be in the window: same dots, same order, same 600 limit."""
    rng = random.Random(7)
    points = [(rng.gauss(0, 1.5), rng.gauss(0, 1.5)) for _ in range(4000)]
    points += [(0.25 * rng.randint(-8, 8), 0.25 * rng.randint(-8, 8)) for _ in range(300)]  # on cell borders
    labels = [rng.randrange(10) for _ in points]
    index = latent_plot.PointIndex(points)
    for k in range(300):
        mu = [rng.uniform(-4, 4), rng.uniform(-4, 4)] if k % 3 else list(points[rng.randrange(len(points))])
        sigma = [rng.choice([0.001, 0.01, 0.05, 0.1, 0.3, 1.0, 2.0]) * rng.uniform(0.5, 1.5) for _ in range(2)]
        zoom = latent_plot.Zoom(mu, sigma)
        for limit in (600, 5):
            expected = zoom.scatter_markup(points, labels, limit=limit)
            assert zoom.scatter_markup(points, labels, limit=limit, index=index) == expected
    # edges of the window exactly on a point
    zoom = latent_plot.Zoom([points[0][0] - 0.2, points[0][1] + 0.2], [0.05, 0.05])
    assert zoom.half == pytest.approx(0.2)
    assert zoom.scatter_markup(points, labels, index=index) == zoom.scatter_markup(points, labels)


def test_point_index_finds_every_point_in_a_window():
    rng = random.Random(3)
    points = [(rng.uniform(-5, 5), rng.uniform(-5, 5)) for _ in range(2000)]
    index = latent_plot.PointIndex(points)
    for _ in range(200):
        c, half = (rng.uniform(-5, 5), rng.uniform(-5, 5)), rng.choice([0.01, 0.1, 0.5, 2.0, 6.0])
        near = list(index.near(c, half))
        assert near == sorted(set(near))
        inside = {i for i, (x, y) in enumerate(points) if abs(x - c[0]) <= half and abs(y - c[1]) <= half}
        assert inside <= set(near)
    with pytest.raises(ValueError):
        latent_plot.Zoom([0.0, 0.0], [0.1, 0.1]).scatter_markup(
            points, [1] * len(points), index=latent_plot.PointIndex([])
        )


def test_magnifier_transform_puts_each_dot_where_px_would():
    """The dots are written in latent units and placed by one transform: the same place px() computes."""
    rng = random.Random(11)
    for _ in range(200):
        mu = [rng.uniform(-4, 4), rng.uniform(-4, 4)]
        zoom = latent_plot.Zoom(mu, [rng.uniform(0.001, 2.0), rng.uniform(0.001, 2.0)])
        a, b, c, d, e, f = (float(v) for v in zoom.transform()[len("matrix(") : -1].split())
        for _ in range(5):
            x, y = mu[0] + rng.uniform(-zoom.half, zoom.half), mu[1] + rng.uniform(-zoom.half, zoom.half)
            assert (a * x + c * y + e, b * x + d * y + f) == pytest.approx(zoom.px(x, y), abs=1e-6)
            dot = latent_plot.dot(x, y)
            assert [float(v) for v in dot[1:-2].split()] == pytest.approx([x, y], abs=5e-5)
