"""The computational graph: well-formed SVG, one linkable group per part, live numbers that match the inputs, and
no marker or curve ever outside its small plot, whatever μ, log σ² and ε are."""

import math
import xml.etree.ElementTree as ET

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from page.svg import NonFiniteError, num
from vae import graph
from vae.distribution import sigma_from_log_var

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup=None):
    view_box, inner = markup or graph.graph_markup()
    return ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{view_box}">{inner}</svg>')


def consistent(mu, log_var, epsilon):
    """The five vectors as the page computes them: σ from log σ², z = μ + σ·ε."""
    sigma = sigma_from_log_var(log_var)
    return mu, log_var, sigma, epsilon, [m + s * e for m, s, e in zip(mu, sigma, epsilon, strict=True)]


def applied(values):
    """The skeleton with the updates written in, the way the page's adapter does it."""
    root = parse()
    by_id = {node.get("id"): node for node in root.iter() if node.get("id")}
    for (element_id, name), value in graph.graph_updates(*values).items():
        if name == "text":
            by_id[element_id].text = value
        else:
            by_id[element_id].set(name, value)
    return root, by_id


EXAMPLE = consistent([0.8, -1.2], [-3.5, -1.0], [0.6, -1.4])


def test_markup_is_well_formed_svg_with_the_view_box():
    root = parse()
    assert root.get("viewBox") == "0 0 900 420"
    ids = [node.get("id") for node in root.iter() if node.get("id")]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("g-") for i in ids)


def test_one_focusable_group_per_part():
    groups = [node for node in parse().iter(f"{SVG}g") if node.get("data-part")]
    assert [g.get("data-part") for g in groups] == list(graph.PARTS)
    for g in groups:
        name = g.get("data-part")
        assert g.get("class").split() == ["part", f"part-{name}"]
        assert g.get("tabindex") == "0"
        assert g.get("role") == "group"  # no action on Enter: a labelled, focusable part of a figure
        assert g.get("aria-label")


def test_parts_carry_their_semantic_colour_class():
    root = parse()
    for part, css in {"mu": "mu", "log_var": "log-var", "sigma": "sigma", "epsilon": "epsilon", "z": "z"}.items():
        group = root.find(f".//{SVG}g[@data-part='{part}']")
        assert any(css in (node.get("class") or "").split() for node in group.iter())


def test_every_updated_id_exists_in_the_markup():
    ids = {node.get("id") for node in parse().iter()}
    updates = graph.graph_updates(*EXAMPLE)
    assert {element_id for element_id, _ in updates} <= ids
    for name in ("mu", "log_var", "sigma", "epsilon", "z"):
        for i in range(2):
            assert (f"g-{name}-{i}", "text") in updates
            assert (f"g-{name}-{i}", "data-value") in updates


def test_number_slots_show_the_inputs():
    _, by_id = applied(EXAMPLE)
    for name, vector in zip(("mu", "log_var", "sigma", "epsilon", "z"), EXAMPLE, strict=True):
        for i, value in enumerate(vector):
            slot = by_id[f"g-{name}-{i}"]
            assert slot.text == f"{value:.3f}"
            assert float(slot.get("data-value")) == value


def test_sigma_slot_is_the_log_var_trick():
    _, by_id = applied(EXAMPLE)
    for i, log_var in enumerate(EXAMPLE[1]):
        sigma = float(by_id[f"g-sigma-{i}"].get("data-value"))
        assert sigma == pytest.approx(math.exp(0.5 * log_var), rel=1e-12)
        assert by_id[f"g-sigma-{i}"].text == f"{math.exp(0.5 * log_var):.3f}"


def test_negative_zero_is_shown_as_zero():
    _, by_id = applied(consistent([-0.0001, 0.0], [0.0, 0.0], [0.0, 0.0]))
    assert by_id["g-mu-0"].text == "0.000"


@pytest.mark.parametrize(
    ("value", "digits", "shown"),
    [(180.0, 0, "180"), (20.4, 0, "20"), (1.5, 2, "1.5"), (2.0, 3, "2"), (-0.001, 2, "0"), (100.0, 1, "100")],
)
def test_num_drops_only_decimal_zeros(value, digits, shown):
    """ "magnified ×20" must not read ×2: only zeros after the decimal point are dropped."""
    assert num(value, digits) == shown


def coordinates(node):
    """Every (x, y) a dynamic marker or curve puts on screen."""
    if node.tag == f"{SVG}polyline":
        return [tuple(map(float, pair.split(","))) for pair in node.get("points").split()]
    if node.tag == f"{SVG}line":
        return [(float(node.get("x1")), float(node.get("y1"))), (float(node.get("x2")), float(node.get("y2")))]
    return [(float(node.get("cx")), float(node.get("cy")))]


def assert_inside_plots(root, by_id):
    drawn = [node for node in root.iter() if node.get("data-plot")]
    assert len(drawn) == 1 + 2 + 2 * (2 + 2) + 2  # exp curve, its dots, ε and z curves and lines, μ ticks
    for node in drawn:
        frame = by_id[node.get("data-plot")]
        x, y, width, height = (float(frame.get(k)) for k in ("x", "y", "width", "height"))
        points = coordinates(node)
        assert points
        for px, py in points:
            assert x <= px <= x + width, (node.get("id"), px)
            assert y <= py <= y + height, (node.get("id"), py)


def assert_domains_hold_everything(by_id):
    """Not saved by the clamp: each dashed line sits clear of its plot's edges, and each bell curve is whole, its
    peak at the top and both tails down at the bottom."""
    for name in ("epsilon", "z"):
        for i in range(2):
            frame = by_id[f"g-{name}-plot-{i}"]
            left, width = float(frame.get("x")), float(frame.get("width"))
            top, height = float(frame.get("y")), float(frame.get("height"))
            line_x = float(by_id[f"g-{name}-line-{i}"].get("x1"))
            assert left + graph.INSET + 1 <= line_x <= left + width - graph.INSET - 1
            curve = coordinates(by_id[f"g-{name}-curve-{i}"])
            assert min(py for _, py in curve) == pytest.approx(top + graph.INSET, abs=0.5)
            bottom = top + height - graph.INSET
            assert curve[0][1] == pytest.approx(bottom, abs=0.5)
            assert curve[-1][1] == pytest.approx(bottom, abs=0.5)


pairs = st.lists
wide_mu = pairs(st.floats(-50, 50), min_size=2, max_size=2)
wide_log_var = pairs(st.floats(-20, 10), min_size=2, max_size=2)
wide_epsilon = pairs(st.floats(-6, 6), min_size=2, max_size=2)


@settings(max_examples=60, deadline=None, database=None)
@given(wide_mu, wide_log_var, wide_epsilon)
def test_no_marker_leaves_its_plot(mu, log_var, epsilon):
    root, by_id = applied(consistent(mu, log_var, epsilon))
    assert_inside_plots(root, by_id)
    assert_domains_hold_everything(by_id)


@pytest.mark.parametrize(
    ("mu", "log_var", "epsilon"),
    [
        ([0.0, 0.0], [0.0, 0.0], [0.0, 0.0]),
        ([50.0, -50.0], [-20.0, -20.0], [6.0, -6.0]),  # far out and needle-thin
        ([0.0, 3.0], [10.0, 10.0], [-6.0, 6.0]),  # very wide
        ([4.0, -4.0], [-1400.0, -1400.0], [0.0, 1.0]),  # σ underflows to 0: a spike, not a division by zero
        ([1e6, -1e6], [600.0, -600.0], [1e3, -1e3]),  # σ ≈ 1e130, still drawn
    ],
)
def test_extreme_inputs_stay_inside(mu, log_var, epsilon):
    root, by_id = applied(consistent(mu, log_var, epsilon))
    assert_inside_plots(root, by_id)


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None, database=None)
@given(*(pairs(finite, min_size=2, max_size=2) for _ in range(5)))
@example([0.0, 0.0], [0.0, 1.3e23], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0])  # once overflowed math.exp
@example([0.0, 0.0], [0.0, 0.0], [1e308, 1e308], [0.0, 0.0], [0.0, 0.0])  # σ so wide its range overflows
def test_any_finite_inputs_draw_inside_or_refuse(mu, log_var, sigma, epsilon, z):
    """Even inconsistent or astronomically large numbers: drawn inside the plots, or refused as non-finite."""
    try:
        root, by_id = applied((mu, log_var, sigma, epsilon, z))
    except NonFiniteError:
        return
    assert_inside_plots(root, by_id)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("slot", range(5))
def test_non_finite_input_is_refused(bad, slot):
    values = [list(v) for v in EXAMPLE]
    values[slot][1] = bad
    with pytest.raises(NonFiniteError):
        graph.graph_updates(*values)


def test_wrong_dimension_is_refused():
    with pytest.raises(ValueError, match="graph draws 2"):
        graph.graph_updates([0.0], [0.0], [1.0], [0.0], [0.0])


def test_annotations_sit_next_to_their_parts():
    notes = [node for node in parse().iter(f"{SVG}g") if node.get("class") == "annotation"]
    assert [int(n.get("data-step")) for n in notes] == [1, 2, 3, 4]
    for note, (step, title, parts, body) in zip(notes, graph.ANNOTATIONS, strict=True):
        assert note.get("data-parts").split() == list(parts)
        assert set(parts) <= set(graph.PARTS)
        assert note.find(f"{SVG}text").text == str(step)
        assert note.find(f"{SVG}title").text == title
        assert body


def test_story_list_colours_the_symbols():
    story = ET.fromstring(graph.annotations_markup())
    assert story.tag == "ol" and story.get("class") == "story"
    items = story.findall("li")
    assert [(int(li.get("data-step")), tuple(li.get("data-parts").split())) for li in items] == [
        (step, parts) for step, _, parts, _ in graph.ANNOTATIONS
    ]
    spans = {(span.get("class"), span.text) for span in story.iter("span")}
    assert {("mu", "μ"), ("log-var", "log σ²"), ("sigma", "σ"), ("epsilon", "ε"), ("z", "z")} <= spans
    assert ("sigma", "σ²") not in spans  # log σ² stays one symbol, green
