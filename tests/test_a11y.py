"""Accessibility of the real page in Chromium: axe-core finds nothing in any state (light and dark), phone and tablet
show input, latent and output together, the whole tool works from the keyboard, and the live region says in words
what the encoder made of the input.

axe-core comes from npm (a devDependency) and is evaluated through Playwright, which runs it outside the page's
Content-Security-Policy: the page never requests it and its CSP stays as strict as ever.
"""

from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, PageWatch

from page.artifacts import parse_latent_map
from vae import narrate

pytestmark = pytest.mark.browser

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / "build" / "screenshots"
PANELS = ("details", "loss", "samples", "interpolate", "source", "prior", "manifold", "kl", "vq", "train")


def axe_violations(page):
    """axe-core's violations on the page as it is now, every rule axe runs by default, every impact."""
    if not AXE.exists():
        pytest.fail(f"{AXE.relative_to(REPO)} is missing: run `npm ci` (axe-core is a devDependency)")
    if not page.evaluate("typeof globalThis.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    # Finite animations first: a panel fading in (.details' reveal, 0.35 s) is at part opacity, and so fails contrast.
    return page.evaluate(
        """async () => {
            const finite = document.getAnimations().filter(a => a.effect.getComputedTiming().endTime !== Infinity);
            await Promise.all(finite.map(a => a.finished.catch(() => null)));
            return (await axe.run(document, {resultTypes: ['violations']})).violations.map(
                v => `${v.impact} ${v.id}: ${v.nodes.map(n => n.target.join(' ')).join(', ')}`);
        }"""
    )


def toggle(watch, *panels):
    """Click panels' toggles; wait until each one opened has drawn what axe and the keyboard will meet."""
    built = {
        "source": "#source-editor .cm-content",
        "details": "#graph [data-part]",
        "manifold": "#manifold-image",
        "kl": '#kl-panel[data-shown]:not([data-shown=""])',
        "vq": '#vq-vectors[data-indices]:not([data-indices=""])',
    }
    for panel in panels:
        watch.page.click(f"#{panel}-toggle")
    watch.settle()
    for panel in panels:
        button = watch.page.locator(f"#{panel}-toggle")
        opened = "true" in (button.get_attribute("aria-expanded"), button.get_attribute("aria-pressed"))
        if opened and panel in built:
            watch.page.wait_for_selector(built[panel], state="attached")


def vq_details(watch):
    """The VQ-VAE view with its details open: the quantiser's code and its graph, drawn."""
    toggle(watch, "vq")
    watch.page.click("#vq-details-toggle")
    watch.page.wait_for_selector("#vq-code-lines .code-line", state="attached")
    watch.page.wait_for_selector('#vqg-indices[data-indices]:not([data-indices=""])', state="attached")
    # The pointer leaves the toggle: the opened details may lie under it, and a hovered line dims the others
    # (linking, a transient state of its own), which is not the state this one checks.
    watch.page.mouse.move(0, 0)
    watch.settle()


def prior_sample(watch):
    """The VQ-VAE view after a grid was sampled from the prior: its painted cells and the sampler's words."""
    toggle(watch, "vq")
    watch.page.wait_for_selector('#vq-vectors[data-indices]:not([data-indices=""])', state="attached")
    watch.page.click("#vq-sample")
    watch.page.wait_for_selector("#vq-prior-status:has-text('Sampled with seed')")
    watch.page.mouse.move(0, 0)
    watch.settle()


def edit_code(watch):
    """An edit to sample.py applied, so the page runs the learner's code (and says so)."""
    toggle(watch, "source")
    watch.page.click("#source-editor .cm-content")
    type_comment(watch.page, "edited by the accessibility test")
    watch.page.click("#apply-button")
    watch.page.wait_for_selector("html[data-edited=true]", state="attached")
    watch.settle()


def edit_quantizer(watch):
    """quantizer.py picked in the Source panel (it loads then), edited and applied, and the VQ-VAE view running it."""
    watch.page.click("#source-stories [data-story=vq]")
    watch.page.wait_for_selector('#source-tabs [data-module="vq.quantizer"][aria-selected=true]')
    watch.page.click("#source-editor .cm-content")
    type_comment(watch.page, "edited by the accessibility test")
    watch.page.click("#apply-button")
    watch.page.wait_for_selector("#edited-marker:has-text('quantizer.py')")
    toggle(watch, "vq")


def type_comment(page, words):
    """A comment typed at the end of the module's last line, key by key: no new line, so no auto-indent to meet,
    and slow enough that CodeMirror has taken each key before the next (at full speed it can drop or reorder one).
    """
    page.keyboard.press("Control+End")
    page.keyboard.type(f"  # {words}", delay=20)
    page.wait_for_selector(f"#source-editor .cm-content:has-text('# {words}')", state="attached")


def decoder_fails(watch, url):
    """A fresh load whose decoder is not a model: the page says so and keeps the rest working."""
    watch.page.evaluate("localStorage.clear()")
    watch.page.route("**/models/decoder.onnx", lambda route: route.fulfill(body=b"not an ONNX model"))
    watch.open(url)
    watch.page.wait_for_selector("#message.error:not([hidden])")
    watch.page.wait_for_selector('#loading [data-stage="models"][data-status="failed"]', state="attached")
    watch.settle()


def plot_zoomed(watch):
    """The latent plot zoomed in on μ (×8, its ticks in hundredths) with the prior drawn over it."""
    for _ in range(3):
        watch.page.click("#zoom-in")
    toggle(watch, "prior")
    watch.settle()


def training(watch):
    """The training view open and training, its map redrawn at least once since the start."""
    toggle(watch, "train")
    watch.page.wait_for_selector("#train-panel[data-state=paused]", state="attached", timeout=60_000)
    watch.page.click("#train-run")
    watch.page.wait_for_function("() => +document.getElementById('train-panel').dataset.mapStep > 0", timeout=60_000)


# The states axe checks, in order, on one page: (name, what gets there, what undoes it). A new view is one line.
STATES = [
    ("first view", lambda w, url: None, None),
    *((f"{p} open", lambda w, url, p=p: toggle(w, p), lambda w, p=p: toggle(w, p)) for p in PANELS),
    ("all panels open", lambda w, url: toggle(w, *PANELS), lambda w: toggle(w, *PANELS)),
    (
        "VQ-VAE details open",
        lambda w, url: vq_details(w),
        lambda w: (w.page.click("#vq-details-toggle"), toggle(w, "vq")),
    ),
    ("codes sampled from the prior", lambda w, url: prior_sample(w), lambda w: toggle(w, "vq")),
    ("plot zoomed", lambda w, url: plot_zoomed(w), lambda w: (toggle(w, "prior"), w.page.click("#zoom-reset"))),
    ("edited code in use", lambda w, url: edit_code(w), None),
    ("edited quantizer in use", lambda w, url: edit_quantizer(w), None),
    ("training", lambda w, url: training(w), lambda w: (w.page.click("#train-run"), toggle(w, "train"))),
    ("decoder failing to load", decoder_fails, None),
]
# Dark mode changes colours only, so the states that show every colour are enough there (and keep `make test` short).
DARK_STATES = ("first view", "all panels open", "plot zoomed", "edited code in use", "decoder failing to load")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_in_any_state(browser, server_url, scheme):
    states = [s for s in STATES if scheme == "light" or s[0] in DARK_STATES]
    context = browser.new_context(viewport={"width": 1300, "height": 950}, color_scheme=scheme)
    watch = PageWatch(context.new_page(), server_url)
    try:
        watch.open(server_url)
        watch.settle()
        found = {}
        for name, enter, leave in states:
            enter(watch, server_url)
            found[name] = axe_violations(watch.page)
            if leave is not None:
                leave(watch)
        assert found == {name: [] for name, _, _ in states}
        assert watch.csp_violations == [] and not [p for _, p in watch.requests if "axe" in p]
    finally:
        context.close()


def test_reduced_motion_is_respected(browser, server_url):
    """No reveal animation, and an article link jumps to its target at once instead of scrolling smoothly."""
    context = browser.new_context(viewport={"width": 1300, "height": 950}, reduced_motion="reduce")
    watch = PageWatch(context.new_page(), server_url)
    try:
        page = watch.open(server_url)
        watch.settle()
        toggle(watch, "details")
        assert page.evaluate("getComputedStyle(document.getElementById('details')).animationName") == "none"
        link = page.locator('#article a.tool-link[data-target="loss-panel"]').first
        link.scroll_into_view_if_needed()
        before = page.evaluate("scrollY")
        link.click()
        jumped = page.evaluate("scrollY")  # read at once: a smooth scroll would have barely begun
        page.wait_for_timeout(800)
        assert abs(before - jumped) > 500 and page.evaluate("scrollY") == jumped
    finally:
        context.close()


VISIBLE = """() => Object.fromEntries(['draw-canvas', 'latent-plot', 'reconstruction'].map(id => {
    const r = document.getElementById(id).getBoundingClientRect();
    const w = Math.max(0, Math.min(r.right, innerWidth) - Math.max(r.left, 0));
    const h = Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0));
    return [id, (w * h) / (r.width * r.height)];
}))"""
TOO_SMALL = """() => [...document.querySelectorAll('button, input, select, a.button-link, [role=tab]')]
    .filter(e => e.offsetParent !== null)
    .map(e => [e.id || e.textContent.trim(), e.getBoundingClientRect()])
    .filter(([, r]) => r.width < 44 || r.height < 44)
    .map(([name, r]) => `${name} ${Math.round(r.width)}×${Math.round(r.height)}`)"""
PAGE_WIDTH = "document.scrollingElement.scrollWidth"


@pytest.mark.parametrize(
    "name, viewport, mobile",
    [("phone", {"width": 390, "height": 844}, True), ("tablet", {"width": 768, "height": 1024}, False)],
)
def test_phone_and_tablet_show_input_latent_and_output_together(browser, server_url, name, viewport, mobile):
    context = browser.new_context(
        viewport=viewport, device_scale_factor=2 if mobile else 1, is_mobile=mobile, has_touch=True
    )
    watch = PageWatch(context.new_page(), server_url)
    try:
        page = watch.open(server_url)
        watch.settle()
        # The best scroll position: the least visible of the three, as large as it gets.
        best = max(
            (min(page.evaluate(f"() => {{ scrollTo(0, {y}); return ({VISIBLE})(); }}").values()), y)
            for y in range(
                0,
                round(page.evaluate("scrollY + document.getElementById('latent-plot').getBoundingClientRect().bottom")),
                10,
            )
        )
        assert best[0] >= 0.6, f"at best {best[0]:.0%} of the least visible of the three, at scroll {best[1]}"
        page.evaluate(f"scrollTo(0, {best[1]})")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}.png")
        assert page.evaluate(TOO_SMALL) == []
        assert page.evaluate(PAGE_WIDTH) <= viewport["width"]

        # A finger dragged over the canvas draws and never scrolls; the same drag beside it scrolls the page.
        assert page.evaluate("getComputedStyle(document.getElementById('draw-canvas')).touchAction") == "none"
        cdp = context.new_cdp_session(page)
        box = page.locator("#draw-canvas").bounding_box()
        before, mu = page.evaluate("[scrollX, scrollY]"), watch.vector("mu")
        swipe(cdp, box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.8, -0.6 * box["height"])
        watch.settle()
        assert page.locator('[data-preset][aria-pressed="true"]').count() == 0  # a stroke replaced the preset
        assert watch.vector("mu") != mu
        page.wait_for_timeout(300)  # time for a scroll, had the gesture started one
        assert page.evaluate("[scrollX, scrollY]") == before
        caption = page.locator(".stage-output .caption").bounding_box()
        swipe(cdp, caption["x"] + caption["width"] / 2, caption["y"] + caption["height"] / 2, -150)
        for _ in range(20):
            if page.evaluate("scrollY") != before[1]:
                break
            page.wait_for_timeout(100)
        assert page.evaluate("scrollY") > before[1]

        toggle(watch, *PANELS)
        assert page.evaluate(PAGE_WIDTH) <= viewport["width"]
        assert page.evaluate(TOO_SMALL) == []
        assert watch.errors == []
    finally:
        context.close()


def swipe(cdp, x, y, dy, steps=8):
    """A one-finger drag through Chrome's real touch input (compositor gestures included)."""
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for k in range(1, steps + 1):
        point = {"x": x + k, "y": y + dy * k / steps}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


FOCUS = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return {lost: true};
    const shown = getComputedStyle(e.closest('.cm-editor') || e);
    return {
        visible: shown.outlineStyle !== 'none' && parseFloat(shown.outlineWidth) > 0,
        what: e.id || e.dataset.preset || e.dataset.part || e.className.baseVal || e.className || e.tagName,
    };
}"""


def tab_to(page, selector, back=False, limit=250):
    """Tab (or Shift+Tab) until `selector` has focus; every stop on the way must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focus = page.evaluate(FOCUS)
        assert not focus.get("lost"), "focus fell back to the body"
        assert focus["visible"], f"focus on {focus['what']} is not visible"
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"{selector} never took focus")


def test_keyboard_only_from_first_tab_to_export(watch, server_url):
    page = watch.open(server_url)
    watch.settle()
    label = page.get_attribute("#draw-canvas", "aria-label")
    assert "pointer" in label and "preset" in label

    tab_to(page, '[data-preset="1"]')
    page.keyboard.press("Enter")
    watch.settle()
    assert page.get_attribute('[data-preset="1"]', "aria-pressed") == "true"
    tab_to(page, "#interpolate-toggle")
    page.keyboard.press("Enter")
    tab_to(page, "#set-a")
    page.keyboard.press("Enter")
    watch.settle()
    a = watch.vector("mu")

    tab_to(page, '[data-preset="7"]', back=True)
    page.keyboard.press("Enter")
    watch.settle()
    mu = watch.vector("mu")
    assert mu != a
    tab_to(page, "#latent-plot")
    for key in ("ArrowRight", "ArrowRight", "ArrowUp"):
        page.keyboard.press(key)
    watch.settle()
    assert watch.vector("z") != mu and "pinned" in page.text_content("#z-mode")
    tab_to(page, "#resample-button")
    z = watch.vector("z")
    page.keyboard.press("Enter")
    watch.settle()
    assert watch.vector("z") != z and page.text_content("#z-mode") == "z = μ + σ·ε"

    tab_to(page, "#set-b")
    page.keyboard.press("Enter")
    tab_to(page, "#interp-slider")
    page.keyboard.press("End")
    watch.settle()
    assert watch.vector("z") == pytest.approx(mu, abs=1e-4)  # the slider's end is B, the μ of the 7
    page.keyboard.press("Home")
    watch.settle()
    assert watch.vector("z") == pytest.approx(a, abs=1e-4)

    tab_to(page, "#details-toggle", back=True)
    page.keyboard.press("Enter")
    # The plot's own toggles sit beside the plot, before the tool bar; the panels' toggles are in the tool bar.
    for panel in ("manifold", "prior"):
        tab_to(page, f"#{panel}-toggle", back=True)
        page.keyboard.press("Enter")
    for panel in ("loss", "samples", "source"):
        tab_to(page, f"#{panel}-toggle")
        page.keyboard.press("Enter")
    watch.settle()
    page.wait_for_selector("#graph [data-part]", state="attached")
    page.wait_for_selector("#source-editor .cm-content", state="attached")
    for panel in ("details", "loss", "prior", "manifold", "samples", "interpolate", "source"):
        state = page.get_attribute(f"#{panel}-toggle", "aria-expanded") or page.get_attribute(
            f"#{panel}-toggle", "aria-pressed"
        )
        assert state == "true", panel

    tab_to(page, "#source-editor .cm-content")
    type_comment(page, "edited from the keyboard")
    tab_to(page, "#apply-button", back=True)
    page.keyboard.press("Enter")
    page.wait_for_selector("html[data-edited=true]", state="attached")

    tab_to(page, "#export-json", back=True)
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert download.value.suggested_filename == "vae-latent.json"
    assert watch.errors == []


def brute_labels(mu_map, labels, centre, k=narrate.K):
    """The labels of the k training digits nearest to `centre`, by a full numpy sort (not the page's index)."""
    d = ((np.asarray(mu_map) - np.asarray(centre)) ** 2).sum(axis=1)
    return [labels[i] for i in np.lexsort((np.arange(len(d)), d))[:k]]


def test_live_region_says_what_the_page_shows(watch, server_url):
    models = Path(REPO / "models")
    mu_map, labels, _ = parse_latent_map(
        (models / "latent_map.json").read_text(), (models / "latent_map.bin").read_bytes()
    )
    page = watch.open_state(server_url, preset=7)
    region = page.locator("#announce")
    assert region.get_attribute("aria-live") == "polite" and region.get_attribute("role") == "status"
    page.wait_for_selector("#announce:has-text('Encoded')", state="attached")
    mu, sigma = watch.vector("mu"), watch.vector("sigma")
    near = brute_labels(mu_map, labels, mu)
    assert region.text_content() == narrate.encoding_sentence(mu, sigma, near)
    assert page.text_content("#nearest") == narrate.nearest_line(near)
    assert narrate.vote(near)[0] == 7  # the shipped model puts this 7 among 7s

    # Hovering is not narrated (it changes every frame); pinning z is, once it has settled.
    plot = page.locator("#latent-plot").bounding_box()
    for k in range(10):
        page.mouse.move(plot["x"] + plot["width"] * (0.3 + 0.02 * k), plot["y"] + plot["height"] * 0.5)
    watch.settle()
    page.wait_for_timeout(800)
    assert region.text_content() == narrate.encoding_sentence(mu, sigma, near)
    page.mouse.click(plot["x"] + plot["width"] * 0.3, plot["y"] + plot["height"] * 0.3)
    watch.settle()
    page.wait_for_selector("#announce:has-text('pinned')", state="attached")
    z = watch.vector("z")
    assert region.text_content() == narrate.z_sentence(z, "pinned", brute_labels(mu_map, labels, z))
    assert watch.errors == []
