"""End to end, issue 4: the details view. The real Keras code beside the live computational graph, each lighting up
the other, by pointer and by keyboard; the graph's numbers are the page's numbers; no curve or marker ever leaves its
small plot, however far μ, z and ε go."""

import io
import json
import math
from pathlib import Path

import pytest

from page import code_panel
from page.state import decode_hash
from vae import graph, latent_plot, sample

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
VAE_PY = REPO / "training" / "vae.py"
VECTORS = ("mu", "log_var", "sigma", "epsilon", "z")
# One straight, slanted stroke that the shipped encoder puts at μ₁ ≈ 3.7: the graph's z plots must then hold a μ
# beyond the ±3 they start with (found offline with the same preprocessing and encoder the page runs).
FAR_STROKE = [[(214.3, 250.0), (158.1, 30.0)]]

LINES_JS = """() => Array.from(document.querySelectorAll('#code-lines .code-line')).map(line => {
    const body = line.children[1].cloneNode(true);
    for (const math of body.querySelectorAll('.katex')) {  // typeset maths back to the $TeX$ it was written as
        const tex = math.querySelector('annotation[encoding="application/x-tex"]');
        math.replaceWith('$' + (tex ? tex.textContent : '<no TeX annotation>') + '$');
    }
    return {number: line.children[0].textContent, text: body.textContent, source: line.dataset.source,
            parts: line.dataset.parts, gapBefore: !!(line.previousElementSibling
                && line.previousElementSibling.classList.contains('code-gap'))};
})"""
PARTS_JS = "() => Array.from(document.querySelectorAll('#graph [data-part]')).map(e => e.dataset.part)"
LIT_JS = """() => ({
    parts: Array.from(document.querySelectorAll('#graph [data-part].lit')).map(e => e.dataset.part),
    lines: Array.from(document.querySelectorAll('#code-lines .code-line'))
        .map((l, i) => l.classList.contains('lit') ? i : -1).filter(i => i >= 0),
    linked: document.getElementById('details').classList.contains('linked'),
    focused: document.activeElement && (document.activeElement.dataset.part !== undefined
        ? 'part:' + document.activeElement.dataset.part
        : document.activeElement.classList.contains('code-line')
            ? 'line:' + Array.from(document.querySelectorAll('#code-lines .code-line')).indexOf(document.activeElement)
            : document.activeElement.tagName),
})"""
# A point inside a graph part where the pointer really hits that part (its centre may be empty or another part's).
PART_POINT_JS = """(part) => {
    const group = document.querySelector(`#graph [data-part="${part}"]`);
    for (const el of group.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width < 2 || r.height < 2) continue;
        const x = r.left + r.width / 2, y = r.top + r.height / 2, hit = document.elementFromPoint(x, y);
        if (hit && group.contains(hit)) return [x, y];
    }
    return null;
}"""
OUTSIDE_JS = """() => {
    const plots = Array.from(document.querySelectorAll('#graph [data-plot]'));
    const out = [];
    for (const el of plots) {
        const frame = document.getElementById(el.dataset.plot);
        if (!frame) { out.push([el.id, 'no frame ' + el.dataset.plot]); continue; }
        const f = frame.getBBox(), b = el.getBBox();
        if (b.x < f.x - 0.5 || b.y < f.y - 0.5 || b.x + b.width > f.x + f.width + 0.5
            || b.y + b.height > f.y + f.height + 0.5) {
            out.push([el.id, [b.x, b.y, b.width, b.height], [f.x, f.y, f.width, f.height]]);
        }
    }
    return {count: plots.length, outside: out};
}"""


def wait_built(page, watch):
    page.wait_for_selector("#code-lines .code-line", state="attached")
    page.wait_for_selector("#graph [data-part]", state="attached")
    watch.settle()


def graph_vector(page, name):
    return [float(page.get_attribute(f"#g-{name}-{i}", "data-value")) for i in range(2)]


def page_vector(watch, name):
    return watch.vector(name.replace("_", "-"))


def assert_graph_shows_the_page(page, watch, when):
    assert page.is_hidden("#message"), (when, page.inner_text("#message"))  # every frame drew to the end
    for name in VECTORS:
        shown, expected = graph_vector(page, name), page_vector(watch, name)
        assert shown == pytest.approx(expected, rel=1e-12), (when, name)
        for i, value in enumerate(shown):  # the printed number is the same value, to three decimals
            text = page.text_content(f"#g-{name}-{i}")
            assert float(text) == pytest.approx(value, abs=0.0005 + 1e-12), (when, name, i, text)
    log_var, sigma = graph_vector(page, "log_var"), graph_vector(page, "sigma")
    for i in range(2):  # the log-var trick, on the numbers the graph prints
        assert sigma[i] == pytest.approx(math.exp(0.5 * log_var[i]), rel=1e-6), (when, i)
    mu, epsilon, z = graph_vector(page, "mu"), graph_vector(page, "epsilon"), graph_vector(page, "z")
    for i in range(2):
        assert z[i] == pytest.approx(mu[i] + sigma[i] * epsilon[i], rel=1e-9, abs=1e-9), (when, i)


def seed_of(page):
    return decode_hash(page.evaluate("() => location.hash")).seed


def test_toggle_shows_and_hides_details_and_its_numbers_follow_the_page(watch, server_url):
    page = watch.open_state(server_url)
    assert page.is_hidden("#details")
    assert page.get_attribute("#details-toggle", "aria-expanded") == "false"

    page.click("#details-toggle")
    assert page.get_attribute("#details-toggle", "aria-expanded") == "true"
    assert page.is_visible("#details")
    wait_built(page, watch)
    assert_graph_shows_the_page(page, watch, "first view")

    # The main view stays usable while the details are open: Resample draws a new ε from a new seed.
    before = {name: page_vector(watch, name) for name in VECTORS}
    page.click("#resample-button")
    watch.settle()
    after = {name: page_vector(watch, name) for name in VECTORS}
    assert after["mu"] == before["mu"]
    assert after["epsilon"] != before["epsilon"]
    assert after["z"] != before["z"]
    assert after["epsilon"] == pytest.approx(sample.draw_epsilon(seed_of(page)), rel=1e-12)
    assert_graph_shows_the_page(page, watch, "after Resample")

    page.click("[data-preset='7']")
    watch.settle()
    assert page_vector(watch, "mu") != after["mu"]
    assert_graph_shows_the_page(page, watch, "after preset 7")

    sampled_z = page_vector(watch, "z")
    box = page.locator("#latent-plot").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.7)
    watch.settle()
    assert page_vector(watch, "z") != sampled_z  # z follows the pointer
    assert_graph_shows_the_page(page, watch, "hovering the latent plot")
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.2)
    watch.settle()
    assert_graph_shows_the_page(page, watch, "hovering elsewhere on the latent plot")
    page.mouse.move(0, 0)
    watch.settle()

    page.click("#details-toggle")
    assert page.get_attribute("#details-toggle", "aria-expanded") == "false"
    assert page.is_hidden("#details")
    page.click("[data-preset='2']")  # and after closing, too
    watch.settle()
    assert page.get_attribute("[data-preset='2']", "aria-pressed") == "true"
    assert watch.errors == []


def test_code_is_the_training_code_and_lights_the_graph_both_ways(watch, server_url):
    page = watch.open_state(server_url, panels={"details"})
    assert page.is_visible("#details")
    wait_built(page, watch)

    # Byte-identical to training/vae.py: every shown line is that line of the real file, in order, and together
    # they are exactly build_encoder and Sampling (maths typeset only in the comments, read back as its TeX).
    source = VAE_PY.read_text(encoding="utf-8")
    file_lines = [line.rstrip("\r\n") for line in io.StringIO(source, newline="").readlines()]
    snippets = code_panel.extract(source)
    expected = [
        (snippet.first_line + k, line.rstrip("\r\n"))
        for snippet in snippets
        for k, line in enumerate(io.StringIO(snippet.text, newline="").readlines())
    ]
    lines = page.evaluate(LINES_JS)
    shown = [(int(line["number"]), line["text"]) for line in lines]
    assert shown == expected
    assert all(file_lines[number - 1] == text for number, text in shown)
    assert [line["source"] for line in lines] == [text for _, text in expected]
    assert "\n".join(text for _, text in shown[: len(snippets[0].text.splitlines())]) + "\n" == snippets[0].text
    starts = [k for k, line in enumerate(lines) if line["gapBefore"]]
    assert starts == [len(io.StringIO(snippets[0].text, newline="").readlines())]  # a gap between the two snippets
    assert page.locator("#code-lines .katex").count() >= 5  # the comments' maths is typeset, not left as $…$

    parts_of = [set(line["parts"].split()) for line in lines]
    all_parts = page.evaluate(PARTS_JS)
    assert all_parts == list(graph.PARTS)
    linked_lines = [k for k, parts in enumerate(parts_of) if parts]
    assert len(linked_lines) >= 10
    assert set().union(*parts_of) == set(all_parts) - {"decoder"}  # every part but the decoder has its code

    # Pointer on each code line: exactly its parts light up in the graph, and the rest dims.
    code_lines = page.locator("#code-lines .code-line")
    for k in range(len(lines)):
        code_lines.nth(k).hover()
        lit = page.evaluate(LIT_JS)
        assert set(lit["parts"]) == parts_of[k], (k, lines[k]["text"], lit)
        assert lit["linked"] == bool(parts_of[k]), (k, lit)
        if parts_of[k]:  # the line itself, and every line that computes the same parts, lights too
            assert k in lit["lines"]

    # Pointer on each graph part: exactly the code lines that compute it light up.
    page.locator("#graph").scroll_into_view_if_needed()
    for part in all_parts:
        point = page.evaluate(PART_POINT_JS, part)
        assert point is not None, f"no visible point of the graph's {part} part"
        page.mouse.move(*point)
        lit = page.evaluate(LIT_JS)
        assert lit["parts"] == [part], (part, lit)
        assert lit["lines"] == [k for k, parts in enumerate(parts_of) if part in parts], (part, lit)
        assert lit["linked"], part
    page.mouse.move(0, 0)
    lit = page.evaluate(LIT_JS)
    assert lit["parts"] == [] and lit["lines"] == [] and not lit["linked"]

    # Keyboard: focus the first line, then Tab through every line and on through every graph part.
    page.focus("#code-lines .code-line")
    for k in range(len(lines)):
        if k:
            page.keyboard.press("Tab")
        lit = page.evaluate(LIT_JS)
        assert lit["focused"] == f"line:{k}"
        assert set(lit["parts"]) == parts_of[k], (k, lines[k]["text"], lit)
        assert lit["linked"] == bool(parts_of[k]), (k, lit)
    for part in all_parts:
        page.keyboard.press("Tab")
        lit = page.evaluate(LIT_JS)
        assert lit["focused"] == f"part:{part}"
        assert lit["parts"] == [part], (part, lit)
        assert lit["lines"] == [k for k, parts in enumerate(parts_of) if part in parts], (part, lit)
    page.keyboard.press("Tab")  # focus leaves the graph: nothing stays lit
    lit = page.evaluate(LIT_JS)
    assert lit["parts"] == [] and lit["lines"] == [] and not lit["linked"], lit
    assert watch.errors == []


def test_no_curve_or_marker_leaves_its_plot_for_far_mu_z_and_epsilon(watch, server_url):
    page = watch.open_state(server_url, preset=None, strokes=FAR_STROKE, panels={"details"})
    wait_built(page, watch)
    mu = watch.vector("mu")
    assert max(abs(v) for v in mu) > 3, mu  # the premise: an encoding beyond the ±3 the plots start with

    def check(when):
        watch.settle()
        assert_graph_shows_the_page(page, watch, when)
        found = page.evaluate(OUTSIDE_JS)
        assert found["count"] == 13, when  # the exp curve and its 2 dots, and 2 × (curve, line) ε plots, z plots + μ
        assert found["outside"] == [], when

    check("μ₁ ≈ 3.7, sampled z")
    ranges = json.loads((REPO / "models" / "latent_map.json").read_text())["ranges"]
    plot = latent_plot.LatentPlot(latent_plot.square_domain(ranges["mu_min"], ranges["mu_max"]))
    box = page.locator("#latent-plot").bounding_box()

    def at(z):
        x, y = plot.to_pixels(z)
        return box["x"] + x / plot.width * box["width"], box["y"] + y / plot.height * box["height"]

    page.mouse.click(*at((-4.0, 4.0)))  # pin z at the top-left corner, far from μ: ε becomes huge
    page.mouse.move(0, 0)
    watch.settle()
    z, epsilon = watch.vector("z"), watch.vector("epsilon")
    assert z == pytest.approx([-4.0, 4.0], abs=0.1)
    assert max(abs(v) for v in epsilon) > 20, epsilon
    check("z pinned at (-4, 4)")

    page.mouse.move(*at((4.45, -4.45)))  # hovering the bottom-right corner: beyond μ on the far side
    watch.settle()
    assert min(watch.vector("z")) < -4.3 and max(watch.vector("z")) > 4.3
    check("z hovering at (4.45, -4.45)")
    page.mouse.move(0, 0)
    assert watch.errors == []
