"""End to end: the real page, the real ONNX models in onnxruntime-web, driven in Debian's Chromium."""

import math
from collections import Counter
from pathlib import Path

import pytest

from page import artifacts

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "build" / "screenshots"


@pytest.fixture(scope="module")
def latent_map():
    models = REPO / "models"
    mu, labels, _ = artifacts.parse_latent_map(
        (models / "latent_map.json").read_text(), (models / "latent_map.bin").read_bytes()
    )
    return mu, labels


def knn_vote(latent_map, point, k=10):
    mu, labels = latent_map
    nearest = sorted(range(len(mu)), key=lambda i: math.dist(mu[i], point))[:k]
    return Counter(labels[i] for i in nearest).most_common(1)[0][0]


def canvas_pixels(page, selector):
    return page.evaluate(
        """(sel) => { const c = document.querySelector(sel);
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }""",
        selector,
    )


SEVEN = [[(60, 50), (220, 50), (140, 250)]]
DRAWN = {
    7: SEVEN,
    1: [[(140, 40), (140, 250)]],
    0: [[(140, 40), (80, 80), (70, 150), (100, 230), (160, 240), (210, 170), (200, 80), (140, 40)]],
}


def assert_consistent(watch):
    mu, sigma, eps, z = (watch.vector(n) for n in ("mu", "sigma", "epsilon", "z"))
    for i in range(2):
        assert z[i] == pytest.approx(mu[i] + sigma[i] * eps[i], rel=1e-9, abs=1e-9)


def test_ready_without_errors_or_foreign_requests(watch, server_url):
    page = watch.open(server_url)
    watch.settle()
    assert watch.errors == []
    assert watch.foreign == []
    assert watch.csp_violations == []
    assert page.locator("#scatter path").count() == 10
    assert page.locator(".placeholder").count() == 0  # the prerendered first view has handed over to Python
    assert page.locator("#zoom-overlay ellipse").count() == 3  # the magnifier shows the σ ellipses
    assert page.get_attribute("[data-preset='3']", "aria-pressed") == "true"
    assert_consistent(watch)
    assert page.locator("#article .math:not(.typeset)").count() == 0  # the article's maths arrives typeset
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "page.png"), full_page=True)


# Scrolls through the article a step at a time and notes, in each frame where a section with maths is on screen,
# its height and where its last element sits in it: a formula typeset late, or a font swapped in, would change them.
READ_THROUGH = """async () => {
    const article = document.getElementById('article');
    const sections = [...article.querySelectorAll('.article-section')].filter(s => s.querySelector('.math'));
    const seen = sections.map(() => new Set());
    const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    window.scrollTo(0, article.offsetTop - innerHeight);
    await frame();
    for (let step = 0; step < 400 && scrollY + innerHeight < article.offsetTop + article.offsetHeight; step++) {
        sections.forEach((s, i) => {
            const r = s.getBoundingClientRect();
            if (r.bottom > 0 && r.top < innerHeight) {
                const last = s.lastElementChild.getBoundingClientRect();
                seen[i].add(`${r.height.toFixed(1)} ${(last.top - r.top).toFixed(1)}`);
            }
        });
        window.scrollBy(0, 150);
        await frame();
        await new Promise(r => setTimeout(r, 20));
    }
    return sections.map((s, i) => [s.getAttribute('aria-labelledby'), [...seen[i]]]);
}"""


def test_the_articles_maths_has_its_final_size_before_it_is_read(watch, server_url):
    """No jump: every section with maths keeps one height, and what lies below its maths one place, in every frame
    it is on screen, from the first on (the maths is typeset when the page is served, serving/katex.py)."""
    page = watch.open(server_url)
    watch.settle()
    seen = page.evaluate(READ_THROUGH)
    assert len(seen) >= 5
    assert {name: len(sizes) for name, sizes in seen} == {name: 1 for name, _ in seen}, seen
    assert not [p for _, p in watch.requests if p.endswith("katex.mjs")]  # no KaTeX script for the article
    assert watch.errors == []


def test_each_preset_lands_among_its_own_digits(watch, server_url, latent_map):
    page = watch.open(server_url)
    wrong = []
    for digit in range(10):
        page.click(f"[data-preset='{digit}']")
        watch.settle()
        vote = knn_vote(latent_map, watch.vector("mu"))
        if vote != digit:
            wrong.append((digit, vote))
    assert wrong == []
    assert watch.errors == []


def test_drawing_changes_mu_and_reconstruction(watch, server_url, latent_map):
    page = watch.open(server_url)
    watch.settle()
    mu_before = watch.vector("mu")
    recon_before = canvas_pixels(page, "#reconstruction")
    page.click("#clear-button")
    watch.draw(SEVEN)
    watch.settle()
    assert watch.vector("mu") != mu_before
    assert canvas_pixels(page, "#reconstruction") != recon_before
    seen = canvas_pixels(page, "#encoder-input")
    assert min(seen[0::4]) < 100  # the encoder input has ink (dark pixels)
    assert_consistent(watch)
    assert watch.errors == []


@pytest.mark.parametrize("digit", sorted(DRAWN))
def test_hand_drawn_digits_land_among_their_kind(watch, server_url, latent_map, digit):
    page = watch.open(server_url)
    page.click("#clear-button")
    watch.draw(DRAWN[digit])
    watch.settle()
    assert knn_vote(latent_map, watch.vector("mu")) == digit


def test_hover_moves_z_not_mu(watch, server_url):
    page = watch.open(server_url)
    watch.settle()
    mu, z = watch.vector("mu"), watch.vector("z")
    recon = canvas_pixels(page, "#reconstruction")
    box = page.locator("#latent-plot").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.25)
    watch.settle()
    assert watch.vector("mu") == mu
    assert watch.vector("z") != z
    assert canvas_pixels(page, "#reconstruction") != recon
    assert_consistent(watch)
    page.mouse.move(box["x"] + box["width"] + 50, box["y"] - 50)  # leave: back to the sample
    watch.settle()
    assert watch.vector("z") == z


# The boxes of the SVG elements a selector matches, each in its <svg>'s own units (the viewBox), through whatever
# transforms sit between: where the learner sees each mark, however the page chose to write it. One flat list of
# (centre x, centre y, half width, half height) per element, in document order.
JS_MARKS = """(selector) => [...document.querySelectorAll(selector)].flatMap((el) => {
  const m = el.ownerSVGElement.getScreenCTM().inverse().multiply(el.getScreenCTM());
  const b = el.getBBox();
  const a = new DOMPoint(b.x, b.y).matrixTransform(m);
  const c = new DOMPoint(b.x + b.width, b.y + b.height).matrixTransform(m);
  return [(a.x + c.x) / 2, (a.y + c.y) / 2, Math.abs(c.x - a.x) / 2, Math.abs(c.y - a.y) / 2];
})"""


def test_the_marks_and_numbers_follow_every_input(watch, server_url, latent_map):
    """The plot's and the magnifier's marks are written only when what they show changes (a hover moves only z),
    and the numbers change their text in place: after hovers, a drawing, a preset and leaving the plot, every mark
    and number is where the current μ, σ and z put it."""
    from page.svg import num
    from vae import distribution, latent_plot

    mu_map = latent_map[0]
    plot = latent_plot.LatentPlot(
        latent_plot.square_domain(*(tuple(f(p[i] for p in mu_map) for i in (0, 1)) for f in (min, max)))
    )
    index = latent_plot.PointIndex(mu_map)
    page = watch.open(server_url)
    box = page.locator("#latent-plot").bounding_box()
    at = lambda fx, fy: lambda: page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)  # noqa: E731
    # (step, whether it brings a new input: μ must change, or stay)
    steps = [(at(0.3, 0.6), False), (at(0.7, 0.3), False), (lambda: watch.draw(SEVEN), True), (at(0.5, 0.5), False)]
    steps += [(lambda: page.click("[data-preset='0']"), True), (at(1.2, -0.2), False)]
    shown_mu = None
    for step, new_input in [(lambda: None, None), *steps]:
        step()
        watch.settle()
        mu, log_var, sigma, eps, z = (watch.vector(n) for n in ("mu", "log-var", "sigma", "epsilon", "z"))
        if new_input is not None:
            assert (mu != shown_mu) == new_input
        shown_mu = mu
        for name, vector in (("mu", mu), ("log_var", log_var), ("sigma", sigma), ("epsilon", eps), ("z", z)):
            assert [page.text_content(f"#num-{name}-{i}") for i in range(2)] == [num(v, 3) for v in vector]
        ellipses = plot.ellipses(distribution.contour_ellipses(mu, sigma))
        shown = page.evaluate(JS_MARKS, "#ellipse-3, #ellipse-2, #ellipse-1")  # in document order: 3σ first
        assert shown == pytest.approx([v for e in reversed(ellipses) for v in e], abs=0.02)
        for selector, point in (("#mu-point", mu), ("#z-point", z)):
            cx, cy, _, _ = page.evaluate(JS_MARKS, selector)
            assert (cx, cy) == pytest.approx(plot.to_pixels(point), abs=0.02)
        zoom = latent_plot.Zoom(mu, sigma)
        expected = [v for n in (3, 2, 1) for v in (*zoom.px(*mu), n * sigma[0] * zoom.k, n * sigma[1] * zoom.k)]
        assert page.evaluate(JS_MARKS, "#zoom-overlay ellipse") == pytest.approx(expected, abs=0.02)
        cx, cy, _, _ = page.evaluate(JS_MARKS, "#zoom-z")
        assert (cx, cy) == pytest.approx(zoom.px(*z), abs=0.02)
        # The magnifier's dots: one per map point in its window, and every digit's inside the frame.
        dots = page.evaluate("() => document.querySelector('#zoom-dots').innerHTML.split('h0').length - 1")
        assert dots == len(zoom.window_points(mu_map, index=index)) > 0
        boxes = page.evaluate(JS_MARKS, "#zoom-dots path")
        for cx, cy, rx, ry in zip(*(iter(boxes),) * 4, strict=True):
            assert cx - rx >= -0.01 and cy - ry >= -0.01
            assert cx + rx <= zoom.size + 0.01 and cy + ry <= zoom.size + 0.01
    assert watch.errors == []


# The red level of #draw-canvas at points given in canvas units.
JS_INK = """(points) => {
    const c = document.getElementById('draw-canvas'), k = c.width / Number(c.dataset.units);
    return points.map(([x, y]) => c.getContext('2d').getImageData(Math.round(x * k), Math.round(y * k), 1, 1).data[0]);
}"""


JS_SHOWN = """() => { const digit = document.getElementById('draw-placeholder');
    return [digit.hidden ? null : digit.getAttribute('src'),
            [...document.querySelectorAll('button[data-preset][aria-pressed=true]')].map((b) => b.dataset.preset)]; }"""


def test_input_before_python_starts_answers_at_once_and_is_kept(watch, server_url):
    """A learner who picks a preset, draws, clears or undoes while Python starts sees it at once and loses nothing:
    Python replays it into its state, the stroke still being drawn included, with the same Undo history."""
    from page.state import CANVAS, AppState, decode_hash
    from vae import decoder, digit_input

    page = watch.page
    held = []
    # Python cannot start until the test lets its snapshot through.
    page.route("**/snapshot/python.bin", lambda route: held.append(route))
    watch.open(server_url, ready=False)
    page.wait_for_function("() => globalThis.vaeEarlyInput !== undefined")
    box = page.locator("#draw-canvas").bounding_box()
    place = lambda x, y: (box["x"] + x * box["width"] / CANVAS, box["y"] + y * box["height"] / CANVAS)  # noqa: E731
    seven = [(60, 50), (140, 50), (220, 50), (180, 150), (140, 250)]
    bar = [(90, 150), (130, 150), (170, 150), (200, 150)]  # the pen is still down on its third point when Python starts
    ink_at = [(140, 50), (180, 150), (110, 150), (20, 250)]  # on the seven, on it, on the bar, on neither

    def stroke(points, lift=True):
        page.mouse.move(*place(*points[0]))
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*place(*point))
        if lift:
            page.mouse.up()

    page.click("[data-preset='7']")
    assert page.evaluate(JS_SHOWN) == [page.get_attribute("[data-preset='7']", "data-image"), ["7"]]
    stroke(seven)
    assert page.evaluate(JS_SHOWN) == [None, []]  # the stroke replaced the preset, as it does in Python
    assert page.evaluate(JS_INK, ink_at) == [17, 17, 255, 255]
    page.click("#clear-button")
    assert page.evaluate(JS_INK, ink_at) == [255, 255, 255, 255]
    page.click("#undo-button")
    assert page.evaluate(JS_INK, ink_at) == [17, 17, 255, 255]
    stroke(bar[:3], lift=False)
    assert page.evaluate(JS_INK, ink_at) == [17, 17, 17, 255]
    assert page.get_attribute("html", "data-py-started") is None and held
    held[0].continue_()
    page.wait_for_selector("html[data-py-started]", state="attached")
    for point in bar[3:]:
        page.mouse.move(*place(*point))
    page.mouse.up()
    watch.wait_ready()
    watch.settle()
    state = decode_hash(page.evaluate("location.hash"))
    assert state.preset is None and [len(s) for s in state.strokes] == [len(seven), len(bar)]
    for drawn, kept in zip([*seven, *bar], [p for s in state.strokes for p in s], strict=True):
        assert kept == pytest.approx(drawn, abs=0.6)  # a mouse event's place is whole CSS pixels
    pixels = digit_input.preprocess([digit_input.catmull_rom(s) for s in state.strokes])
    assert canvas_pixels(page, "#encoder-input") == list(decoder.grayscale_rgba(pixels))
    # Undo goes back through what was done before Python started: the bar, the seven, preset 7, the first view.
    undone = []
    for _ in range(3):
        page.click("#undo-button")
        watch.settle()
        undone.append(decode_hash(page.evaluate("location.hash")))
    assert [(u.preset, len(u.strokes)) for u in undone] == [(None, 1), (7, 0), (AppState().preset, 0)]
    assert watch.errors == []


def test_click_pins_and_keys_nudge(watch, server_url):
    page = watch.open(server_url)
    watch.settle()
    box = page.locator("#latent-plot").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.4)
    page.mouse.move(box["x"] + box["width"] + 50, box["y"] - 50)
    watch.settle()
    pinned = watch.vector("z")
    page.focus("#latent-plot")
    page.keyboard.press("ArrowRight")
    watch.settle()
    assert watch.vector("z") == pytest.approx([pinned[0] + 0.1, pinned[1]])
    assert_consistent(watch)


def test_resample_changes_z_and_epsilon_only(watch, server_url):
    page = watch.open(server_url)
    watch.settle()
    before = {n: watch.vector(n) for n in ("mu", "sigma", "epsilon", "z")}
    page.click("#resample-button")
    watch.settle()
    after = {n: watch.vector(n) for n in ("mu", "sigma", "epsilon", "z")}
    assert after["mu"] == before["mu"]
    assert after["sigma"] == before["sigma"]
    assert after["epsilon"] != before["epsilon"]
    assert after["z"] != before["z"]
    assert_consistent(watch)
