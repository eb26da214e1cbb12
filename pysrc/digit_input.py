"""Stage 1, the input: pen strokes become the 28×28 image the encoder sees, prepared the way MNIST was made.

MNIST fitted each digit's bounding box into 20×20 (keeping its aspect ratio, anti-aliased) and then moved it so
its centre of mass sits at the centre of the 28×28 frame. Doing the same here is what makes a hand-drawn 7 land
among the 7s. Strokes are rasterised analytically (distance to each segment), so no canvas readback is needed.
"""

import itertools
import math

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
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
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


def bounding_box(strokes, pen_width=PEN_WIDTH):
    """(x0, y0, x1, y1) around every stroke, pen included, or None for an empty drawing."""
    xs = [p[0] for s in strokes for p in s]
    ys = [p[1] for s in strokes for p in s]
    if not xs:
        return None
    r = pen_width / 2
    return min(xs) - r, min(ys) - r, max(xs) + r, max(ys) + r


def _segments(strokes, scale, dx, dy):
    """Each stroke mapped to output pixels, thinned, as (ax, ay, bx, by) segments; a lone point is a dot."""
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


def rasterize(segments, radius, size=SIZE):
    """Anti-aliased coverage of round-capped segments of the given radius, in [0, 1], row-major."""
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


def center_of_mass(image, size=SIZE):
    """(x, y) centre of mass in pixel units (pixel centres at i + 0.5), or None for a blank image."""
    total = sx = sy = 0.0
    for i, v in enumerate(image):
        if v:
            total += v
            sx += v * (i % size + 0.5)
            sy += v * (i // size + 0.5)
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
