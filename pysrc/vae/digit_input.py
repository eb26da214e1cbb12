"""Stage 1, the input: pen strokes become the 28×28 image the encoder sees, prepared the way MNIST was made.

MNIST fitted each digit's bounding box into 20×20 (keeping its aspect ratio, anti-aliased) and then moved it so
its centre of mass sits at the centre of the 28×28 frame. Doing the same here is what makes a hand-drawn 7 land
among the 7s. Strokes are rasterised analytically (distance to each segment), so no canvas readback is needed.

This runs on every animation frame while the learner draws, in Pyodide, so the hot functions skip work that cannot
change the result (pixels already fully inked, pixels out of reach, unchanged spline pieces) but never change the
arithmetic: their output is the same, float for float, as the plain definitions they replace (tests/test_digit_input.py
keeps those definitions and compares).
"""

import itertools
import math
from operator import itemgetter

SIZE = 28
BOX = 20
PEN_WIDTH = 22.0  # in drawing-canvas pixels (the canvas is 280 wide); thick like MNIST's pens after fitting
MIN_STEP = 0.35  # output pixels: closer points add cost but no detail


def catmull_rom(points, step=3.0):
    """Points interpolated along a Catmull-Rom spline through the pointer samples: smooth strokes from sparse events."""
    if len(points) < 3:
        return list(points)
    out = [points[0]]
    padded = [points[0], *points, points[-1]]
    for i in range(1, len(padded) - 2):
        out.extend(_spline_piece(*padded[i - 1 : i + 3], step))
    return out


def _spline_piece(p0, p1, p2, p3, step):
    """The points after p1 up to p2 on the Catmull-Rom piece between them."""
    out = []
    n = max(1, int(math.dist(p1, p2) / step))
    for k in range(1, n + 1):
        t = k / n
        t2, t3 = t * t, t * t * t
        out.append(
            tuple(
                0.5
                * (
                    2 * p1[j]
                    + (-p0[j] + p2[j]) * t
                    + (2 * p0[j] - 5 * p1[j] + 4 * p2[j] - p3[j]) * t2
                    + (-p0[j] + 3 * p1[j] - 3 * p2[j] + p3[j]) * t3
                )
                for j in (0, 1)
            )
        )
    return out


class Spline:
    """catmull_rom(points) for a stroke that grows point by point: each update computes only the pieces that the
    new points change (the last one or two), not the whole stroke. update() returns what catmull_rom would."""

    def __init__(self, step=3.0):
        self.step = step
        self.points = []  # the points the spline was made from
        self.out = []
        self.ends = []  # ends[i]: len(out) once piece i (from points[i] to points[i + 1]) is in

    def update(self, points):
        n, old = len(points), len(self.points)
        if n < 3:
            self.points, self.out, self.ends = list(points), [], []
            return list(points)
        if old < 3 or n < old or points[:old] != self.points:
            self.out, self.ends, first = [points[0]], [], 0
        else:
            # Piece i reads points[i - 1 .. i + 2], the last one padded: pieces up to old - 3 are unchanged.
            first = old - 2
            del self.ends[first:]
            del self.out[self.ends[-1] if self.ends else 1 :]
        last = n - 1
        for i in range(first, last):
            p3 = points[i + 2] if i + 2 <= last else points[last]
            self.out.extend(_spline_piece(points[i - 1] if i else points[0], points[i], points[i + 1], p3, self.step))
            self.ends.append(len(self.out))
        self.points = list(points)
        return list(self.out)


def bounding_box(strokes, pen_width=PEN_WIDTH):
    """(x0, y0, x1, y1) around every stroke, pen included, or None for an empty drawing."""
    strokes = [s for s in strokes if s]
    if not strokes:
        return None
    r = pen_width / 2
    x, y = itemgetter(0), itemgetter(1)
    return (
        min(min(map(x, s)) for s in strokes) - r,
        min(min(map(y, s)) for s in strokes) - r,
        max(max(map(x, s)) for s in strokes) + r,
        max(max(map(y, s)) for s in strokes) + r,
    )


# Squared steps surely above or below MIN_STEP: only a step between the two needs math.dist to decide.
_STEP2_ABOVE = MIN_STEP * MIN_STEP * (1 + 1e-9)
_STEP2_BELOW = MIN_STEP * MIN_STEP * (1 - 1e-9)


def _segments(strokes, scale, dx, dy):
    """Each stroke mapped to output pixels, thinned, as (ax, ay, bx, by) segments; a lone point is a dot."""
    segments = []
    for stroke in strokes:
        mapped = []
        lx = ly = 0.0
        for x, y in stroke:
            px, py = x * scale + dx, y * scale + dy
            if mapped:
                ex, ey = px - lx, py - ly
                d2 = ex * ex + ey * ey
                if d2 < _STEP2_ABOVE and (d2 <= _STEP2_BELOW or math.dist((px, py), (lx, ly)) < MIN_STEP):
                    continue
            mapped.append((px, py))
            lx, ly = px, py
        if len(stroke) > 1 and len(mapped) == 1:
            last = stroke[-1]
            mapped.append((last[0] * scale + dx, last[1] * scale + dy))
        if len(mapped) == 1:
            segments.append((*mapped[0], *mapped[0]))
        segments.extend((*a, *b) for a, b in itertools.pairwise(mapped))
    return segments


_MARGIN = 1e-7  # pixels: far more than any rounding here, far less than a pixel


def rasterize(segments, radius, size=SIZE):
    """Anti-aliased coverage of round-capped segments of the given radius, in [0, 1], row-major.

    A pixel's value is the largest `reach - distance` over the segments (clipped to [0, 1]), with the distance to
    each segment computed exactly as written below. To find it quickly: pixels whose centre lies well within
    `reach - 1` of a stroke point are filled with 1.0 first (no distance can change them); then, for each
    segment, only the pixels of each row that may lie within `reach` of it are visited, and those already at 1.0
    are skipped. Every pixel that could change is still computed, in the same arithmetic.
    """
    image = [0.0] * (size * size)
    reach = radius + 0.5
    sqrt = math.sqrt
    last = size - 1
    inner = reach - 1.0 - _MARGIN
    if inner > 1.0:  # (for thinner pens the fill costs more than the distances it saves)
        ones = [1.0] * size
        inner2 = inner * inner
        points = set()
        for ax, ay, bx, by in segments:
            points.add((ax, ay))
            points.add((bx, by))
        for x, y in points:
            top = y - inner - 0.5
            py0 = int(top) + 1 if top >= 0.0 else 0
            py1 = min(last, int(y + inner - 0.5))
            for py in range(py0, py1 + 1):
                dy = py + 0.5 - y
                w2 = inner2 - dy * dy
                if w2 <= 0.0:
                    continue
                w = sqrt(w2)
                left, right = x - w - 0.5, x + w - 0.5
                if right < 0.0:
                    continue
                x0 = int(left) + 1 if left >= 0.0 else 0
                x1 = min(last, int(right))
                if x0 <= x1:
                    row = py * size
                    image[row + x0 : row + x1 + 1] = ones[: x1 - x0 + 1]
    outer = reach + _MARGIN
    outer2 = outer * outer
    for ax, ay, bx, by in segments:
        vx, vy = bx - ax, by - ay
        length2 = vx * vx + vy * vy
        lo_x, hi_x = (ax, bx) if ax <= bx else (bx, ax)
        lo_y, hi_y = (ay, by) if ay <= by else (by, ay)
        top = lo_y - outer - 0.5
        if top > 0.0:
            py0 = int(top)
            if py0 < top:
                py0 += 1
        else:
            py0 = 0
        py1 = int(hi_y + outer - 0.5)
        if py1 > last:
            py1 = last
        for py in range(py0, py1 + 1):
            cy = py + 0.5
            if cy < lo_y:
                gap = lo_y - cy
                w2 = outer2 - gap * gap
            elif cy > hi_y:
                gap = cy - hi_y
                w2 = outer2 - gap * gap
            else:
                w2 = outer2
            if w2 <= 0.0:
                continue
            w = sqrt(w2)
            left = lo_x - w - 0.5
            if left > 0.0:
                x0 = int(left)
                if x0 < left:
                    x0 += 1
            else:
                x0 = 0
            x1 = int(hi_x + w - 0.5)
            if x1 > last:
                x1 = last
            row = py * size
            ry = cy - ay
            ryvy = ry * vy
            for i in range(row + x0, row + x1 + 1):
                v = image[i]
                if v == 1.0:
                    continue
                rx = i - row + 0.5 - ax
                if length2 == 0:
                    t = 0.0
                else:  # max(0.0, min(1.0, ...)), spelled out
                    t = (rx * vx + ryvy) / length2
                    if not t < 1.0:
                        t = 1.0
                    if not t > 0.0:
                        t = 0.0
                ex, ey = rx - t * vx, ry - t * vy
                cover = reach - sqrt(ex * ex + ey * ey)
                if cover > v:
                    image[i] = 1.0 if cover > 1.0 else cover
    return image


def center_of_mass(image, size=SIZE):
    """(x, y) centre of mass in pixel units (pixel centres at i + 0.5), or None for a blank image."""
    total = sx = sy = 0.0
    for row in range(0, len(image), size):
        line = image[row : row + size]
        if not any(line):
            continue
        cy = row // size + 0.5
        for i, v in enumerate(line, row):
            if v:
                total += v
                sx += v * (i % size + 0.5)
                sy += v * cy
    return None if total == 0 else (sx / total, sy / total)


def preprocess(strokes, pen_width=PEN_WIDTH):
    """Strokes in canvas pixels → 784 floats in [0, 1]: box fitted into 20×20, centre of mass at the centre."""
    box = bounding_box(strokes, pen_width)
    if box is None:
        return [0.0] * (SIZE * SIZE)
    x0, y0, x1, y1 = box
    scale = BOX / max(x1 - x0, y1 - y0)
    radius = pen_width / 2 * scale
    dx = (SIZE - (x1 - x0) * scale) / 2 - x0 * scale
    dy = (SIZE - (y1 - y0) * scale) / 2 - y0 * scale
    first = rasterize(_segments(strokes, scale, dx, dy), radius)
    cx, cy = center_of_mass(first) or (SIZE / 2, SIZE / 2)
    # Centre the mass, but never push the fitted box out of the frame: a lopsided drawing keeps all its ink.
    room_x, room_y = (SIZE - (x1 - x0) * scale) / 2, (SIZE - (y1 - y0) * scale) / 2
    shift_x = max(-room_x, min(room_x, SIZE / 2 - cx))
    shift_y = max(-room_y, min(room_y, SIZE / 2 - cy))
    return rasterize(_segments(strokes, scale, dx + shift_x, dy + shift_y), radius)


def from_bytes(data):
    """uint8 pixels (a preset) → floats in [0, 1], exactly as training scaled them."""
    return [b / 255.0 for b in data]
