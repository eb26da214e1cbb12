"""End to end for the details view (issue 4), the live source (issue 5) and the extra views (issue 6)."""

import json
import math
from pathlib import Path

import pytest
from test_page import canvas_pixels

from page import code_panel
from vae import decoder, latent_plot, loss

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
SAMPLE = (REPO / "pysrc" / "vae" / "sample.py").read_text()
LIT_PARTS = "() => Array.from(document.querySelectorAll('#graph [data-part].lit')).map(e => e.dataset.part)"
LIT_LINES = "() => Array.from(document.querySelectorAll('.code-line.lit')).map(l => l.dataset.parts)"
RETURN_LINE = "    return [m + s * e for m, s, e in zip(mu, sigma, epsilon, strict=True)]"


def graph_value(page, element_id):
    return float(page.get_attribute(f"#{element_id}", "data-value"))


# ---- issue 4: details ----


def test_details_toggle_linking_numbers_and_code(watch, server_url):
    page = watch.open_state(server_url)
    page.click("#details-toggle")
    assert page.get_attribute("#details-toggle", "aria-expanded") == "true"
    assert page.is_visible("#details")
    page.wait_for_selector("#code-lines .code-line")
    page.wait_for_selector("#graph [data-part]")
    watch.settle()

    # The code shown is byte-identical to the functions in training/ (only the comments' maths is typeset).
    shown = page.evaluate("() => Array.from(document.querySelectorAll('.code-line')).map(l => l.dataset.source)")
    snippets = code_panel.extract((REPO / "training" / "vae.py").read_text())
    assert shown == [line for s in snippets for line in s.text.splitlines()]

    # Hover each linked code line: exactly its parts light up in the graph.
    lines = page.locator(".code-line:not([data-parts=''])")
    assert lines.count() >= 8
    for i in range(lines.count()):
        line = lines.nth(i)
        parts = set(line.get_attribute("data-parts").split())
        line.hover()
        lit = set(
            page.evaluate(
                "() => Array.from(document.querySelectorAll('#graph [data-part].lit')).map(e => e.dataset.part)"
            )
        )
        assert lit == parts
        assert "linked" in page.get_attribute("#details", "class")
    # ... and the reverse, also by keyboard focus (the pointer moved away: focus scrolls, and a pointer left
    # over the code would hover other lines).
    page.mouse.move(0, 0)
    for part in ("mu", "log_var", "sigma", "epsilon", "z"):
        page.focus(f"#graph [data-part='{part}']")
        lit_lines = page.evaluate(
            "() => Array.from(document.querySelectorAll('.code-line.lit')).map(l => l.dataset.parts)"
        )
        assert lit_lines, part
        assert all(part in parts.split() for parts in lit_lines), (part, lit_lines)

    # The graph's numbers are the page's numbers, after Resample and while hovering, and σ = exp(½ log σ²).
    for action in ("resample", "hover"):
        if action == "resample":
            page.click("#resample-button")
        else:
            box = page.locator("#latent-plot").bounding_box()
            page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
        watch.settle()
        for name in ("mu", "sigma", "epsilon", "z"):
            assert [graph_value(page, f"g-{name}-{i}") for i in range(2)] == pytest.approx(
                watch.vector(name), rel=1e-12
            )
        for i in range(2):
            assert graph_value(page, f"g-sigma-{i}") == pytest.approx(
                math.exp(0.5 * graph_value(page, f"g-log_var-{i}")), rel=1e-9
            )

    page.click("#details-toggle")
    assert not page.is_visible("#details")
    assert watch.errors == []


def test_no_graph_marker_leaves_its_plot_for_far_z(watch, server_url):
    page = watch.open_state(server_url, panels={"details"})
    page.wait_for_selector("#graph [data-part]")
    box = page.locator("#latent-plot").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.08)  # pin z near (−4, 4)
    page.mouse.move(0, 0)
    watch.settle()
    assert max(abs(v) for v in watch.vector("z")) > 3
    outside = page.evaluate(
        """() => Array.from(document.querySelectorAll('#graph [data-plot]')).filter(el => {
            const frame = document.getElementById(el.dataset.plot).getBBox(), b = el.getBBox();
            return b.x < frame.x - 0.5 || b.y < frame.y - 0.5 || b.x + b.width > frame.x + frame.width + 0.5
                || b.y + b.height > frame.y + frame.height + 0.5; }).map(el => el.id || el.tagName)"""
    )
    assert outside == []


# ---- issue 5: live source ----


def edit(page, module, source):
    page.click(f'#source-tabs [data-module="{module}"]')
    page.click(".cm-content")
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(source)
    page.click("#apply-button")


def test_live_edit_apply_errors_reset_and_reload(watch, server_url):
    assert RETURN_LINE in SAMPLE
    page = watch.open_state(server_url, panels={"source"})
    page.wait_for_selector(".cm-content")

    edit(page, "vae.sample", SAMPLE.replace(RETURN_LINE, "    return list(mu)"))
    watch.settle()
    assert watch.vector("z") == watch.vector("mu")
    assert page.get_attribute("html", "data-edited") == "true"
    assert page.is_visible("#edited-marker")

    bad_line = SAMPLE.splitlines().index(RETURN_LINE) + 1
    broken_edits = (
        ("    return list(mu", "SyntaxError"),
        ("    return [1 / 0, 0.0]", "ZeroDivisionError"),
        ("    return [float('nan'), 0.0]", "nan"),
    )
    for k, (broken, expected) in enumerate(broken_edits):
        edit(page, "vae.sample", SAMPLE.replace(RETURN_LINE, broken))
        page.wait_for_selector("#source-error:not([hidden])")
        message = page.inner_text("#source-error")
        assert f"Line {bad_line}" in message and expected in message
        mu = watch.vector("mu")
        page.click("#clear-button")
        watch.draw([[(80, 80 + 40 * k), (200, 200)]])  # the page still responds, on the last good code (z sticks to μ)
        watch.settle()
        assert watch.vector("mu") != mu
        assert watch.vector("z") == watch.vector("mu")

    page.reload()
    watch.wait_ready()
    watch.settle()
    assert watch.vector("z") == watch.vector("mu")  # the applied edit survived the reload
    page.wait_for_selector(".cm-content")
    page.click('#source-tabs [data-module="vae.sample"]')
    page.click("#reset-button")
    watch.settle()
    assert watch.vector("z") != watch.vector("mu")
    assert page.get_attribute("html", "data-edited") == "false"
    assert watch.errors == []


def test_shared_code_is_offered_not_run(watch, server_url):
    code = {"vae.sample": SAMPLE.replace(RETURN_LINE, "    return list(mu)")}
    page = watch.open_state(server_url, code=code)
    assert watch.vector("z") != watch.vector("mu")
    assert "runs only if you press Apply" in page.inner_text("#message")
    page.wait_for_selector(".cm-content")
    page.click('#source-tabs [data-module="vae.sample"]')
    page.click("#apply-button")
    watch.settle()
    assert watch.vector("z") == watch.vector("mu")


# ---- issue 6: loss, manifold, interpolation, shared state ----


def test_loss_updates_on_drawing_and_matches_the_closed_form(watch, server_url):
    page = watch.open_state(server_url, panels={"loss"})
    before = page.get_attribute("#loss-panel", "data-elbo")
    page.click("#clear-button")
    watch.draw([[(70, 60), (210, 60), (140, 250)]])
    watch.settle()
    rec, kl, elbo = (float(page.get_attribute("#loss-panel", f"data-{n}")) for n in ("reconstruction", "kl", "elbo"))
    assert page.get_attribute("#loss-panel", "data-elbo") != before
    assert elbo == pytest.approx(rec + kl, rel=1e-12)
    mu, log_var = watch.vector("mu"), [float(v) for v in page.get_attribute("#latent-plot", "data-log-var").split(",")]
    assert kl == pytest.approx(sum(-0.5 * (1 + lv - m * m - math.exp(lv)) for m, lv in zip(mu, log_var, strict=True)))
    assert rec > 0
    # The total is an ELBO estimate only while z is sampled; a z placed by hand is named for what it is.
    assert page.text_content("#loss-elbo-label") == loss.total_name(False)
    page.focus("#latent-plot")
    page.keyboard.press("ArrowRight")
    watch.settle()
    assert page.text_content("#loss-elbo-label") == loss.total_name(True)
    page.keyboard.press("Escape")
    watch.settle()
    assert page.text_content("#loss-elbo-label") == loss.total_name(False)


def test_manifold_cells_decode_the_right_z(watch, server_url):
    from training.evaluate import sessions

    page = watch.open_state(server_url, panels={"manifold"})
    page.wait_for_selector("#manifold-image", state="attached")
    manifest = (REPO / "models" / "latent_map.json").read_text()
    ranges = json.loads(manifest)["ranges"]
    domain = latent_plot.square_domain(ranges["mu_min"], ranges["mu_max"])
    zs = decoder.grid_points(domain, 20)
    _, dec = sessions(REPO / "models")
    for cell in (0, 19, 210, 399):
        expected = decoder.grayscale_rgba(dec.run(None, {"z": [zs[cell]]})[0].reshape(-1).tolist())
        row, col = divmod(cell, 20)
        shown = page.evaluate(
            "([x, y]) => Array.from(document.getElementById('manifold-canvas').getContext('2d')"
            ".getImageData(x, y, 28, 28).data)",
            [col * 28, row * 28],
        )
        assert max(abs(a - b) for a, b in zip(shown, expected, strict=True)) <= 2


def test_interpolation_endpoints_are_the_two_mus(watch, server_url):
    page = watch.open_state(server_url, preset=1)
    page.click("#interpolate-toggle")
    page.click("#set-a")
    mu_a = watch.vector("mu")
    page.click("[data-preset='0']")
    watch.settle()
    page.click("#set-b")
    mu_b = watch.vector("mu")
    watch.settle()
    assert [float(v) for v in page.get_attribute("#interp-layer", "data-a").split(",")] == mu_a
    assert [float(v) for v in page.get_attribute("#interp-layer", "data-b").split(",")] == mu_b
    for value, end in (("1000", mu_b), ("0", mu_a)):
        page.evaluate(
            "(v) => { const s = document.getElementById('interp-slider'); s.value = v;"
            " s.dispatchEvent(new Event('input', {bubbles: true})); }",
            value,
        )
        watch.settle()
        assert watch.vector("z") == pytest.approx(end, abs=1e-5)  # a pinned z keeps 5 decimals, like a shared link


def test_a_shared_url_restores_mu_z_and_reconstruction(watch, server_url, browser):
    page = watch.open_state(server_url, panels={"loss"})
    page.click("#clear-button")
    watch.draw([[(140, 40), (140, 250)]])
    box = page.locator("#latent-plot").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.45)
    page.mouse.move(0, 0)
    watch.settle()
    url, mu, z = page.url, watch.vector("mu"), watch.vector("z")
    pixels = canvas_pixels(page, "#reconstruction")
    context = browser.new_context()
    try:
        other = context.new_page()
        other.goto(url)
        other.wait_for_selector("html[data-ready=true]", state="attached", timeout=90_000)
        other.wait_for_selector("html[data-busy=false]", state="attached")
        vector = lambda n: [float(v) for v in other.get_attribute("#latent-plot", f"data-{n}").split(",")]  # noqa: E731
        assert vector("mu") == pytest.approx(mu, abs=1e-5)
        assert vector("z") == pytest.approx(z, abs=1e-5)
        assert canvas_pixels(other, "#reconstruction") == pixels
        assert other.get_attribute("#loss-toggle", "aria-expanded") == "true"
    finally:
        context.close()


def test_garbage_hash_gets_a_gentle_message(watch, server_url):
    page = watch.open(server_url + "#v1.garbage!!")
    assert "ignored" in page.inner_text("#message")
    watch.settle()
    assert len(watch.vector("mu")) == 2
    assert watch.errors == []
