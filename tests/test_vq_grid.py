"""The VQ-VAE view's pure core (pysrc/vq_grid.py) under CPython, on the shipped models/vq/ files: the encoder run by
onnxruntime, the page's own quantiser, and the markup the page writes from them."""

import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from training.evaluate import session
from training.mnist import REPO
from vq import grid as vq_grid
from vq import quantizer

VQ = REPO / "models" / "vq"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def codebook():
    return quantizer.parse_codebook((VQ / "codebook.json").read_text(), (VQ / "codebook.bin").read_bytes())


@pytest.fixture(scope="module")
def encoded(codebook):
    """Preset 7 through the shipped encoder and the page's quantiser: (vectors, indices, distances)."""
    data = (REPO / "models" / "presets.bin").read_bytes()[7 * 784 : 8 * 784]
    image = np.frombuffer(data, np.uint8).reshape(1, 28, 28, 1).astype(np.float32) / 255.0
    (flat,) = session(VQ / "encoder.onnx").run(None, {"image": image})
    vectors = quantizer.grid_vectors(flat.reshape(-1).tolist(), len(codebook[0]))
    indices, _, distances = quantizer.quantize(vectors, codebook)
    return vectors, indices, distances


def svg(markup, box="0 0 10 10"):
    return ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{box}">{markup}</svg>')


def luminance(color):
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_every_code_has_its_own_colour_and_readable_ink(codebook):
    colors = [vq_grid.code_color(k) for k in range(len(codebook))]
    assert len(set(colors)) == len(codebook) == 16
    rgb = [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in colors]
    assert min(math.dist(a, b) for i, a in enumerate(rgb) for b in rgb[i + 1 :]) > 40  # no near-twins
    for k in range(16):
        lum, ink = luminance(vq_grid.code_color(k)), vq_grid.ink_on(k)
        ink_lum = 0.0 if ink == "#000" else 1.0
        contrast = (max(lum, ink_lum) + 0.05) / (min(lum, ink_lum) + 0.05)
        assert contrast >= 4.5, (k, ink, contrast)  # WCAG AA for the code numbers written on each colour
    assert vq_grid.code_color(16) == vq_grid.code_color(0)  # a larger codebook cycles


def test_painting_edits_cells_and_painting_the_encoders_choice_clears_them(encoded):
    _, indices, _ = encoded
    other = (indices[10] + 1) % 16
    edits = vq_grid.paint(None, indices, [10, 11], other)
    assert edits[10] == other and sum(e is not None for e in edits) == 2 - (indices[11] == other)
    shown = vq_grid.apply_edits(indices, edits)
    assert shown[10] == other and shown[:10] == indices[:10] and shown[12:] == indices[12:]
    # Painting the encoder's own codes back leaves nothing edited: the link carries nothing.
    back = vq_grid.paint(vq_grid.paint(edits, indices, [10], indices[10]), indices, [11], indices[11])
    assert back is None
    assert vq_grid.apply_edits(indices, None) == indices
    # Filling all 49 cells: the decoder sees that one code everywhere.
    filled = vq_grid.paint(None, indices, range(49), 5)
    assert vq_grid.apply_edits(indices, filled) == [5] * 49
    assert [e is None for e in filled] == [k == 5 for k in indices]


@pytest.mark.parametrize(
    ("cell", "key", "to"),
    [
        (24, "ArrowLeft", 23),
        (24, "ArrowRight", 25),
        (24, "ArrowUp", 17),
        (24, "ArrowDown", 31),
        (0, "ArrowLeft", 0),
        (0, "ArrowUp", 0),
        (6, "ArrowRight", 6),
        (48, "ArrowDown", 48),
        (45, "Home", 42),
        (43, "End", 48),
        (20, "x", 20),
    ],
)
def test_keys_move_the_focus_within_the_grid(cell, key, to):
    assert vq_grid.move(cell, key) == to


def test_the_encoder_grid_colours_each_cell_by_its_nearest_code(encoded, codebook):
    vectors, indices, distances = encoded
    assert indices == [min(range(16), key=row.__getitem__) for row in distances]
    scale = max(abs(v) for rows in (vectors, codebook) for row in rows for v in row)
    root = svg(vq_grid.vectors_markup(vectors, indices, scale), "0 0 280 280")
    groups = root.findall(f"{SVG}g")
    assert [int(g.get("data-cell")) for g in groups] == list(range(49))
    for cell, group in enumerate(groups):
        background = group.find(f"{SVG}rect")
        assert background.get("fill") == vq_grid.code_color(indices[cell])
        assert (float(background.get("x")), float(background.get("y"))) == (40 * (cell % 7), 40 * (cell // 7))
        path = group.find(f"{SVG}path")
        assert path.get("fill") == vq_grid.ink_on(indices[cell])
        bars = re.findall(r"M([-\d.]+) ([-\d.]+)v([-\d.]+)h([-\d.]+)v([-\d.]+)z", path.get("d"))
        assert len(bars) == 8
        for v, (_, y, up, _, down) in zip(vectors[cell], bars, strict=True):
            assert float(y) == 40 * (cell // 7) + 20  # every bar starts on the cell's midline
            h = max(-1.0, min(1.0, v / scale)) * 16
            assert -float(up) == float(down) == pytest.approx(h if abs(h) >= 0.5 else math.copysign(0.5, h), abs=0.051)
    assert len(set(indices)) > 2  # a real digit uses several codes, so the test sees several colours


def test_the_distances_mark_the_argmin_and_scale_the_bars(encoded):
    _, indices, distances = encoded
    cell = 24
    markup, box = vq_grid.distances_markup(distances[cell], indices[cell], painted=(indices[cell] + 3) % 16)
    root = svg(markup, box)
    assert box == "0 0 340 256"
    groups = root.findall(f"{SVG}g")
    assert len(groups) == 16
    argmin = [int(g.get("data-code")) for g in groups if "argmin" in g.get("class")]
    assert argmin == [indices[cell]] == [distances[cell].index(min(distances[cell]))]
    painted = [int(g.get("data-code")) for g in groups if "painted" in g.get("class")]
    assert painted == [(indices[cell] + 3) % 16]
    widths = [float(g.find(f"{SVG}rect").get("width")) for g in groups]
    top = max(distances[cell])
    for d, w in zip(distances[cell], widths, strict=True):
        assert w == pytest.approx(max(176 * d / top, 0.5), abs=0.01)
    assert "nearest" in "".join(groups[indices[cell]].itertext())


def test_the_codebook_table_shows_every_number_and_the_paint_code(codebook):
    root = ET.fromstring(f"<table>{vq_grid.codebook_markup(codebook, 5)}</table>")
    rows = root.find("tbody").findall("tr")
    assert len(rows) == 16
    for k, row in enumerate(rows):
        button = row.find("th/button")
        assert button.get("data-vq-code") == str(k) and button.text == str(k)
        assert button.get("aria-pressed") == ("true" if k == 5 else "false")
        assert vq_grid.code_color(k) in button.get("style")
        cells = row.findall("td")
        assert [c.text for c in cells[:8]] == [f"{v:.2f}" for v in codebook[k]]
        assert cells[8].get("id") == f"vq-count-{k}"


def test_the_paintable_grid_has_one_tab_stop_and_says_what_each_cell_holds():
    root = ET.fromstring(f"<div>{vq_grid.grid_cells_markup()}</div>")
    cells = root.findall("div/div")
    assert [c.get("id") for c in cells] == [f"vq-cell-{i}" for i in range(49)]
    assert [c.get("tabindex") for c in cells].count("0") == 1
    assert vq_grid.cell_view(9, 4, 4) == (
        "4",
        f"background:{vq_grid.code_color(4)};color:{vq_grid.ink_on(4)}",
        "row 2, column 3: code 4",
    )
    text, _, label = vq_grid.cell_view(48, 2, 7)
    assert text == "2•" and label == "row 7, column 7: code 2, painted (the encoder chose 7)"


def test_usage_words_count_the_codes(encoded):
    _, indices, _ = encoded
    used = quantizer.codes_used(indices)
    assert vq_grid.usage_words(indices, indices, 16) == f"This input uses {used} of the 16 codes."
    shown = vq_grid.apply_edits(indices, vq_grid.paint(None, indices, range(49), 5))
    changed = sum(k != 5 for k in indices)
    assert vq_grid.usage_words(indices, shown, 16).endswith(f"changes {changed} of the 49 cells and uses 1.")


def test_a_wrong_model_output_is_named():
    name = "models/vq/decoder.onnx"
    assert vq_grid.check_image([0.5] * 784, name) == [0.5] * 784
    with pytest.raises(quantizer.CodebookError, match=re.escape(f"{name} gave 392 numbers, expected one 28×28 image")):
        vq_grid.check_image([0.5] * 392, name)
    with pytest.raises(quantizer.CodebookError, match="non-finite"):
        vq_grid.check_image([float("nan")] + [0.5] * 783, name)
    with pytest.raises(quantizer.CodebookError, match=re.escape("models/vq/encoder.onnx gave non-finite vectors")):
        vq_grid.check_finite([1.0, float("inf")], "models/vq/encoder.onnx", "vectors")


def test_a_sampled_grid_becomes_edits_that_keep_only_real_changes():
    indices = [cell % 16 for cell in range(49)]
    grid = list(indices)
    grid[0], grid[48] = 5, indices[48]  # cell 48 sampled as the encoder chose: no edit
    grid[47] = 9
    edits = vq_grid.edits_for(indices, grid)
    assert [cell for cell, k in enumerate(edits) if k is not None] == [0, 47]
    assert vq_grid.apply_edits(indices, edits) == grid
    assert vq_grid.edits_for(indices, list(indices)) is None


def test_one_focused_cell_lights_both_grids_and_its_codes_rows_and_bars(encoded, codebook):
    """Each id lit_ids names is an element the page writes (the two grids, the codebook table, the distances)."""
    vectors, indices, distances = encoded
    written = " ".join(
        (
            vq_grid.vectors_markup(vectors, indices, 1.0),
            vq_grid.grid_cells_markup(),
            vq_grid.codebook_markup(codebook, 0),
            vq_grid.distances_markup(distances[0], indices[0])[0],
        )
    )
    ids = set(re.findall(r'\bid="([^"]+)"', written)) | {"vq-flow"}
    painted = next(k for k in range(len(codebook)) if k != indices[30])
    shown = vq_grid.apply_edits(indices, [painted if c == 30 else None for c in range(49)])
    for cell in (0, 24, 30, 48):
        lit = vq_grid.lit_ids(cell, None, indices, shown)
        codes = {indices[cell], shown[cell]}
        assert lit == {
            f"vq-vector-{cell}": {"lit"},
            f"vq-cell-{cell}": {"lit"},
            **{f"vq-code-{k}": {"lit"} for k in codes},
            **{f"vq-dist-{k}": {"lit"} for k in codes},
        }
        assert len(codes) == (2 if cell == 30 else 1)  # a painted cell: the encoder's code and the painted one
        assert set(lit) <= ids
    assert vq_grid.lit_ids(None, None, indices, shown) == {}


def test_a_pointed_code_marks_the_cells_that_use_it_in_each_grid(encoded, codebook):
    """The encoder's grid by the encoder's codes, the quantised grid by the codes the decoder sees."""
    _, indices, _ = encoded
    code = max(set(indices), key=indices.count)
    elsewhere = next(k for k in range(len(codebook)) if k != code)
    first = indices.index(code)
    shown = vq_grid.apply_edits(indices, [elsewhere if c == first else None for c in range(49)])
    lit = vq_grid.lit_ids(None, code, indices, shown)
    marked = {key for key, names in lit.items() if "marked" in names}
    assert marked == {f"vq-vector-{c}" for c, k in enumerate(indices) if k == code} | {
        f"vq-cell-{c}" for c, k in enumerate(shown) if k == code
    }
    assert f"vq-vector-{first}" in marked and f"vq-cell-{first}" not in marked  # painted over in the quantised grid
    assert lit["vq-flow"] == {"pointing"} and lit[f"vq-code-{code}"] == lit[f"vq-dist-{code}"] == {"lit"}
    both = vq_grid.lit_ids(first, code, indices, shown)  # a focused cell that uses the code: lit and marked
    assert both[f"vq-vector-{first}"] == {"lit", "marked"}


def test_the_page_touches_only_the_classes_that_change(encoded):
    _, indices, _ = encoded
    before = vq_grid.lit_ids(10, None, indices, indices)
    after = vq_grid.lit_ids(11, None, indices, indices)
    changes = vq_grid.light_changes(before, after)
    assert ("vq-vector-10", "lit", False) in changes and ("vq-cell-11", "lit", True) in changes
    if indices[10] == indices[11]:  # the same code: its row and bar stay lit, untouched
        assert not any(key.startswith(("vq-code-", "vq-dist-")) for key, _, _ in changes)
    assert vq_grid.light_changes(after, after) == []
    cleared = vq_grid.light_changes(after, {})
    assert {(key, name) for key, name, on in cleared if not on} == {(k, n) for k, ns in after.items() for n in ns}


@pytest.mark.parametrize(
    ("attributes", "code"),
    [(("3", None), 3), ((None, "12"), 12), (("0", "7"), 0), ((None, None), None), ((None, ""), None), (("x",), None)],
)
def test_the_pointed_code_is_read_from_a_swatch_or_a_row(attributes, code):
    assert vq_grid.pointed_code(*attributes) == code
