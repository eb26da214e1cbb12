"""Interactions: hovers and drawing moves one at a time, and whole strokes at a hand's pace, each timed from the
event to the repaint the user sees."""

import itertools
import math
import random

from tests.bench.page_js import JS_ARM, JS_ARMED, JS_MEASURE, JS_PLACEHOLDERS, JS_STROKES
from tests.bench.settings import (
    FOUR,
    MOUSE_SECTION,
    SETTLE_TIMEOUT_MS,
    STROKE_PERIOD_MS,
    STROKE_POINTS,
    strokes_section,
)


def hover_events(n, rng):
    """Distinct positions spread over the plot (fractions of its box), in a shuffled order."""
    side = math.ceil(math.sqrt(n))
    cells = [((i % side + rng.random()) / side, (i // side + rng.random()) / side) for i in range(side * side)]
    rng.shuffle(cells)
    return [["pointermove", 0.08 + 0.84 * x, 0.05 + 0.84 * y] for x, y in cells[:n]]


def draw_events(n, rng):
    """Strokes of one pointerdown and nine pointermoves each (the pointerups are not measured)."""
    events, measured = [], 0
    while measured < n:
        x, y = 0.2 + rng.random() * 0.6, 0.15 + rng.random() * 0.3
        dx, dy = (rng.random() - 0.5) * 0.06, 0.05
        events.append(["pointerdown", x, y])
        measured += 1
        for _ in range(min(9, n - measured)):
            x, y = min(0.95, max(0.05, x + dx)), min(0.95, y + dy)
            events.append(["pointermove", x, y])
            measured += 1
        events.append(["pointerup", x, y])
    return events


def bench_interactions(results, target, settings):
    page, p = target.page, target.prefix
    section = target.section("interaction: input → reconstruction repainted")
    rng = random.Random(20240601)
    page.wait_for_selector("html[data-busy=false]", state="attached", timeout=SETTLE_TIMEOUT_MS)
    covered = page.evaluate(JS_PLACEHOLDERS)
    if covered:
        results.note(
            f"{target.name}: after data-ready the prerendered placeholder images still cover the live canvases "
            f"({', '.join('#' + c for c in covered)}): the repaints measured below are drawn under them"
        )
    results.details[f"{p}placeholders_shown_after_ready"] = covered
    plans = (
        ("hover", "latent-plot", hover_events(settings["hover"], rng), "latent hover (pointermove)"),
        ("draw", "draw-canvas", draw_events(settings["draw"], rng), "drawing (pointerdown/move)"),
    )
    # The very first input after data-ready pays one-off costs (code still warming up): shown on its own row,
    # then a few unmeasured hovers, so the rows below describe the steady state.
    first = page.evaluate(
        JS_MEASURE, {"targetId": "latent-plot", "events": hover_events(1, rng), "timeoutMs": SETTLE_TIMEOUT_MS}
    )[0]
    results.add(section, p + "first_hover", "first hover after data-ready: total", "ms", [first["total"]])
    page.evaluate(
        JS_MEASURE, {"targetId": "latent-plot", "events": hover_events(5, rng), "timeoutMs": SETTLE_TIMEOUT_MS}
    )
    for key, element, events, label in plans:
        if key == "draw":
            page.click("#clear-button")
            page.wait_for_selector("html[data-busy=false]", state="attached", timeout=SETTLE_TIMEOUT_MS)
        measured = page.evaluate(JS_MEASURE, {"targetId": element, "events": events, "timeoutMs": SETTLE_TIMEOUT_MS})
        interaction_rows(results, target, section, key, label, measured)


def mouse_hover_lists(n):
    """The latent hovers a driver's mouse makes, the same in every engine: a first, five unmeasured, then `n`."""
    rng = random.Random(20240601)
    return {"first": hover_events(1, rng), "warmup": hover_events(5, rng), "hover": hover_events(n, rng)}


def bench_mouse_hovers(results, target, settings):
    """Latent hovers moved by Playwright's mouse (a real pointer, not an event dispatched in the page), measured as
    Firefox's are (tests/bench/engines.py): after the dispatched ones, so its five unmeasured hovers suffice."""
    page, lists = target.page, mouse_hover_lists(settings["hover"])
    plot = page.locator("#latent-plot")
    plot.scroll_into_view_if_needed()
    box, last, measured = plot.bounding_box(), None, []
    for name in ("warmup", "hover"):
        for _, fx, fy in lists[name]:
            x, y = round(box["x"] + fx * box["width"]), round(box["y"] + fy * box["height"])
            if (x, y) == last:
                x += 1  # the pointer must move for a pointermove
            page.evaluate(JS_ARM, {"targetId": "latent-plot", "timeoutMs": SETTLE_TIMEOUT_MS})
            page.mouse.move(x, y)
            figures = page.evaluate(JS_ARMED)
            if name == "hover":
                measured.append(figures)
            last = (x, y)
    interaction_rows(results, target, target.section(MOUSE_SECTION), "mouse_hover", "latent hover (pointermove)",
                     measured)  # fmt: skip


def interaction_rows(results, target, section, key, label, measured):
    """The rows of one JS_MEASURE run: the total, its parts and the frames, over the events that started work."""
    p = target.prefix
    measured = [m for m in measured if m is not None]
    if target.busy_signal:
        idle = [m for m in measured if not m["started"]]
        if idle:
            results.note(
                f"{target.name}: {len(idle)} of {len(measured)} {key} events did not set data-busy=true (no work ran)"
            )
        done = [m for m in measured if m["started"]]
    else:  # the floor does all its work in the handler: every event counts
        done = measured
    results.add(section, p + key, f"{label}: total", "ms", [m["total"] for m in done])
    driven = bool(done) and all("queued" in m for m in done)  # a driver's input (JS_ARM), not one dispatched in JS
    parts = (
        ("handler", "event handler (sync, in dispatch)"),
        ("work", "work after the handler until data-busy=false"),
        ("present", "until that result's frame is rendered"),
    )
    for part, part_label in parts:
        # The floor's work after the handler is 0 by design, and a driver's event runs the page's work inside its
        # dispatch (microtasks after each listener), so it may be 0 too: "span" rows may be 0 ("time" rows may not).
        kind = "time" if target.busy_signal and not driven else "span"
        results.add(section, f"{p}{key}_{part}", f"  of which: {part_label}", "ms", [m[part] for m in done],
                    kind=kind)  # fmt: skip
    if driven:  # it may wait in the browser before its dispatch
        label = "  before it: event created → dispatched (not in the total)"
        results.add(section, f"{p}{key}_queued", label, "ms", [m["queued"] for m in done], kind="span")
        label = "  from the event's creation: created → repainted"
        results.add(section, f"{p}{key}_created", label, "ms", [m["queued"] + m["total"] for m in done])
    label = "  frames begun until repainted (1 = the next frame)"
    results.add(section, f"{p}{key}_frames", label, "ratio", [m["frames"] for m in done], kind="count")
    results.details[f"{p}interaction_{key}"] = done


def stroke_paths(points=STROKE_POINTS):
    """Three strokes (the 4 of FOUR) resampled to `points` positions each, as fractions of the drawing canvas."""
    out = []
    for stroke in FOUR:
        lengths = [0.0]
        for (x0, y0), (x1, y1) in itertools.pairwise(stroke):
            lengths.append(lengths[-1] + math.hypot(x1 - x0, y1 - y0))
        path, j = [], 0
        for i in range(points):
            s = lengths[-1] * i / (points - 1)
            while j < len(stroke) - 2 and lengths[j + 1] < s:
                j += 1
            span = (lengths[j + 1] - lengths[j]) or 1.0
            f = min(1.0, max(0.0, (s - lengths[j]) / span))
            x = stroke[j][0] + (stroke[j + 1][0] - stroke[j][0]) * f
            y = stroke[j][1] + (stroke[j + 1][1] - stroke[j][1]) * f
            path.append([round(x / 280, 5), round(y / 280, 5)])
        out.append(path)
    return out


def bench_strokes(results, target, settings):
    """Three long strokes at a hand's pace; per frame, the page's work: handlers + work until data-busy=false."""
    page = target.page
    page.click("#clear-button")
    page.wait_for_selector("html[data-busy=false]", state="attached", timeout=SETTLE_TIMEOUT_MS)
    points = settings["stroke_points"]
    strokes_rows(results, target, target.section(strokes_section(points)), "strokes", stroke_paths(points))


def strokes_rows(results, target, section, key, strokes, also=None):
    """Run JS_STROKES on the drawing canvas (`also`: a view's element whose data-busy counts too) and add its rows
    under `key`: `key`_work, _handler, _events, _frames, _rate."""
    p = target.prefix
    out = target.page.evaluate(
        JS_STROKES,
        {"targetId": "draw-canvas", "strokes": strokes, "periodMs": STROKE_PERIOD_MS, "timeoutMs": SETTLE_TIMEOUT_MS,
         "alsoId": also},
    )  # fmt: skip
    frames = out["frames"]
    kind = "time" if target.busy_signal else "span"
    results.add(section, f"{p}{key}_work", "per-frame work: handlers + work until idle", "ms",
                [f["handler"] + f["work"] for f in frames], kind=kind)  # fmt: skip
    results.add(section, f"{p}{key}_handler", "  of which: event handlers (sync)", "ms",
                [f["handler"] for f in frames], kind="span")  # fmt: skip
    results.add(section, f"{p}{key}_events", "  pointer events per frame", "ratio",
                [f["events"] for f in frames], kind="count")  # fmt: skip
    results.add(section, f"{p}{key}_frames", "  frames that delivered events", "count", [len(frames)], kind="count")
    pace = sum(out["events"]) / max(1e-9, sum(out["ms"])) * 1e3
    results.add(section, f"{p}{key}_rate", "  events delivered per second", "count", [pace], kind="count")
    results.details[f"{p}{key}"] = out
