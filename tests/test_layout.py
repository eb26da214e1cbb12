"""The page's layout in the real page, at a laptop's two common sizes and a phone's: the whole pipeline and an entry
to every story and tool in the first view without a scroll, and what a control changed in view after it is pressed.
"""

import itertools

import pytest
from conftest import PageWatch

from page import state

pytestmark = pytest.mark.browser

DESKTOPS = [{"width": 1280, "height": 720}, {"width": 1440, "height": 900}]
PHONE = {"width": 390, "height": 844}
# Every story and tool, by the control that opens it (#<panel>-toggle): the learner must see each one without
# scrolling. The URL's panels are every one there is, so a new story is checked without editing this test.
ENTRIES = state.PANELS
PANELS = {
    "details": "details",
    "loss": "loss-panel",
    "samples": "samples-panel",
    "interpolate": "interpolation-panel",
    "kl": "kl-panel",
    "vq": "vq-panel",
    "source": "source-panel",
    "train": "train-panel",
}

SHOWN = """(selector) => {
    const r = document.querySelector(selector).getBoundingClientRect();
    const w = Math.max(0, Math.min(r.right, innerWidth) - Math.max(r.left, 0));
    const h = Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0));
    return r.width * r.height ? (w * h) / (r.width * r.height) : 0;
}"""
# How much of an element is in view, as a share of what could be: of the viewport's height for a tall one.
SHOWN_TALL = """(selector) => {
    const r = document.querySelector(selector).getBoundingClientRect();
    const h = Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0));
    return h / Math.min(r.height, innerHeight);
}"""


def open_page(browser, server_url, viewport, ready=True):
    mobile = viewport["width"] < 600
    context = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile)
    watch = PageWatch(context.new_page(), server_url)
    watch.open(server_url, ready=ready)
    return context, watch


def settled_scroll(page):
    """Wait until a smooth scroll the page started has come to rest: the same place for half a second."""
    seen = []
    for _ in range(100):
        seen.append(page.evaluate("scrollY"))
        if len(seen) >= 6 and len(set(seen[-6:])) == 1:
            break
        page.wait_for_timeout(100)


@pytest.mark.parametrize("viewport", DESKTOPS, ids=lambda v: f"{v['width']}x{v['height']}")
def test_first_view_shows_the_pipeline_and_an_entry_to_everything(browser, server_url, viewport):
    """Before Python starts (serve.py drew the first view) and after, with no scroll."""
    context, watch = open_page(browser, server_url, viewport, ready=False)
    try:
        page = watch.page
        for moment in ("prerendered", "ready"):
            if moment == "ready":
                watch.wait_ready()
                watch.settle()
            assert page.evaluate("scrollY") == 0
            shown = {
                name: round(page.evaluate(SHOWN, selector), 3)
                for name, selector in {
                    "canvas": "#draw-canvas",
                    "plot": "#latent-plot",
                    "reconstruction": "#reconstruction",
                    "resample": "#resample-button",
                    **{entry: f"#{entry}-toggle" for entry in ENTRIES},
                }.items()
            }
            assert {k: v for k, v in shown.items() if v < 0.9} == {}, moment
        assert watch.errors == []
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [*DESKTOPS, PHONE], ids=lambda v: f"{v['width']}x{v['height']}")
def test_what_a_control_changed_is_in_view(browser, server_url, viewport):
    """Each panel's toggle brings the panel into view; the plot's own toggles sit beside the plot; Copy link answers
    beside itself."""
    context, watch = open_page(browser, server_url, viewport)
    try:
        page = watch.page
        watch.settle()
        for entry, panel in PANELS.items():
            page.evaluate("scrollTo(0, 0)")
            page.click(f"#{entry}-toggle")
            page.wait_for_selector(f"#{entry}-toggle[aria-expanded=true]")  # Python took the press
            settled_scroll(page)
            assert page.evaluate(SHOWN_TALL, f"#{panel}") >= 0.6, entry
            page.click(f"#{entry}-toggle")  # the sticky tool bar keeps it in reach
            assert page.is_hidden(f"#{panel}")
        for entry in ("prior", "manifold"):
            page.evaluate("scrollTo(0, 0)")
            page.locator(f"#{entry}-toggle").scroll_into_view_if_needed()
            page.click(f"#{entry}-toggle")
            assert page.get_attribute(f"#{entry}-toggle", "aria-pressed") == "true"
            assert page.evaluate(SHOWN_TALL, "#latent-plot") >= 0.6, entry
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.locator("#share-button").scroll_into_view_if_needed()
        page.click("#share-button")
        page.wait_for_selector("#share-status:has-text('Link copied')")
        assert page.evaluate(SHOWN, "#share-status") >= 0.9
        assert watch.errors == []
    finally:
        context.close()


# Every interactive grid, table and plot, and what opens it.
SURFACES = (
    "#draw-canvas",
    "#latent-plot",
    "#legend",
    "#graph",
    "#code-lines",
    "#vq-draw-canvas",
    "#vq-vectors",
    "#vq-distances",
    "#vq-grid",
    "#vq-palette",
    "#vq-snap-label",
    "#vq-fetch-label",
    "#vq-codebook",
    "#vq-graph",
    "#vq-code-lines",
)


def sweep(page, selector, steps=4):
    """Hover, then drag, in a lattice of lines across an element and 12 px beyond each edge: over its cells, the
    gaps between them and the page around it; then click each of its parts that is not a button."""
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    left, top = box["x"] - 12, box["y"] - 12
    width, height = box["width"] + 24, box["height"] + 24
    for down in (False, True):
        for k in range(steps + 1):
            y = top + height * k / steps
            page.mouse.move(left, y)
            if down:
                page.mouse.down()
            page.mouse.move(left + width, y, steps=16)
            if down:
                page.mouse.up()
        for k in range(steps + 1):
            x = left + width * k / steps
            page.mouse.move(x, top)
            page.mouse.move(x, top + height, steps=16)
    parts = page.locator(f"{selector} :is(th, td, span, rect, text, tr):not(button, button *)")
    count = parts.count()
    for k in range(0, count, max(1, count // 8)):  # eight of them, spread over the element
        part = parts.nth(k)
        if part.is_visible():
            part.click(force=True, position={"x": 1, "y": 1})
    page.mouse.move(0, 0)


def test_no_console_error_over_the_gaps_and_edges_of_any_grid_or_table(browser, server_url):
    context, watch = open_page(browser, server_url, {"width": 1440, "height": 900})
    try:
        page = watch.page
        watch.settle()
        for toggle in ("details", "vq"):
            page.click(f"#{toggle}-toggle")
        page.wait_for_selector('#vq-vectors[data-indices]:not([data-indices=""])', state="attached", timeout=60_000)
        page.click("#vq-details-toggle")
        page.wait_for_selector("#vq-code-lines .code-line", state="attached")
        page.wait_for_selector("#graph [data-part]", state="attached")
        for selector in SURFACES:
            sweep(page, selector)
            watch.settle()
            assert watch.errors == [], selector
    finally:
        context.close()


def test_an_empty_canvas_is_a_state_of_its_own(browser, server_url):
    """After Clear: a prompt to draw, no μ, σ, z, reconstruction or nearest digits, and the live region says so; the
    link restores it; the first stroke starts the pipeline, Clear returns to it, and a preset works from it."""
    from page.state import decode_hash
    from vae import narrate

    empty = {
        "marks": "() => ['mu-marks', 'z-point'].map(id => document.getElementById(id).getBoundingClientRect().width)",
        "numbers": "() => [...document.querySelectorAll('.numbers td')].map(td => td.textContent)",
        "prompt": "() => getComputedStyle(document.querySelector('.stage-input .draw-prompt')).display",
        "ink": """() => { const c = document.getElementById('reconstruction');
            return c.getContext('2d').getImageData(0, 0, 28, 28).data.some(v => v !== 0); }""",
    }
    context, watch = open_page(browser, server_url, {"width": 1280, "height": 720})
    try:
        page = watch.page
        watch.settle()
        for attempt in ("clear", "link", "clear after a stroke"):
            if attempt == "clear":
                page.click("#clear-button")
            elif attempt == "link":
                url = page.url
                assert decode_hash(page.evaluate("location.hash")).is_blank
                page.goto("about:blank")
                watch.open(url)
            else:
                watch.draw([[(140, 40), (140, 250)]])
                watch.settle()
                assert page.get_attribute("html", "data-empty") == "false"
                assert watch.vector("mu") and page.evaluate(empty["ink"])
                page.click("#clear-button")
            watch.settle()
            assert page.get_attribute("html", "data-empty") == "true", attempt
            assert page.evaluate(empty["prompt"]) == "grid", attempt
            assert page.evaluate(empty["marks"]) == [0, 0], attempt
            assert set(page.evaluate(empty["numbers"])) == {"–"}, attempt
            assert page.get_attribute("#latent-plot", "data-mu") == "", attempt
            assert not page.evaluate(empty["ink"]), attempt
            page.wait_for_selector(f"#announce:has-text('{narrate.EMPTY_SENTENCE}')", state="attached")
            assert page.text_content("#nearest") == narrate.EMPTY_LINE, attempt
        page.click("[data-preset='7']")
        watch.settle()
        assert page.get_attribute("html", "data-empty") == "false"
        assert len(watch.vector("mu")) == 2 and page.evaluate(empty["ink"])
        assert page.evaluate(empty["prompt"]) == "none"
        page.wait_for_selector("#announce:has-text('Encoded')", state="attached")
        assert watch.errors == []
    finally:
        context.close()


# Each piece of visible text in the tool (the article aside): its rendered size in CSS px (an SVG's scale applied),
# its box, and the box of the SVG it is drawn in.
TEXTS = """() => {
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    while (walker.nextNode()) {
        const el = walker.currentNode.parentElement;
        // A zero-width space (KaTeX puts them in its layout) shows nothing.
        if (!walker.currentNode.data.replace(/\u200b/g, '').trim() || !el || seen.has(el)) continue;
        seen.add(el);
        if (el.closest('#article, .visually-hidden, [hidden], script, style, title, desc, .katex-mathml')) continue;
        if (!el.checkVisibility({visibilityProperty: true})) continue;
        const r = el.getBoundingClientRect();
        if (!r.width || !r.height) continue;
        let size = parseFloat(getComputedStyle(el).fontSize);
        const svg = el instanceof SVGElement ? el.ownerSVGElement : null;
        if (svg) {
            const m = el.getScreenCTM();
            size *= Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
        }
        const s = svg && svg.getBoundingClientRect();
        found.push({
            text: walker.currentNode.data.trim().slice(0, 30), where: (el.closest('[id]') || {}).id, size,
            box: [r.left, r.top, r.right, r.bottom], svg: svg ? [s.left, s.top, s.right, s.bottom] : null,
            chart: svg ? svg.id : null,
        });
    }
    return found;
}"""


def overlap(a, b, slack=0.5):
    return a[0] < b[2] - slack and b[0] < a[2] - slack and a[1] < b[3] - slack and b[1] < a[3] - slack


def unreadable(texts, least):
    """What breaks the rules in one state: text under `least` px, text outside its SVG, labels of a chart on top of
    each other."""
    small = [t for t in texts if t["size"] < least - 0.01]
    outside = [
        t
        for t in texts
        if t["svg"]
        and not all(
            (t["box"][k] >= t["svg"][k] - 0.5) if k < 2 else (t["box"][k] <= t["svg"][k] + 0.5) for k in range(4)
        )
    ]
    labels = [t for t in texts if t["chart"]]
    crowded = [
        (a["text"], b["text"], a["chart"])
        for i, a in enumerate(labels)
        for b in labels[i + 1 :]
        if a["chart"] == b["chart"] and overlap(a["box"], b["box"])
    ]
    return {"small": small, "outside": outside, "crowded": crowded}


@pytest.mark.parametrize("viewport", [*DESKTOPS, PHONE], ids=lambda v: f"{v['width']}x{v['height']}")
def test_text_is_readable_whole_and_apart_in_each_state(browser, server_url, viewport):
    """At least 11 CSS px on a laptop and 12 on a phone (an SVG's scale applied), inside its SVG, and no two labels
    of one chart on top of each other: in each state of test_a11y.STATES."""
    from test_a11y import STATES

    context, watch = open_page(browser, server_url, viewport)
    try:
        watch.settle()
        least = 12 if viewport["width"] < 600 else 11
        found = {}
        for name, enter, leave in STATES:
            enter(watch, server_url)
            found[name] = unreadable(watch.page.evaluate(TEXTS), least)
            if leave is not None:
                leave(watch)
        clean = {"small": [], "outside": [], "crowded": []}
        assert found == {name: clean for name in found}
        assert len(found) == len(STATES)
    finally:
        context.close()


def test_the_vq_vae_reads_as_one_strip_on_one_screen(browser, server_url):
    """At 1440×900, once the view is opened by its button: input, encoder grid, distances, the quantised grid with
    its palette and the reconstruction on screen together, in that order from left to right, and a code picked and
    painted without a scroll."""
    context, watch = open_page(browser, server_url, {"width": 1440, "height": 900})
    try:
        page = watch.page
        watch.settle()
        page.click("#vq-toggle")
        page.wait_for_selector('#vq-vectors[data-indices]:not([data-indices=""])', state="attached", timeout=60_000)
        settled_scroll(page)
        parts = (
            "#vq-draw-canvas",
            "#vq-vectors",
            "#vq-snap-label",
            "#vq-distances",
            "#vq-fetch-label",
            "#vq-grid",
            "#vq-palette",
            "#vq-reconstruction",
        )
        assert {p: page.evaluate(SHOWN, p) >= 0.9 for p in parts} == dict.fromkeys(parts, True)
        boxes = [page.locator(p).bounding_box() for p in parts if p != "#vq-palette"]
        assert all(a["x"] + a["width"] <= b["x"] for a, b in itertools.pairwise(boxes))  # side by side, in order
        assert page.text_content("#vq-snap-label") == "each vector snaps to its nearest code"
        assert page.text_content("#vq-fetch-label") == "each index fetches its code's vector"
        before = page.evaluate("scrollY")
        page.click("#vq-palette [data-vq-code='2']")
        page.click("#vq-cell-0")
        page.wait_for_function("() => document.getElementById('vq-reconstruction').dataset.codes?.startsWith('2,')")
        assert page.evaluate("scrollY") == before
        assert page.get_attribute("#vq-codebook [data-vq-code='2']", "aria-pressed") == "true"
        assert watch.errors == []
    finally:
        context.close()


def test_small_things_read_right(browser, server_url):
    """The samples say why they look alike; the interpolation slider steps by a twentieth; an edit's error is one
    sentence that names its line once."""
    from vae import narrate

    context, watch = open_page(browser, server_url, {"width": 1280, "height": 720})
    try:
        page = watch.page
        watch.settle()
        page.click("#samples-toggle")
        watch.settle()
        assert page.text_content("#samples-spread") == narrate.samples_sentence(watch.vector("sigma"))
        page.click("#interpolate-toggle")
        page.click("#set-a")
        page.click("[data-preset='7']")
        watch.settle()
        page.click("#set-b")
        page.focus("#interp-slider")
        page.keyboard.press("ArrowRight")
        assert page.input_value("#interp-slider") == "50"
        page.click("#source-toggle")
        page.wait_for_selector("#source-editor .cm-content", state="attached")
        page.click("#source-editor .cm-content")
        page.keyboard.press("Control+End")
        page.keyboard.type("\nundefined_name", delay=20)
        page.click("#apply-button")
        page.wait_for_selector("#source-error:not([hidden])")
        message = page.inner_text("#source-error")
        assert message.startswith("Line ") and " on line " not in message and ".." not in message, message
        assert message.endswith(". The page keeps running on the last good code."), message
    finally:
        context.close()


def test_a_legend_entry_highlights_its_digits_points(browser, server_url):
    context, watch = open_page(browser, server_url, {"width": 1280, "height": 720})
    opacity = """() => Object.fromEntries([...document.querySelectorAll('#scatter [data-digit]')].map(
        p => [p.dataset.digit, Number(getComputedStyle(p).opacity)]))"""
    try:
        page = watch.page
        watch.settle()
        before = page.evaluate(opacity)
        page.click("#legend [data-digit='3']")
        lit = page.evaluate(opacity)
        assert lit["3"] > before["3"] and all(lit[d] < before[d] for d in lit if d != "3")
        assert page.get_attribute("#legend [data-digit='3']", "aria-pressed") == "true"
        page.focus("#legend [data-digit='3']")
        page.keyboard.press("Enter")  # pressed again, from the keyboard: all as before
        assert page.evaluate(opacity) == before
        assert page.get_attribute("#legend [data-digit='3']", "aria-pressed") == "false"
        assert watch.errors == []
    finally:
        context.close()


def test_the_kl_view_reads_right(browser, server_url):
    """No half-empty row at 1280 wide; the replay rings its epoch on the rate–distortion path; the β mode shows only
    what compares the β models."""
    context, watch = open_page(browser, server_url, {"width": 1280, "height": 720})
    try:
        page = watch.page
        watch.settle()
        page.click("#kl-toggle")
        page.wait_for_selector('#kl-panel[data-shown]:not([data-shown=""])', state="attached", timeout=60_000)
        page.wait_for_selector("#kl-rd .rd-epoch", state="attached")
        epoch = page.input_value("#kl-epoch")
        shown = page.text_content("#kl-epoch-label")
        assert page.get_attribute("#kl-rd .rd-epoch", "data-epoch") == shown, (epoch, shown)
        rows = page.evaluate(
            "() => [...document.querySelectorAll('.kl-grid > figure:not([hidden])')]"
            ".map(f => Math.round(f.getBoundingClientRect().top))"
        )
        assert len(set(rows)) == 1, rows
        page.click("#kl-mode-beta")
        page.wait_for_selector("#kl-curves-figure[hidden]", state="attached")
        assert page.locator("#kl-rd .rd-epoch").count() == 0
        assert page.is_visible("#kl-prior-figure") and page.is_visible("#kl-rd")
        assert watch.errors == []
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [*DESKTOPS, PHONE], ids=lambda v: f"{v['width']}x{v['height']}")
def test_apply_shows_its_numbers_and_picture_beside_itself(browser, server_url, viewport):
    """The pipeline is far above the Source panel: the numbers and the reconstruction the code in use computes are
    shown beside Apply, and they are the page's."""
    from test_a11y import type_comment

    from page.svg import num

    context, watch = open_page(browser, server_url, viewport)
    try:
        page = watch.page
        watch.settle()
        page.click("#source-toggle")
        page.wait_for_selector("#source-editor .cm-content", state="attached")
        page.click("#source-editor .cm-content")
        type_comment(page, "applied from the layout test")
        page.click("#apply-button")
        page.wait_for_selector("html[data-edited=true]", state="attached")
        watch.settle()
        settled_scroll(page)
        assert page.evaluate(SHOWN, ".source-live") >= 0.6
        mu, z = watch.vector("mu"), watch.vector("z")
        text = page.text_content("#source-result")
        assert f"μ = ({num(mu[0], 3)}, {num(mu[1], 3)})" in text and f"z = ({num(z[0], 3)}, {num(z[1], 3)})" in text
        same = page.evaluate(
            """() => { const a = document.getElementById('source-reconstruction').getContext('2d'),
                b = document.getElementById('reconstruction').getContext('2d');
                const x = a.getImageData(0, 0, 28, 28).data, y = b.getImageData(0, 0, 28, 28).data;
                return x.some(v => v) && x.every((v, i) => v === y[i]); }"""
        )
        assert same
        assert watch.errors == []
    finally:
        context.close()
