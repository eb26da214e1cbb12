"""The latent plot zooms and pans in the real page (wheel, pinch, mouse drag, + and − buttons and keys, Shift+arrows,
reset): its ticks follow the view in true latent units, hover and clicks read z through the view, the 1σ ellipse
grows to many pixels, and the view round-trips through the URL."""

import pytest
from conftest import PageWatch

from page.state import AppState, decode_hash, encode_hash
from vae.latent_plot import MARGIN, MAX_ZOOM, SIZE

TOP, RIGHT, BOTTOM, LEFT = MARGIN
GEOMETRY = """() => {
    const plot = document.getElementById('latent-plot'), r = plot.getBoundingClientRect();
    const box = document.getElementById('latent-base').viewBox.baseVal;
    const ticks = [...document.querySelectorAll('#axes .tick')].map(t => t.textContent);
    const e1 = document.getElementById('ellipse-1').getBoundingClientRect();
    return {left: r.left, top: r.top, width: r.width, height: r.height, vw: box.width, vh: box.height,
            window: plot.dataset.window.split(',').map(Number), ticks, ellipse: e1.width,
            level: document.getElementById('zoom-level').textContent};
}"""


def geometry(page):
    return page.evaluate(GEOMETRY)


def client_of(g, z):
    """Where the latent point z is on screen, by the view window the page says it shows."""
    x0, x1, y0, y1 = g["window"]
    px = LEFT + (z[0] - x0) / (x1 - x0) * SIZE
    py = TOP + (y1 - z[1]) / (y1 - y0) * SIZE
    return g["left"] + px / g["vw"] * g["width"], g["top"] + py / g["vh"] * g["height"]


def latent_of(g, x, y):
    """The latent point under the client point (x, y), by the view window the page says it shows."""
    x0, x1, y0, y1 = g["window"]
    px, py = (x - g["left"]) / g["width"] * g["vw"], (y - g["top"]) / g["height"] * g["vh"]
    return [x0 + (px - LEFT) / SIZE * (x1 - x0), y1 - (py - TOP) / SIZE * (y1 - y0)]


def zoom_of(g, full=9.0):
    return full / (g["window"][1] - g["window"][0])


def open_plot(watch, server_url, **state):
    page = watch.open_state(server_url, **state)
    page.locator("#latent-plot").scroll_into_view_if_needed()
    return page


def test_the_wheel_zooms_about_the_pointer_and_hover_reads_z_through_the_view(watch, server_url):
    page = open_plot(watch, server_url)
    g = geometry(page)
    assert g["window"] == [-4.5, 4.5, -4.5, 4.5] and g["level"] == "×1"
    x, y = round(g["left"] + 0.62 * g["width"]), round(g["top"] + 0.35 * g["height"])  # whole pixels, as a wheel's
    under = latent_of(g, x, y)
    wheel = """([x, y, dy]) => { const options = {deltaY: dy, clientX: x, clientY: y, cancelable: true};
        const e = new WheelEvent('wheel', options);
        document.getElementById('latent-plot').dispatchEvent(e); return e.defaultPrevented; }"""
    assert page.evaluate(wheel, [x, y, 100]) is False  # down at ×1: nothing to zoom out to, so the page scrolls
    assert geometry(page)["window"] == g["window"]
    page.mouse.move(x, y)
    for _ in range(4):
        page.mouse.wheel(0, -200)
    watch.settle()
    zoomed = geometry(page)
    assert zoom_of(zoomed) == pytest.approx(2.718281828 ** (4 * 200 * 0.002), rel=1e-6)  # e^(0.002 per pixel)
    assert latent_of(zoomed, x, y) == pytest.approx(under, abs=1e-6)  # the point under the pointer stayed
    assert zoomed["ticks"] != g["ticks"]
    assert zoomed["level"].startswith("×") and float(zoomed["level"][1:]) == pytest.approx(zoom_of(zoomed), abs=0.05)
    # Hover at a zoomed point: the z decoded is the one under the pointer, read through the view window.
    x2, y2 = round(g["left"] + 0.3 * g["width"]), round(g["top"] + 0.7 * g["height"])
    page.mouse.move(x2, y2)
    watch.settle()
    z = watch.vector("z")
    assert z == pytest.approx(latent_of(zoomed, x2, y2), abs=1e-9)
    dot = page.locator("#z-point").bounding_box()
    assert dot["x"] + dot["width"] / 2 == pytest.approx(x2, abs=1) and dot["y"] + dot["height"] / 2 == pytest.approx(
        y2, abs=1
    )
    page.mouse.down()  # a click pins that z
    page.mouse.up()
    watch.settle()
    assert decode_hash(page.evaluate("location.hash")).pinned_z == pytest.approx(z, abs=1e-5)
    assert watch.errors == []


def test_buttons_and_keys_zoom_about_mu_until_the_1_sigma_ellipse_is_wide(watch, server_url):
    page = open_plot(watch, server_url)
    g = geometry(page)
    mu, sigma = watch.vector("mu"), watch.vector("sigma")
    assert max(sigma) < 0.06 and g["ellipse"] < 4  # on the whole map, σ's ellipse is a few pixels
    assert page.get_attribute("#zoom-out", "aria-disabled") == "true"
    at = page.locator("#mu-point").bounding_box()
    clicks = 0
    while page.get_attribute("#zoom-in", "aria-disabled") == "false":
        page.click("#zoom-in")
        clicks += 1
    watch.settle()
    g = geometry(page)
    assert clicks == 6 and zoom_of(g) == pytest.approx(MAX_ZOOM)
    assert g["ticks"] == [t for t in g["ticks"] if t]  # every tick labelled
    assert all(abs(float(t.replace("−", "-")) - round(float(t.replace("−", "-")), 2)) < 1e-9 for t in g["ticks"])
    now = page.locator("#mu-point").bounding_box()
    assert now["x"] == pytest.approx(at["x"], abs=0.5) and now["y"] == pytest.approx(at["y"], abs=0.5)  # about μ
    assert g["ellipse"] >= 80  # the 1σ ellipse, in CSS pixels
    per_unit = g["width"] / g["vw"] * SIZE / (g["window"][1] - g["window"][0])  # CSS pixels per latent unit
    assert g["ellipse"] == pytest.approx(2 * sigma[0] * per_unit, abs=0.05)
    x, y = client_of(g, mu)
    assert (now["x"] + now["width"] / 2, now["y"] + now["height"] / 2) == pytest.approx((x, y), abs=1)
    page.click("#zoom-out")
    assert zoom_of(geometry(page)) == pytest.approx(MAX_ZOOM / 2)
    page.focus("#latent-plot")
    page.keyboard.press("-")
    before = geometry(page)["window"]
    assert zoom_of(geometry(page)) == pytest.approx(MAX_ZOOM / 4)
    page.keyboard.press("Shift+ArrowRight")  # pans an eighth of the plot to the right
    after = geometry(page)["window"]
    step = (before[1] - before[0]) / 8
    assert after == pytest.approx([before[0] + step, before[1] + step, before[2], before[3]])
    page.keyboard.press("Shift+ArrowDown")
    assert geometry(page)["window"][2] == pytest.approx(before[2] - step)
    page.keyboard.press("ArrowRight")  # a plain arrow still nudges z, and leaves the view
    watch.settle()
    assert geometry(page)["window"][:2] == pytest.approx(after[:2])
    page.keyboard.press("+")
    assert zoom_of(geometry(page)) == pytest.approx(MAX_ZOOM / 2)
    page.keyboard.press("0")
    assert geometry(page)["window"] == [-4.5, 4.5, -4.5, 4.5]
    page.keyboard.press("=")
    page.keyboard.press("Home")
    assert zoom_of(geometry(page)) == pytest.approx(1)
    page.click("#zoom-in")
    page.click("#zoom-reset")
    assert (
        geometry(page)["window"] == [-4.5, 4.5, -4.5, 4.5]
        and page.get_attribute("#zoom-reset", "aria-disabled") == "true"
    )
    assert watch.errors == []


def test_a_zoomed_view_pans_by_dragging_and_redraws_what_lies_on_the_plot(watch, server_url):
    page = open_plot(watch, server_url, panels={"prior"})
    r0 = float(page.get_attribute("#prior-layer circle", "r"))
    page.click("#zoom-in")
    page.click("#zoom-in")
    assert float(page.get_attribute("#prior-layer circle", "r")) == pytest.approx(4 * r0)  # the prior follows
    transform = page.get_attribute("#scatter", "transform")
    g = geometry(page)
    x, y = g["left"] + 0.5 * g["width"], g["top"] + 0.5 * g["height"]
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 60, y + 30, steps=6)
    page.mouse.up()
    watch.settle()
    moved = geometry(page)
    per_px = (g["window"][1] - g["window"][0]) / SIZE * g["vw"] / g["width"]  # latent units per CSS pixel
    assert moved["window"][0] == pytest.approx(g["window"][0] + 60 * per_px, abs=per_px / 20)
    assert moved["window"][2] == pytest.approx(g["window"][2] + 30 * per_px, abs=per_px / 20)
    assert page.get_attribute("#scatter", "transform") != transform  # the map moved by its transform
    # The map's dots are where the view says: a dot's screen position is its μ through the window.
    box = page.evaluate("""() => { const p = document.querySelector('#scatter path'); const m = p.getScreenCTM();
        const [x, y] = p.getAttribute('d').match(/M(-?\\d+) (-?\\d+)/).slice(1).map(Number);
        return [x, y, m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]; }""")
    assert box[2:] == pytest.approx(client_of(moved, [box[0] / 1000, box[1] / 1000]), abs=0.5)
    assert watch.errors == []


def test_a_pinch_zooms_about_its_midpoint(browser, server_url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    watch = PageWatch(context.new_page(), server_url)
    try:
        page = watch.open(server_url)
        watch.settle()
        page.locator("#latent-plot").scroll_into_view_if_needed()
        g = geometry(page)
        cx, cy = g["left"] + 0.55 * g["width"], g["top"] + 0.45 * g["height"]
        under, z = latent_of(g, cx, cy), watch.vector("z")
        cdp = context.new_cdp_session(page)

        def touch(kind, spread):
            points = (
                []
                if kind == "touchEnd"
                else [{"x": cx - spread, "y": cy, "id": 0}, {"x": cx + spread, "y": cy, "id": 1}]
            )
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

        touch("touchStart", 20)
        for spread in (30, 45, 60, 80):
            touch("touchMove", spread)
        touch("touchEnd", 0)
        watch.settle()
        zoomed = geometry(page)
        assert zoom_of(zoomed) == pytest.approx(4, rel=0.02)  # the fingers spread from 40 to 160 px apart
        assert latent_of(zoomed, cx, cy) == pytest.approx(under, abs=2 * 9 / 4 / g["width"])
        # A pinch is not a tap or a drag of z: z stays where it was, also while, one finger lifted, the other moves
        # on (pointer events as a touch screen sends them, one pointer lifted before the other).
        assert watch.vector("z") == z
        page.evaluate(
            """([cx, cy]) => { const plot = document.getElementById('latent-plot');
            const send = (type, id, x, y) => plot.dispatchEvent(new PointerEvent(type, {pointerId: id, clientX: x,
                clientY: y, pointerType: 'touch', buttons: type === 'pointerup' ? 0 : 1, bubbles: true}));
            send('pointerdown', 11, cx - 20, cy); send('pointerdown', 12, cx + 20, cy);
            send('pointermove', 11, cx - 40, cy); send('pointermove', 12, cx + 40, cy);
            send('pointerup', 11, cx - 40, cy);
            for (const dy of [10, 30, 50]) send('pointermove', 12, cx + 40, cy + dy);
            send('pointerup', 12, cx + 40, cy + 50); }""",
            [cx, cy],
        )
        watch.settle()
        assert watch.vector("z") == z and zoom_of(geometry(page)) == pytest.approx(8, rel=0.02)
        assert watch.errors == []
    finally:
        context.close()


def test_the_view_round_trips_through_the_url_and_old_links_show_the_whole_map(watch, server_url):
    page = open_plot(watch, server_url)
    page.click("#zoom-in")
    page.focus("#latent-plot")
    page.keyboard.press("Shift+ArrowLeft")
    page.wait_for_function("location.hash.length > 0 && !!document.getElementById('latent-plot').dataset.window")
    page.wait_for_timeout(500)  # the URL follows once the view rests
    shown = geometry(page)["window"]
    state = decode_hash(page.evaluate("location.hash"))
    assert state.plot_view is not None and state.plot_view[2] == 2
    page = watch.open(server_url + "?again#" + encode_hash(state))
    watch.settle()
    assert geometry(page)["window"] == pytest.approx(shown, abs=1e-4)
    page = watch.open(server_url + "?old#" + encode_hash(AppState()))  # a link from before zoom existed
    watch.settle()
    assert geometry(page)["window"] == [-4.5, 4.5, -4.5, 4.5]
    assert watch.errors == []
