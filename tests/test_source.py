"""End to end, issue 5: the page's own Python in the Source panel. An applied edit runs at once; broken edits are
explained with their line while the last good code keeps running; Reset restores the shipped maths; an edit survives
a reload in the same browser; a link's edited code is only offered, never run before Apply."""

from pathlib import Path

import pytest

from page.state import decode_hash
from vae import sample

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
SAMPLE = (REPO / "pysrc" / "vae" / "sample.py").read_text(encoding="utf-8")
RETURN_LINE = "    return [m + s * e for m, s, e in zip(mu, sigma, epsilon, strict=True)]"
RETURN_MU = SAMPLE.replace(RETURN_LINE, "    return list(mu)")
EDITOR_TEXT_JS = "() => Array.from(document.querySelectorAll('.cm-content .cm-line'), l => l.textContent).join('\\n')"
STROKES = [
    [[(60, 50), (220, 50), (140, 250)]],
    [[(140, 40), (140, 250)]],
    [[(140, 40), (80, 80), (70, 150), (100, 230), (160, 240), (210, 170), (200, 80), (140, 40)]],
    [[(80, 60), (200, 60), (80, 240), (200, 240)]],
]


def return_line_number():
    return SAMPLE.splitlines().index(RETURN_LINE) + 1


def editor_text(page):
    return page.evaluate(EDITOR_TEXT_JS)


def set_editor(page, module, source):
    """Select the module's tab and replace the editor's text as a learner would: select all, then type it in."""
    page.click(f'#source-tabs [data-module="{module}"]')
    assert page.get_attribute(f'#source-tabs [data-module="{module}"]', "aria-selected") == "true"
    page.click(".cm-content")
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(source)
    assert editor_text(page) == source


def apply(page, watch, module, source):
    set_editor(page, module, source)
    page.click("#apply-button")
    watch.settle()


def seed_of(page):
    return decode_hash(page.evaluate("() => location.hash")).seed


def assert_shipped_sampling(page, watch):
    """z = μ + σ·ε with ε drawn from the link's seed, as the shipped reparameterize computes it."""
    mu, sigma, epsilon, z = (watch.vector(n) for n in ("mu", "sigma", "epsilon", "z"))
    assert epsilon == pytest.approx(sample.draw_epsilon(seed_of(page)), rel=1e-12)
    assert z == pytest.approx([m + s * e for m, s, e in zip(mu, sigma, epsilon, strict=True)], rel=1e-12, abs=1e-12)
    assert z != mu


def assert_edit_runs(page, watch):
    assert watch.vector("z") == watch.vector("mu")
    assert page.get_attribute("html", "data-edited") == "true"
    assert page.is_visible("#edited-marker")
    assert "sample.py" in page.inner_text("#edited-marker")


def assert_not_edited(page):
    assert page.get_attribute("html", "data-edited") == "false"
    assert page.is_hidden("#edited-marker")


def redraw(page, watch, k):
    """Clear and draw a new digit; returns μ before and after, so a test can see the page still responds."""
    before = watch.vector("mu")
    page.click("#clear-button")
    watch.draw(STROKES[k % len(STROKES)])
    watch.settle()
    after = watch.vector("mu")
    assert after != before
    return after


BROKEN = (
    ("    return list(mu", "SyntaxError"),
    ("    return [1 / 0, 0.0]", "ZeroDivisionError"),
    ("    return [float('nan'), 0.0]", "nan"),
)


def assert_error_at_return_line(page, expected):
    page.wait_for_selector("#source-error:not([hidden])")
    message = page.inner_text("#source-error")
    line = return_line_number()
    assert message.startswith(f"Line {line}:"), message
    assert expected in message, message
    assert page.get_attribute("#source-error", "data-line") == str(line)


def test_apply_runs_the_edit_at_once_and_marks_it(watch, server_url):
    assert RETURN_LINE in SAMPLE
    page = watch.open_state(server_url, panels={"source"})
    page.wait_for_selector(".cm-content")
    assert_not_edited(page)
    assert_shipped_sampling(page, watch)

    apply(page, watch, "vae.sample", RETURN_MU)
    assert page.is_hidden("#source-error")
    assert_edit_runs(page, watch)
    redraw(page, watch, 0)  # and it keeps running on new input
    assert watch.vector("z") == watch.vector("mu")

    page.click("#reset-button")
    watch.settle()
    assert editor_text(page) == SAMPLE
    assert_not_edited(page)
    assert_shipped_sampling(page, watch)
    assert watch.errors == []


def test_broken_edits_say_where_and_the_last_good_code_keeps_running(watch, server_url):
    """A syntax error, an exception and a NaN result are all refused with their line, on the shipped code and on
    an applied edit alike, and the page keeps drawing with the code it ran before."""
    page = watch.open_state(server_url, panels={"source"})
    page.wait_for_selector(".cm-content")
    for k, (broken, expected) in enumerate(BROKEN):
        apply(page, watch, "vae.sample", SAMPLE.replace(RETURN_LINE, broken))
        assert_error_at_return_line(page, expected)
        assert_not_edited(page)
        redraw(page, watch, k)
        assert_shipped_sampling(page, watch)

    apply(page, watch, "vae.sample", RETURN_MU)
    assert page.is_hidden("#source-error")
    assert_edit_runs(page, watch)
    for k, (broken, expected) in enumerate(BROKEN):
        apply(page, watch, "vae.sample", SAMPLE.replace(RETURN_LINE, broken))
        assert_error_at_return_line(page, expected)
        redraw(page, watch, k + 1)
        assert_edit_runs(page, watch)

    page.click("#reset-button")
    watch.settle()
    assert page.is_hidden("#source-error")
    assert_not_edited(page)
    assert_shipped_sampling(page, watch)
    assert watch.errors == []
    assert page.is_hidden("#message"), page.inner_text("#message")  # every frame of every drawing drew to the end


def test_an_edit_that_fails_only_on_real_input_is_set_aside(watch, server_url):
    # It passes Apply's checks (μ of 0, 2.5 and 40) but raises for the first view's μ (|μ₁| ≈ 0.04).
    failing = SAMPLE.replace(RETURN_LINE, "    if 0.001 < abs(mu[0]) < 1:\n        return [1 / 0, 0.0]\n" + RETURN_LINE)
    page = watch.open_state(server_url, panels={"source"})
    page.wait_for_selector(".cm-content")
    apply(page, watch, "vae.sample", RETURN_MU)
    assert_edit_runs(page, watch)
    apply(page, watch, "vae.sample", failing)
    page.wait_for_selector("#source-error:not([hidden])")
    message = page.inner_text("#source-error")
    line = failing.splitlines().index("        return [1 / 0, 0.0]") + 1
    assert message.startswith(f"Line {line}:") and "ZeroDivisionError" in message, message
    assert "sample.py" in page.inner_text("#message")
    assert_edit_runs(page, watch)  # the edit before it runs again
    redraw(page, watch, 3)
    assert_edit_runs(page, watch)
    assert watch.errors == []


def test_an_applied_edit_survives_a_reload_and_reset_too(watch, server_url):
    page = watch.open_state(server_url, panels={"source"})
    page.wait_for_selector(".cm-content")
    apply(page, watch, "vae.sample", RETURN_MU)
    assert_edit_runs(page, watch)

    page.reload()
    watch.wait_ready()
    watch.settle()
    assert page.get_attribute("html", "data-edited") == "true"
    assert watch.vector("z") == watch.vector("mu")
    page.wait_for_selector(".cm-content")
    assert_edit_runs(page, watch)
    assert page.is_hidden("#message")  # this browser's own edit: nothing to offer, nothing to warn about
    assert editor_text(page) == RETURN_MU

    page.click("#reset-button")
    watch.settle()
    assert_not_edited(page)
    assert_shipped_sampling(page, watch)
    page.reload()
    watch.wait_ready()
    watch.settle()
    assert page.get_attribute("html", "data-edited") == "false"
    assert_shipped_sampling(page, watch)
    assert watch.errors == []


def test_a_links_edited_code_is_offered_and_runs_only_after_apply(watch, server_url):
    page = watch.open_state(server_url, code={"vae.sample": RETURN_MU})
    assert_shipped_sampling(page, watch)
    assert page.get_attribute("html", "data-edited") == "false"
    message = page.inner_text("#message")
    assert "sample.py" in message and "Apply" in message, message
    assert page.is_visible("#source-panel")  # opened, to show what the link carries
    page.wait_for_selector(".cm-content")
    assert page.get_attribute('#source-tabs [data-module="vae.sample"]', "aria-selected") == "true"
    assert editor_text(page) == RETURN_MU
    assert_shipped_sampling(page, watch)  # showing it does not run it

    page.click("#apply-button")
    watch.settle()
    assert_edit_runs(page, watch)
    assert watch.errors == []
