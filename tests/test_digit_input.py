"""Pen strokes → the 28×28 image the encoder sees, prepared as MNIST was: the box fitted into 20×20 with its aspect
ratio kept, anti-aliased, and the centre of mass moved to the centre of the frame."""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pysrc"))

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vae.digit_input import (
    BOX,
    PEN_WIDTH,
    SIZE,
    bounding_box,
    catmull_rom,
    center_of_mass,
    from_bytes,
    preprocess,
    rasterize,
)

FAST = settings(max_examples=30, deadline=None)


def circle(cx, cy, r, n=32):
    return [(cx + r * math.cos(2 * math.pi * i / n), cy + r * math.sin(2 * math.pi * i / n)) for i in range(n + 1)]


STROKES = {
    "horizontal": [[(40, 140), (240, 140)]],
    "vertical": [[(140, 40), (140, 240)]],
    "L": [[(80, 40), (80, 240), (200, 240)]],
    "dot": [[(100, 100)]],
    "corner circle": [circle(35, 35, 18)],
    "seven": [[(60, 50), (220, 50), (120, 250)]],
    "plus, two strokes": [[(140, 60), (140, 220)], [(60, 140), (220, 140)]],
}
SYMMETRIC = {"horizontal", "vertical", "dot", "corner circle", "plus, two strokes"}


def ink_box(image, threshold=0.1):
    """(width, height) of the pixels above threshold, in whole pixels."""
    xs = [i % SIZE for i, v in enumerate(image) if v > threshold]
    ys = [i // SIZE for i, v in enumerate(image) if v > threshold]
    return max(xs) - min(xs) + 1, max(ys) - min(ys) + 1


def transform(strokes, f):
    return [[f(p) for p in s] for s in strokes]


def max_diff(a, b):
    return max(abs(x - y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("smooth", [False, True], ids=["raw", "catmull-rom"])
@pytest.mark.parametrize("name", list(STROKES))
def test_preprocess_fits_20x20_and_centres_the_mass(name, smooth):
    strokes = STROKES[name]
    if smooth:
        strokes = [catmull_rom(s) for s in strokes]
    image = preprocess(strokes)
    assert len(image) == SIZE * SIZE == 784
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in image)
    assert max(image) > 0.9  # there is real ink
    cx, cy = center_of_mass(image)
    assert abs(cx - 14) <= 0.6 and abs(cy - 14) <= 0.6
    w, h = ink_box(image)
    assert 17 <= max(w, h) <= 23
    if name in SYMMETRIC:
        # box and mass share a centre: 4 pixels of margin on every side (less ½ for anti-aliasing)
        for i, v in enumerate(image):
            x, y = i % SIZE, i // SIZE
            if min(x, y) < 3 or max(x, y) >= SIZE - 3:
                assert v == 0.0, (x, y, v)


def test_aspect_ratio_is_preserved():
    w, h = ink_box(preprocess(STROKES["horizontal"]))
    assert w >= 17 and h <= 4  # a wide stroke stays wide
    w, h = ink_box(preprocess(STROKES["vertical"]))
    assert h >= 17 and w <= 4  # a tall one stays tall
    # a 2:1 rectangle keeps (about) 2:1, pen included
    rect = [[(50, 100), (250, 100), (250, 200), (50, 200), (50, 100)]]
    x0, y0, x1, y1 = bounding_box(rect)
    w, h = ink_box(preprocess(rect), threshold=0.5)
    assert w / h == pytest.approx((x1 - x0) / (y1 - y0), rel=0.12)
    # and the same rectangle standing up is the transpose
    upright = transform(rect, lambda p: (p[1], p[0]))
    assert ink_box(preprocess(upright), threshold=0.5) == (h, w)


def test_a_dot_is_a_round_centred_blob():
    image = preprocess([[(100, 100)]])
    cx, cy = center_of_mass(image)
    assert cx == pytest.approx(14, abs=1e-9) and cy == pytest.approx(14, abs=1e-9)
    w, h = ink_box(image)
    assert w == h and w <= BOX + 1
    # symmetric under both mirrors and the transpose, as a disc must be
    for i, v in enumerate(image):
        x, y = i % SIZE, i // SIZE
        assert image[y * SIZE + (SIZE - 1 - x)] == pytest.approx(v, abs=1e-9)
        assert image[(SIZE - 1 - y) * SIZE + x] == pytest.approx(v, abs=1e-9)
        assert image[x * SIZE + y] == pytest.approx(v, abs=1e-9)
    # the blob is solid in the middle and fades out at its rim
    assert image[14 * SIZE + 14] == 1.0
    assert any(0.0 < v < 1.0 for v in image)


def test_a_dot_anywhere_gives_the_same_image():
    a = preprocess([[(10, 10)]])
    b = preprocess([[(270, 140)]])
    assert max_diff(a, b) < 1e-9


@pytest.mark.parametrize("name", ["L", "seven", "corner circle", "plus, two strokes"])
@pytest.mark.parametrize("offset", [(37, -23), (3.3, 0.7), (-120, 200)])
def test_translation_does_not_change_the_output(name, offset):
    strokes = STROKES[name]
    moved = transform(strokes, lambda p: (p[0] + offset[0], p[1] + offset[1]))
    assert max_diff(preprocess(strokes), preprocess(moved)) < 1e-6


@pytest.mark.parametrize("name", ["L", "seven", "corner circle", "plus, two strokes"])
@pytest.mark.parametrize("factor", [0.5, 1.7, 3.0])
def test_scaling_strokes_and_pen_together_does_not_change_the_output(name, factor):
    strokes = STROKES[name]
    scaled = transform(strokes, lambda p: (p[0] * factor + 11, p[1] * factor - 5))
    assert max_diff(preprocess(strokes), preprocess(scaled, pen_width=PEN_WIDTH * factor)) < 1e-6


@pytest.mark.parametrize("name", ["L", "seven", "corner circle"])
def test_a_small_drawing_is_blown_up_to_the_same_size(name):
    """The pen keeps its width in canvas pixels, so a small drawing comes out bolder, but placed and sized alike."""
    strokes = STROKES[name]
    small = transform(strokes, lambda p: (p[0] * 0.5 + 140, p[1] * 0.5 + 3))
    big_image, small_image = preprocess(strokes), preprocess(small)
    bw, bh = ink_box(big_image)
    sw, sh = ink_box(small_image)
    assert abs(max(bw, bh) - max(sw, sh)) <= 1
    assert all(abs(a - b) <= 2 for a, b in ((bw, sw), (bh, sh)))
    cx, cy = center_of_mass(small_image)
    assert abs(cx - 14) <= 0.6 and abs(cy - 14) <= 0.6
    assert sum(small_image) > sum(big_image)  # bolder


canvas_points = st.tuples(st.integers(0, 280), st.integers(0, 280))


@FAST
@given(st.lists(canvas_points, min_size=1, max_size=10))
def test_any_single_stroke_gives_a_centred_20px_image(stroke):
    image = preprocess([stroke])
    assert len(image) == 784
    assert all(0.0 <= v <= 1.0 for v in image)
    cx, cy = center_of_mass(image)
    assert abs(cx - 14) <= 0.6 and abs(cy - 14) <= 0.6
    assert 17 <= max(ink_box(image)) <= 23


@FAST
@given(st.lists(st.lists(canvas_points, min_size=1, max_size=6), min_size=1, max_size=4))
def test_any_drawing_gives_784_values_in_range(strokes):
    image = preprocess(strokes)
    assert len(image) == 784
    assert all(0.0 <= v <= 1.0 for v in image)
    assert max(image) > 0.5


def test_an_unbalanced_drawing_keeps_all_its_ink():
    strokes = [[(4, 180)], [(251, 14), (243, 96)]]  # a tap at the far left, a short stroke at the right
    image = preprocess(strokes)
    left = [v for i, v in enumerate(image) if i % SIZE < 10]
    assert max(left) > 0.5, "the tap vanished"


@pytest.mark.parametrize("strokes", [[], [[]], [[], []]])
def test_empty_input_is_all_zeros(strokes):
    assert preprocess(strokes) == [0.0] * 784
    assert center_of_mass(preprocess(strokes)) is None


def test_a_stroke_of_repeated_points_is_a_dot():
    assert max_diff(preprocess([[(50, 60), (50, 60), (50, 60)]]), preprocess([[(50, 60)]])) < 1e-9


# ---- the helpers ----


def test_bounding_box_includes_the_pen():
    assert bounding_box([]) is None
    assert bounding_box([[]]) is None
    assert bounding_box([[(10, 20), (30, 5)], [(0, 40)]], pen_width=4) == (-2, 3, 32, 42)
    assert bounding_box([[(10, 20)]]) == (
        10 - PEN_WIDTH / 2,
        20 - PEN_WIDTH / 2,
        10 + PEN_WIDTH / 2,
        20 + PEN_WIDTH / 2,
    )


def test_catmull_rom_passes_through_the_points_and_fills_gaps():
    points = [(0.0, 0.0), (60.0, 0.0), (60.0, 45.0), (10.0, 80.0), (12.0, 81.0)]
    out = catmull_rom(points, step=3.0)
    assert out[0] == points[0]
    # every event is on the curve, in order
    index = 0
    for p in points[1:]:
        while math.dist(out[index], p) > 1e-9:
            index += 1
        assert index < len(out)
    assert out[-1] == pytest.approx(points[-1])
    # far-apart events get points between them, no gap longer than about one step
    assert len(out) > 2 * len(points)
    longest = max(math.dist(a, b) for a, b in itertools.pairwise(out))
    assert longest < 2 * 3.0
    # close events are not subdivided: one output point per segment
    close = [(0.0, 0.0), (1.0, 0.0), (2.0, 1.0), (3.0, 1.0)]
    assert len(catmull_rom(close)) == len(close)


def test_catmull_rom_keeps_short_strokes_and_straight_lines():
    assert catmull_rom([]) == []
    assert catmull_rom([(1, 2)]) == [(1, 2)]
    assert catmull_rom([(1, 2), (50, 60)]) == [(1, 2), (50, 60)]
    line = catmull_rom([(0.0, 0.0), (30.0, 30.0), (90.0, 90.0)])
    assert all(x == pytest.approx(y, abs=1e-9) for x, y in line)
    xs = [x for x, _ in line]
    assert xs == sorted(xs)


def test_rasterize_is_anti_aliased():
    # a horizontal segment of radius 2 along y = 10.3: full coverage at its core, fractions at its edges
    image = rasterize([(5.0, 10.3, 20.0, 10.3)], 2.0)
    assert len(image) == 784
    column = [image[y * SIZE + 12] for y in range(SIZE)]
    assert column[10] == 1.0
    fractional = [v for v in column if 0.0 < v < 1.0]
    assert fractional, column
    # coverage is radius + ½ − distance from the pixel centre, clipped to [0, 1]
    for y, v in enumerate(column):
        expected = min(1.0, max(0.0, 2.5 - abs(y + 0.5 - 10.3)))
        assert v == pytest.approx(expected, abs=1e-12)
    assert image[(SIZE - 1) * SIZE + (SIZE - 1)] == 0.0


def test_rasterize_a_dot_and_clipping_at_the_frame():
    image = rasterize([(14.0, 14.0, 14.0, 14.0)], 3.0)
    assert image[13 * SIZE + 13] == 1.0
    for i, v in enumerate(image):
        d = math.dist((i % SIZE + 0.5, i // SIZE + 0.5), (14.0, 14.0))
        assert v == pytest.approx(min(1.0, max(0.0, 3.5 - d)), abs=1e-12)
    # a segment partly or wholly outside the frame neither crashes nor wraps round
    edge = rasterize([(-5.0, 3.0, 2.0, 3.0), (40.0, 40.0, 50.0, 50.0)], 1.0)
    assert max(edge[3 * SIZE : 3 * SIZE + 3]) == 1.0
    assert all(edge[y * SIZE + x] == 0.0 for y in range(SIZE) for x in range(5, SIZE))


def test_center_of_mass_uses_pixel_centres():
    image = [0.0] * 784
    image[3 * SIZE + 5] = 1.0
    assert center_of_mass(image) == (5.5, 3.5)
    image[3 * SIZE + 7] = 3.0
    assert center_of_mass(image) == pytest.approx((7.0, 3.5))
    assert center_of_mass([0.0] * 784) is None


def test_from_bytes_scales_by_255():
    data = bytes(range(256))
    out = from_bytes(data)
    assert len(out) == 256
    assert out[0] == 0.0 and out[255] == 1.0 and out[51] == pytest.approx(0.2)
    assert all(v == b / 255.0 for v, b in zip(out, data, strict=True))
    assert from_bytes(bytearray([0, 255])) == [0.0, 1.0]
