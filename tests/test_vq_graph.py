"""The VQ-VAE's details graph on real inputs: the shipped encoder (onnxruntime) on real MNIST test digits, the
shipped codebook, the page's quantiser. Its matrices hold exactly the numbers of the layer (every number drawn
once, in its level's colour), its argmin and one-hot are the indices, its losses the layer's; and its parts are
the parts of the real `VectorQuantizer` code. (Against Keras itself: tests/test_vq_tf.py.)"""

import ast
import re
import xml.etree.ElementTree as ET

import pytest

from page import code_panel
from page.svg import NonFiniteError, num
from training.evaluate import session
from training.mnist import REPO
from training.vq_evaluate import encode
from vq import graph as vq_graph
from vq import quantizer

SVG = "{http://www.w3.org/2000/svg}"
VQ = REPO / "models" / "vq"
SOURCE = (REPO / vq_graph.SOURCE).read_text(encoding="utf-8")
CELL = re.compile(r"M([-\d.]+) ([-\d.]+)h([-\d.]+)v([-\d.]+)h[-\d.]+z")


@pytest.fixture(scope="module")
def codebook():
    return quantizer.parse_codebook((VQ / "codebook.json").read_text(), (VQ / "codebook.bin").read_bytes())


@pytest.fixture(scope="module")
def grids(test, codebook):
    """Five real test digits through the shipped encoder and the page's quantiser: (vectors, indices, distances)."""
    encoded = encode(session(VQ / "encoder.onnx"), test.images[:5])
    out = []
    for grid in encoded:
        vectors = grid.reshape(quantizer.CELLS, -1).tolist()
        indices, _, distances = quantizer.quantize(vectors, codebook)
        out.append((vectors, indices, distances))
    return out


def parse(codebook):
    view_box, inner = vq_graph.graph_markup(codebook)
    return ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{view_box}">{inner}</svg>')


def cells(path):
    """A path's rectangles as (x, y, width, height)."""
    return [tuple(map(float, m.groups())) for m in CELL.finditer(path)]


def test_markup_is_well_formed_with_one_focusable_group_per_part(codebook):
    root = parse(codebook)
    ids = [node.get("id") for node in root.iter() if node.get("id")]
    assert len(ids) == len(set(ids)) and all(i.startswith("vqg-") for i in ids)
    groups = [node for node in root.iter(f"{SVG}g") if node.get("data-part")]
    assert [g.get("data-part") for g in groups] == list(vq_graph.PARTS)
    for g in groups:
        assert g.get("tabindex") == "0" and g.get("role") == "group" and g.get("aria-label")
    x0, y0, width, height = map(float, root.get("viewBox").split())
    for node in root.iter():  # every rectangle inside the picture
        if node.tag == f"{SVG}rect":
            x, y, w, h = (float(node.get(a)) for a in ("x", "y", "width", "height"))
            assert x0 <= x and x + w <= x0 + width and y0 <= y and y + h <= y0 + height, node.get("id")


def test_the_graphs_parts_are_the_codes_parts(codebook):
    """Every part of the graph has its lines in `VectorQuantizer`, and every line of `call` computes one."""
    plan = code_panel.render_plan(code_panel.extract(SOURCE, vq_graph.NAMES, vq_graph.SOURCE), vq_graph.RULES)
    lit = {part for row in plan for part in row["parts"]}
    assert lit == set(vq_graph.PARTS)
    call = next(k for k, row in enumerate(plan) if row["text"].strip().startswith("def call("))
    assert all(row["parts"] for row in plan[call:] if row["text"].strip()), "a line of call() lights nothing"
    by_code = {row["text"].strip(): tuple(row["parts"]) for row in plan}
    assert by_code["indices = ops.argmin(distances, axis=1)"] == ("argmin",)
    assert by_code["quantized = encoded + ops.stop_gradient(quantized - encoded)"] == ("straight_through",)
    assert [by_code[c] for c in by_code if c.startswith("self.add_loss(")] == [("codebook_loss",), ("commitment_loss",)]


def test_beta_is_the_trainings():
    """The β shown and used is training/vqvae.py's (read from its source: importing it needs TensorFlow)."""
    (assign,) = [
        node
        for node in ast.parse(SOURCE).body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "COMMITMENT_COST"
    ]
    assert ast.literal_eval(assign.value) == vq_graph.COMMITMENT_COST


def test_every_updated_id_exists_and_the_matrices_hold_the_layers_numbers(codebook, grids):
    ids = {node.get("id") for node in parse(codebook).iter()}
    at = vq_graph.Layout(len(codebook), len(codebook[0]))
    scale = vq_graph.codebook_scale(codebook)
    for vectors, indices, distances in grids:
        updates = vq_graph.graph_updates(vectors, codebook, distances, indices, indices, focus=24)
        assert {element_id for element_id, _ in updates} <= ids
        quantized = quantizer.lookup(indices, codebook)
        for prefix, x0, matrix in (("vqg-z", at.z, vectors), ("vqg-q", at.q, quantized)):
            drawn = {}
            for level in range(len(vq_graph.VALUE_FILLS)):
                for x, y, _, _ in cells(updates[(f"{prefix}-{level}", "d")]):
                    drawn[(round((y - vq_graph.TOP) / vq_graph.ROW), round((x - x0) / vq_graph.COL))] = level
            assert len(drawn) == sum(len(row) for row in matrix)  # each number once
            for (i, j), level in drawn.items():
                assert level == vq_graph.value_level(matrix[i][j], scale), (prefix, i, j)
        # The argmin column and the one-hot rows are the indices; the ring on the distances is each row's minimum.
        assert updates[("vqg-indices", "data-indices")] == ",".join(map(str, indices))
        for k in range(len(codebook)):
            rows = [
                round((y - vq_graph.TOP) / vq_graph.ROW) for _, y, _, _ in cells(updates[(f"vqg-one-hot-{k}", "d")])
            ]
            assert rows == [i for i, chosen in enumerate(indices) if chosen == k]
            columns = {
                round((x - at.one_hot) / vq_graph.COL) for x, _, _, _ in cells(updates[(f"vqg-one-hot-{k}", "d")])
            }
            assert columns <= {k}
        rings = cells(updates[("vqg-d-argmin", "d")])
        assert [int((x - at.distances) // vq_graph.COL) for x, _, _, _ in rings] == [
            row.index(min(row)) for row in distances
        ]
        expected = quantizer.quantization_losses(vectors, quantized, vq_graph.COMMITMENT_COST)
        shown = [float(updates[(f"vqg-{n}", "data-value")]) for n in ("codebook-loss", "commitment-loss")]
        assert shown == list(expected)
        assert shown[1] == pytest.approx(0.25 * shown[0], rel=1e-12) and shown[0] > 0
        for n, value in zip(("codebook-loss", "commitment-loss"), shown, strict=True):
            assert float(updates[(f"vqg-{n}", "text")]) == pytest.approx(value, rel=1e-3, abs=5e-5)
        assert updates[("vqg-focus", "y")] == str(vq_graph.TOP + 24 * vq_graph.ROW)
        assert f"nearest code is {indices[24]}" in updates[("vqg-focus-text", "text")]


def test_painting_changes_what_the_decoder_sees_not_the_layers_losses(codebook, grids):
    vectors, indices, distances = grids[0]
    far = max(range(len(codebook)), key=lambda k: distances[24][k])
    shown = list(indices)
    shown[24] = far
    plain = vq_graph.graph_updates(vectors, codebook, distances, indices, indices, focus=24)
    painted = vq_graph.graph_updates(vectors, codebook, distances, indices, shown, focus=24)
    assert painted[("vqg-codebook-loss", "data-value")] == plain[("vqg-codebook-loss", "data-value")]
    assert painted[("vqg-decoder-note", "text")] == "cells painted: 1"
    assert "painted" not in vq_graph.losses_words(vectors, codebook, indices, indices)
    words = vq_graph.losses_words(vectors, codebook, indices, shown)
    mean, _ = quantizer.quantization_losses(vectors, quantizer.lookup(shown, codebook))
    nearest, _ = quantizer.quantization_losses(vectors, quantizer.lookup(indices, codebook))
    assert mean > nearest  # a farther code: the painted grid sits farther from z
    assert f"would be {num(mean, 4)} instead of {num(nearest, 4)}" in words and "(1 of 49 cells)" in words


def test_a_non_finite_vector_is_refused(codebook, grids):
    vectors, indices, distances = grids[0]
    broken = [list(v) for v in vectors]
    broken[3][0] = float("nan")
    with pytest.raises(NonFiniteError):
        vq_graph.graph_updates(broken, codebook, distances, indices, indices, focus=0)


def test_the_losses_words_say_the_loss_is_the_mean_squared_distance_over_d(codebook, grids):
    """Keras's mean runs over all 49·D numbers: the loss shown is the mean squared distance divided by D."""
    vectors, indices, distances = grids[0]
    words = vq_graph.losses_words(vectors, codebook, indices, indices)
    dim = len(codebook[0])
    mean_distance = sum(distances[i][k] for i, k in enumerate(indices)) / len(indices)
    loss, _ = quantizer.quantization_losses(vectors, quantizer.lookup(indices, codebook))
    assert loss == pytest.approx(mean_distance / dim, rel=1e-9)
    assert f"{num(dim * loss, 3)} / {dim} = {num(loss, 4)}" in words
    assert "moves only the codes" in words and "only the encoder" in words


def test_pointing_at_a_row_of_the_matrices_picks_its_cell(codebook):
    k, d = len(codebook), len(codebook[0])
    at = vq_graph.Layout(k, d)
    for x in (at.z + 1, at.distances + k * vq_graph.COL / 2, at.argmin + 5, at.one_hot + 3, at.q + d * vq_graph.COL):
        for cell in (0, 17, 48):
            y = vq_graph.TOP + cell * vq_graph.ROW + vq_graph.ROW / 2
            assert vq_graph.row_at(x, y, k, d) == cell
    assert vq_graph.row_at(at.z - 1, vq_graph.TOP + 2, k, d) is None  # left of z: the encoder's box
    assert vq_graph.row_at(at.z + 1, vq_graph.TOP - 1, k, d) is None  # above the rows: the titles
    assert vq_graph.row_at(at.z + 1, vq_graph.BOTTOM, k, d) is None  # under them: the codebook
    assert vq_graph.row_at(at.q + d * vq_graph.COL + 1, vq_graph.TOP + 2, k, d) is None


@pytest.mark.parametrize(
    ("cell", "key", "part", "to"),
    [
        (24, "ArrowUp", "flatten", 23),
        (24, "ArrowDown", "distances", 25),
        (0, "ArrowUp", "argmin", 0),
        (48, "ArrowDown", "lookup", 48),
        (24, "PageDown", "flatten", 31),
        (3, "PageUp", "flatten", 0),
        (24, "Home", "distances", 0),
        (24, "End", "distances", 48),
        (24, "ArrowDown", "codebook", None),  # 16 rows, not 49: no cell's row
        (24, "ArrowDown", "decoder", None),
        (24, "Enter", "flatten", None),
    ],
)
def test_keys_on_a_matrix_move_the_outlined_row(cell, key, part, to):
    assert vq_graph.row_key(cell, key, part) == to


def test_each_matrix_is_captioned_with_the_variable_the_training_code_holds_it_in(codebook):
    """The caption under each title names the variable of `VectorQuantizer.call` (or the layer's weight) and its
    shape, and that variable is assigned in training/vqvae.py's layer."""
    k, d = len(codebook), len(codebook[0])
    captions = {e.text for e in parse(codebook).iter(f"{SVG}text") if "var" in (e.get("class") or "").split()}
    expected = {
        "encoded": f"7×7×{d}",
        "vectors": f"49×{d}",
        "distances": f"49×{k}",
        "indices": "49",
        "one_hot": f"49×{k}",
        "quantized": f"49×{d}",
        "self.codebook": f"{k}×{d}",
    }
    assert captions == {f"{name} {shape}" for name, shape in expected.items()}
    (layer,) = code_panel.extract(SOURCE, vq_graph.NAMES, vq_graph.SOURCE)
    for name in expected:
        assert re.search(rf"(^|\s){re.escape(name)}\s*=|def call\(self, {name}\)", layer.text, re.M), name
