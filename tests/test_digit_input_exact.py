"""The fast digit_input functions give the same floats, bit for bit, as the plain definitions they replaced.

The plain definitions are kept here, verbatim from before the speed-up: rasterise every pixel of every segment's
box, a centre of mass over all 784 pixels, math.dist for every thinning step, the whole spline again per point.
"""

import itertools
import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pysrc"))

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vae import digit_input
from vae.digit_input import BOX, MIN_STEP, PEN_WIDTH, SIZE, Spline, catmull_rom

# ---- the plain definitions ----


def plain_bounding_box(strokes, pen_width=PEN_WIDTH):
    xs = [p[0] for s in strokes for p in s]
    ys = [p[1] for s in strokes for p in s]
    if not xs:
        return None
    r = pen_width / 2
    return min(xs) - r, min(ys) - r, max(xs) + r, max(ys) + r


def plain_segments(strokes, scale, dx, dy):
    segments = []
    for stroke in strokes:
        mapped = []
        for x, y in stroke:
            p = (x * scale + dx, y * scale + dy)
            if not mapped or math.dist(p, mapped[-1]) >= MIN_STEP:
                mapped.append(p)
        if len(stroke) > 1 and len(mapped) == 1:
            last = stroke[-1]
            mapped.append((last[0] * scale + dx, last[1] * scale + dy))
        if len(mapped) == 1:
            segments.append((*mapped[0], *mapped[0]))
        segments.extend((*a, *b) for a, b in itertools.pairwise(mapped))
    return segments


def plain_rasterize(segments, radius, size=SIZE):
    image = [0.0] * (size * size)
    reach = radius + 0.5
    for ax, ay, bx, by in segments:
        vx, vy = bx - ax, by - ay
        length2 = vx * vx + vy * vy
        x0 = max(0, int(min(ax, bx) - reach))
        x1 = min(size - 1, int(max(ax, bx) + reach))
        y0 = max(0, int(min(ay, by) - reach))
        y1 = min(size - 1, int(max(ay, by) + reach))
        for py in range(y0, y1 + 1):
            cy = py + 0.5
            row = py * size
            for px in range(x0, x1 + 1):
                cx = px + 0.5
                t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((cx - ax) * vx + (cy - ay) * vy) / length2))
                ex, ey = cx - ax - t * vx, cy - ay - t * vy
                cover = reach - math.sqrt(ex * ex + ey * ey)
                if cover > image[row + px]:
                    image[row + px] = 1.0 if cover > 1.0 else cover
    return image


def plain_center_of_mass(image, size=SIZE):
    total = sx = sy = 0.0
    for i, v in enumerate(image):
        if v:
            total += v
            sx += v * (i % size + 0.5)
            sy += v * (i // size + 0.5)
    return None if total == 0 else (sx / total, sy / total)


def plain_preprocess(strokes, pen_width=PEN_WIDTH):
    box = plain_bounding_box(strokes, pen_width)
    if box is None:
        return [0.0] * (SIZE * SIZE)
    x0, y0, x1, y1 = box
    scale = BOX / max(x1 - x0, y1 - y0)
    radius = pen_width / 2 * scale
    dx = (SIZE - (x1 - x0) * scale) / 2 - x0 * scale
    dy = (SIZE - (y1 - y0) * scale) / 2 - y0 * scale
    first = plain_rasterize(plain_segments(strokes, scale, dx, dy), radius)
    cx, cy = plain_center_of_mass(first) or (SIZE / 2, SIZE / 2)
    room_x, room_y = (SIZE - (x1 - x0) * scale) / 2, (SIZE - (y1 - y0) * scale) / 2
    shift_x = max(-room_x, min(room_x, SIZE / 2 - cx))
    shift_y = max(-room_y, min(room_y, SIZE / 2 - cy))
    return plain_rasterize(plain_segments(strokes, scale, dx + shift_x, dy + shift_y), radius)


# ---- comparisons ----


def same(a, b):
    """Equal as floats and in their bits (the sign of zero included)."""
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        assert x == y and math.copysign(1.0, x) == math.copysign(1.0, y), (i, x, y)


def random_segments(rng):
    """Chains, dots, grid-aligned and off-frame points, and pens from hairline to fat."""
    radius = rng.choice([rng.uniform(0.01, 12.0), rng.uniform(0.3, 2.0), 0.0, 0.5, 1.0, 1.5, 2.0, 3.5])
    point = (rng.uniform(-6.0, 34.0), rng.uniform(-6.0, 34.0))
    segments = []
    for _ in range(rng.randint(1, 14)):
        if rng.random() < 0.1:
            segments.append((*point, *point))
            continue
        step = rng.choice([0.35, 1.0, 4.0])
        nxt = (point[0] + rng.uniform(-step, step), point[1] + rng.uniform(-step, step))
        if rng.random() < 0.25:  # on pixel centres and edges, where rounding decides
            nxt = (round(nxt[0] * 2) / 2, round(nxt[1] * 2) / 2)
        segments.append((*point, *nxt))
        point = nxt
    return segments, radius


def test_rasterize_matches_the_plain_definition_on_random_segments():
    rng = random.Random(20261201)
    for _ in range(2500):
        segments, radius = random_segments(rng)
        same(digit_input.rasterize(segments, radius), plain_rasterize(segments, radius))


@pytest.mark.parametrize("size", [1, 5, 28, 40])
def test_rasterize_matches_for_other_sizes(size):
    rng = random.Random(size)
    for _ in range(200):
        segments, radius = random_segments(rng)
        same(digit_input.rasterize(segments, radius, size), plain_rasterize(segments, radius, size))


def hand_drawn(rng, strokes=3, points=60):
    """Strokes like a hand's: many close pointer samples, rounded to 0.1 as the page records them."""
    out = []
    for _ in range(strokes):
        x, y = rng.uniform(20, 260), rng.uniform(20, 260)
        angle, stroke = rng.uniform(0, 2 * math.pi), []
        for _ in range(rng.randint(1, points)):
            stroke.append((round(min(280.0, max(0.0, x)), 1), round(min(280.0, max(0.0, y)), 1)))
            angle += rng.gauss(0, 0.3)
            speed = rng.choice([0.3, 1.0, 3.0, 9.0])
            x, y = x + speed * math.cos(angle), y + speed * math.sin(angle)
        out.append(stroke)
    return out


def test_preprocess_matches_the_plain_definition_on_hand_drawn_strokes():
    rng = random.Random(7)
    for k in range(120):
        strokes = [catmull_rom(s) for s in hand_drawn(rng, strokes=1 + k % 4)]
        pen = PEN_WIDTH if k % 5 else rng.uniform(1.0, 60.0)
        same(digit_input.preprocess(strokes, pen), plain_preprocess(strokes, pen))


def test_preprocess_matches_while_a_stroke_grows():
    """Every frame of a drawing: the stroke in progress grows by a few points at a time."""
    rng = random.Random(11)
    strokes = hand_drawn(rng, strokes=3, points=90)
    for s in range(len(strokes)):
        for n in range(1, len(strokes[s]) + 1, 3):
            drawing = [catmull_rom(x) for x in [*strokes[:s], strokes[s][:n]]]
            same(digit_input.preprocess(drawing), plain_preprocess(drawing))


canvas_points = st.tuples(st.integers(0, 280), st.integers(0, 280))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(canvas_points, min_size=0, max_size=8), min_size=0, max_size=4))
def test_preprocess_matches_on_any_drawing(strokes):
    same(digit_input.preprocess(strokes), plain_preprocess(strokes))


def test_the_helpers_match_their_plain_definitions():
    rng = random.Random(5)
    for _ in range(200):
        strokes = hand_drawn(rng, strokes=rng.randint(1, 4))
        if rng.random() < 0.2:
            strokes.insert(rng.randrange(len(strokes) + 1), [])
        assert digit_input.bounding_box(strokes) == plain_bounding_box(strokes)
        scale, dx, dy = rng.uniform(0.05, 1.2), rng.uniform(-20, 20), rng.uniform(-20, 20)
        smooth = [catmull_rom(s) for s in strokes]
        assert digit_input._segments(smooth, scale, dx, dy) == plain_segments(smooth, scale, dx, dy)
        image = plain_rasterize(plain_segments(smooth, scale, dx, dy), rng.uniform(0.2, 3))
        assert digit_input.center_of_mass(image) == plain_center_of_mass(image)
    assert digit_input.bounding_box([[], []]) is None
    # thinning steps right at MIN_STEP, where only math.dist can decide
    for step in (MIN_STEP, MIN_STEP * (1 + 1e-12), MIN_STEP * (1 - 1e-12), math.nextafter(MIN_STEP, 0)):
        stroke = [(0.0, 0.0), (step, 0.0), (step, step), (2 * step, step * 1.0000000001)]
        assert digit_input._segments([stroke], 1.0, 0.0, 0.0) == plain_segments([stroke], 1.0, 0.0, 0.0)


def test_spline_follows_a_growing_stroke_exactly():
    rng = random.Random(3)
    for stroke in hand_drawn(rng, strokes=6, points=80):
        spline = Spline()
        for n in range(len(stroke) + 1):
            assert spline.update(stroke[:n]) == catmull_rom(stroke[:n])
        assert spline.update(stroke) == catmull_rom(stroke)  # no new point
    # a stroke that is not the continuation of the last one (Undo, another stroke) is made again from scratch
    spline = Spline()
    a, b = hand_drawn(rng, strokes=2, points=40)
    assert spline.update(a) == catmull_rom(a)
    assert spline.update(b) == catmull_rom(b)
    assert spline.update(a[:5]) == catmull_rom(a[:5])
    # the list it returns is the caller's own
    out = spline.update(a)
    out.clear()
    assert spline.update(a) == catmull_rom(a)


def test_spline_follows_a_stroke_that_grows_in_place():
    """The page appends to the stroke list itself: the spline must notice, not compare the list with itself."""
    rng = random.Random(9)
    (points,) = hand_drawn(rng, strokes=1, points=60)
    stroke, spline = [], Spline()
    for p in points:
        stroke.append(p)
        assert spline.update(stroke) == catmull_rom(stroke)
