"""The VQ-VAE's details graph: `VectorQuantizer.call` as matrices, for the input on the page.

z (7×7×D) → flatten (49×D) → squared distances (49×K) → argmin (49 indices) → one-hot (49×K) × codebook (K×D) =
q (49×D) → straight-through z + sg(q − z) → decoder, and the two losses with their values. Each matrix is drawn
at its true shape, one small cell per number, so the shapes of the code are the shapes on screen. The gradient's
path is dashed: it skips the quantiser and reaches the encoder unchanged.

Like `graph`, the skeleton is drawn once (it depends on the codebook only) and every live number is an
(element id, attribute) update. Each part is a `<g data-part>` whose name `RULES` gives to the code lines that
compute it. Pure: CPython runs it in the tests as Pyodide does in the page.
"""

import math
import re

from page.svg import NonFiniteError, arrow_marker, element, num, text
from vq.grid import cell_name, code_color
from vq.quantizer import CELLS, GRID, lookup, quantization_losses

SOURCE = "training/vqvae.py"
NAMES = ("VectorQuantizer",)
COMMITMENT_COST = 0.25  # training/vqvae.py's (γ on the page; importing it needs TensorFlow); tests check they agree

PARTS = (
    "encoder",
    "flatten",
    "codebook",
    "distances",
    "argmin",
    "lookup",
    "straight_through",
    "decoder",
    "codebook_loss",
    "commitment_loss",
)
LABELS = {
    "encoder": "Encoder: the image in, a 7×7 grid of vectors z out",
    "flatten": "Flatten: one row per cell, 49 rows of D numbers",
    "codebook": "The codebook: K codes of D numbers, learned",
    "distances": "Squared distances from every row to every code, 49 × K",
    "argmin": "Argmin: the nearest code of each row, no gradient",
    "lookup": "Lookup: the one-hot rows times the codebook give q",
    "straight_through": "Straight-through: the value of q, the gradient of z",
    "decoder": "Decoder: the quantised grid back to an image",
    "codebook_loss": "Codebook loss: moves the codes toward the encoder's vectors",
    "commitment_loss": "Commitment loss, γ times: keeps the encoder near its codes",
}

# What each line of `VectorQuantizer` computes; the first match wins (code_panel.line_parts).
RULES = [
    (re.compile(r"^def call\(self, encoded\)"), ("encoder",)),
    (re.compile(r"^vectors\s*=.*\breshape\("), ("flatten",)),
    (re.compile(r"^self\.codebook\s*="), ("codebook",)),
    (re.compile(r"^self\.commitment_cost\s*="), ("commitment_loss",)),
    (re.compile(r"^distances\s*="), ("distances",)),
    (re.compile(r"^indices\s*=.*\bargmin\("), ("argmin",)),
    (re.compile(r"^one_hot\s*=|\bmatmul\(one_hot\b"), ("lookup",)),
    (re.compile(r"^self\.add_loss\(self\.commitment_cost\b"), ("commitment_loss",)),
    (re.compile(r"^self\.add_loss\(.*stop_gradient\(encoded\)"), ("codebook_loss",)),
    (re.compile(r"^quantized\s*=\s*encoded\s*\+\s*ops\.stop_gradient\("), ("straight_through",)),
    (re.compile(r"^return quantized\b"), ("decoder",)),
]

# Diverging blues/reds for the numbers of z, the codes and q (0 is white), greys for the distances (near is dark).
VALUE_FILLS = ("#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582", "#d6604d", "#b2182b")
DISTANCE_FILLS = ("#252525", "#525252", "#737373", "#969696", "#bdbdbd", "#d9d9d9", "#f0f0f0", "#ffffff")

COL, ROW = 6, 4  # one number of a matrix: COL wide; one of the 49 rows: ROW high
TOP = 92  # the matrices' top edge
BOTTOM = TOP + CELLS * ROW
GRADIENT_Y = 40  # the dashed gradient path runs above everything
NODE_R = 14


class Layout:
    """Where each matrix goes, from the codebook's K and D: every matrix at its true shape."""

    def __init__(self, num_codes, code_dim):
        self.k, self.d = num_codes, code_dim
        self.encoder = (10, TOP, 104, BOTTOM - TOP)
        self.z = 144  # x of the flattened z, D columns
        # the gaps leave room for each matrix's caption (its variable name, 12 px) beside its neighbour's
        self.distances = self.z + self.d * COL + 40
        self.argmin = self.distances + self.k * COL + 48
        self.one_hot = self.argmin + 10 + 40
        self.times = (self.one_hot + self.k * COL + 24, TOP + CELLS * ROW / 2)
        self.q = self.times[0] + NODE_R + 24
        self.straight = (self.q + self.d * COL + 56, self.times[1])
        self.decoder = (self.straight[0] + NODE_R + 44, TOP + 40, 96, 80)
        self.codebook = (self.z, BOTTOM + 36)  # under z: both are D wide
        self.losses = (self.q + self.d * COL / 2 + 12, BOTTOM + 30)  # right of q's way down, stacked
        self.width = self.decoder[0] + self.decoder[2] + 10
        self.loss_box = (self.width - 10 - self.losses[0], 66)
        self.height = max(self.codebook[1] + self.k * COL + 44, self.losses[1] + 2 * (self.loss_box[1] + 12) + 30)


def _part(name, content):
    """A focusable group, linked to its code by `data-part` (as the VAE's graph: focus lights its code)."""
    return element(
        "g", content, class_=f"part part-{name}", data_part=name, tabindex=0, role="group", aria_label=LABELS[name]
    )


def _arrow(d, kind="arrow"):
    return element("path", d=d, class_=kind, marker_end="url(#vqg-arrow)")


def _title(x, y, title, caption):
    """A matrix's name over it, and under the name its caption: the variable training/vqvae.py holds it in and its
    shape; centred on x."""
    return element("text", title, x=x, y=y - 25, class_="box-title", text_anchor="middle") + _caption(x, y - 6, caption)


def _caption(x, y, caption):
    return element("text", caption, x=x, y=y, class_="box-note var", text_anchor="middle")


def _frame(x, y, columns, rows, cell_h=ROW):
    return element("rect", x=x, y=y, width=columns * COL, height=rows * cell_h, class_="plot-frame")


def _levels(prefix, fills):
    """One path per colour level: a frame redraw sets a few `d`s, not hundreds of cells."""
    return "".join(element("path", id=f"{prefix}-{level}", d="", fill=fill) for level, fill in enumerate(fills))


def _cells(cells):
    """Rectangles (x, y, width, height) as one path's data."""
    return "".join(f"M{num(x, 1)} {num(y, 1)}h{num(w, 1)}v{num(h, 1)}h{num(-w, 1)}z" for x, y, w, h in cells)


def value_level(value, scale):
    """The VALUE_FILLS level of one number: 0 is the middle, ±scale and beyond the ends."""
    if not math.isfinite(value):
        raise NonFiniteError(f"refusing to draw the non-finite value {value!r}")
    half = len(VALUE_FILLS) // 2
    return half + max(-half, min(half, round(value / scale * half)))


def distance_level(distance, largest):
    """The DISTANCE_FILLS level of one squared distance; by its square root, so near codes are told apart."""
    if not math.isfinite(distance):
        raise NonFiniteError(f"refusing to draw the non-finite distance {distance!r}")
    top = len(DISTANCE_FILLS) - 1
    return min(top, int(math.sqrt(max(distance, 0.0) / largest) * len(DISTANCE_FILLS))) if largest > 0 else 0


def _value_cells(rows, x, y, scale, cell_h=ROW):
    """A matrix of numbers at (x, y) as cells grouped by colour level (VALUE_FILLS)."""
    levels = [[] for _ in VALUE_FILLS]
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            levels[value_level(value, scale)].append((x + j * COL, y + i * cell_h, COL, cell_h))
    return levels


def _level_updates(prefix, levels):
    """Updates setting each level path (`_levels(prefix, …)`) to its cells."""
    return {(f"{prefix}-{level}", "d"): _cells(cells) for level, cells in enumerate(levels)}


def codebook_scale(codebook):
    """The colour scale of every matrix: the codebook's largest |number|, so q's colours are the codes' own."""
    return max(abs(v) for code in codebook for v in code) or 1.0


def graph_markup(codebook):
    """(viewBox, inner SVG): the skeleton for this codebook, with the codebook itself drawn in."""
    at = Layout(len(codebook), len(codebook[0]))
    k, d = at.k, at.d
    mid = at.times[1]
    defs = arrow_marker("vqg-arrow")
    ex, ey, ew, eh = at.encoder
    encoder = (
        element("rect", x=ex, y=ey, width=ew, height=eh, rx=6, class_="box")
        + element("text", "x → encoder", x=ex + ew / 2, y=ey + 40, class_="box-title", text_anchor="middle")
        + _caption(ex + ew / 2, ey + 60, f"encoded {GRID}×{GRID}×{d}")
    )
    z_mid = at.z + d * COL / 2
    flatten = (
        _arrow(f"M{ex + ew} {mid}H{at.z - 4}")
        + _title(z_mid, TOP, "z, flattened", f"vectors {CELLS}×{d}")
        + _frame(at.z, TOP, d, CELLS)
        + _levels("vqg-z", VALUE_FILLS)
    )
    cx, cy = at.codebook
    codes = _value_cells(codebook, cx, cy, codebook_scale(codebook), cell_h=COL)
    codebook_part = (
        element("text", "codebook e", x=z_mid, y=cy - 6, class_="box-title", text_anchor="middle")
        + _frame(cx, cy, d, k, cell_h=COL)
        + "".join(
            element("path", d=_cells(cells), fill=fill) for cells, fill in zip(codes, VALUE_FILLS, strict=True) if cells
        )
        + _caption(z_mid, cy + k * COL + 16, f"self.codebook {k}×{d}")
        + _arrow(f"M{cx + d * COL} {cy + 2 * COL}H{at.distances + k * COL / 2}V{BOTTOM + 4}")
        + _arrow(f"M{cx + d * COL} {cy + 2 * COL}H{at.times[0]}V{mid + NODE_R + 2}")
    )
    dist_mid = at.distances + k * COL / 2
    distances = (
        _arrow(f"M{at.z + d * COL} {mid}H{at.distances - 4}")
        + _title(dist_mid, TOP, "‖z − e‖²", f"distances {CELLS}×{k}")
        + _frame(at.distances, TOP, k, CELLS)
        + _levels("vqg-d", DISTANCE_FILLS)
        + element("path", id="vqg-d-argmin", d="", class_="argmin-mark")
    )
    argmin = (
        _arrow(f"M{at.distances + k * COL} {mid}H{at.argmin - 4}")
        + _title(at.argmin + 5, TOP, "argmin", f"indices {CELLS}")
        + element("rect", x=at.argmin, y=TOP, width=10, height=CELLS * ROW, class_="plot-frame")
        + element(
            "g",
            "".join(element("path", id=f"vqg-index-{c}", d="", fill=code_color(c)) for c in range(k)),
            id="vqg-indices",
            data_indices="",
        )
        + element("text", "no gradient", x=at.argmin + 5, y=BOTTOM + 14, class_="box-note", text_anchor="middle")
    )
    tx, ty = at.times
    q_mid = at.q + d * COL / 2
    lookup_part = (
        _arrow(f"M{at.argmin + 10} {mid}H{at.one_hot - 4}")
        + _title(at.one_hot + k * COL / 2, TOP, "one-hot", f"one_hot {CELLS}×{k}")
        + _frame(at.one_hot, TOP, k, CELLS)
        + "".join(element("path", id=f"vqg-one-hot-{c}", d="", fill=code_color(c)) for c in range(k))
        + _arrow(f"M{at.one_hot + k * COL} {mid}H{tx - NODE_R - 2}")
        + element("circle", cx=tx, cy=ty, r=NODE_R, class_="op")
        + element("text", "×", x=tx, y=ty + 6, class_="op-symbol", text_anchor="middle")
        + _arrow(f"M{tx + NODE_R} {mid}H{at.q - 4}")
        + _title(q_mid, TOP, "q = e_k", f"quantized {CELLS}×{d}")
        + _frame(at.q, TOP, d, CELLS)
        + _levels("vqg-q", VALUE_FILLS)
    )
    sx, sy = at.straight
    dx, dy, dw, dh = at.decoder
    straight = (
        _arrow(f"M{at.q + d * COL} {mid}H{sx - NODE_R - 2}")
        + element("circle", cx=sx, cy=sy, r=NODE_R, class_="op")
        + element("text", "+", x=sx, y=sy + 6, class_="op-symbol", text_anchor="middle")
        + element("text", "z + sg(q − z)", x=sx, y=sy - NODE_R - 22, class_="box-title", text_anchor="middle")
        + element("text", "value: q", x=sx, y=sy - NODE_R - 8, class_="box-note", text_anchor="middle")
        + element("text", "gradient: z's", x=sx, y=sy + NODE_R + 16, class_="box-note", text_anchor="middle")
        # Backward: the decoder's gradient skips the quantiser and lands on z as it is.
        + _arrow(f"M{dx + dw / 2} {dy}V{GRADIENT_Y}H{ex + ew / 2}V{ey - 2}", "arrow gradient")
        + element(
            "text",
            "backward: the gradient of q is copied to z, past the argmin (straight-through)",
            x=(ex + dx + dw) / 2,
            y=GRADIENT_Y - 8,
            class_="box-note",
            text_anchor="middle",
        )
    )
    decoder = (
        _arrow(f"M{sx + NODE_R} {sy}H{dx - 4}")
        + element("rect", x=dx, y=dy, width=dw, height=dh, rx=6, class_="box")
        + element("text", "decoder", x=dx + dw / 2, y=dy + 30, class_="box-title", text_anchor="middle")
        + element("text", "q → image", x=dx + dw / 2, y=dy + 48, class_="box-note", text_anchor="middle")
        + element("text", "", id="vqg-decoder-note", x=dx + dw / 2, y=dy + 66, class_="box-note", text_anchor="middle")
    )
    lx, ly = at.losses
    width, height = at.loss_box
    losses = {
        "codebook_loss": ("codebook loss", "mean ‖sg[z] − e‖² / D", f"over all {CELLS} cells"),
        "commitment_loss": ("commitment loss", "γ · mean ‖z − sg[e]‖² / D", f"γ = {COMMITMENT_COST}"),
    }
    loss_parts = []
    for n, (name, (title, formula, note)) in enumerate(losses.items()):
        y = ly + n * (height + 12)
        loss_parts.append(
            _part(
                name,
                _arrow(f"M{q_mid} {BOTTOM}V{y + height / 2}H{lx - 2}")
                + element("rect", x=lx, y=y, width=width, height=height, rx=6, class_="box")
                + element("text", title, x=lx + 10, y=y + 20, class_="box-title")
                + element("text", text(formula), x=lx + 10, y=y + 40, class_="box-note")
                + element("text", note, x=lx + 10, y=y + 57, class_="box-note")
                + element(
                    "text",
                    "0.0000",
                    id=f"vqg-{name.replace('_', '-')}",
                    x=lx + width - 10,
                    y=y + 20,
                    class_="value loss-value",
                    text_anchor="end",
                    data_value="0.0",
                ),
            )
        )
    focus = element(
        "rect", id="vqg-focus", x=at.z - 2, y=TOP, width=at.q + d * COL - at.z + 4, height=ROW, class_="focus-row"
    )
    focus_text = element("text", "", id="vqg-focus-text", x=ex, y=at.height - 10, class_="box-note")
    parts = [
        _part("encoder", encoder),
        _part("flatten", flatten),
        _part("codebook", codebook_part),
        _part("distances", distances),
        _part("argmin", argmin),
        _part("lookup", lookup_part),
        _part("straight_through", straight),
        _part("decoder", decoder),
        *loss_parts,
    ]
    return f"0 0 {at.width} {at.height}", defs + "".join(parts) + focus + focus_text


ROW_PARTS = ("flatten", "distances", "argmin", "lookup")  # the parts drawn as 49 rows, one per cell
ROW_KEYS = {"ArrowUp": -1, "ArrowDown": 1, "PageUp": -GRID, "PageDown": GRID}


def row_at(x, y, num_codes, code_dim):
    """The cell whose row of the matrices (z flattened to q) is at (x, y), in the graph's units; None off them."""
    at = Layout(num_codes, code_dim)
    if at.z <= x <= at.q + code_dim * COL and TOP <= y < BOTTOM:
        return int((y - TOP) // ROW)
    return None


def row_key(cell, key, part):
    """The cell a key moves the outlined row to while a matrix of 49 rows (ROW_PARTS) has the focus: ↑ ↓ a row,
    Page Up/Down a row of the 7×7 grid, Home/End the first and last; None for any other key or part."""
    if part not in ROW_PARTS:
        return None
    if key in ("Home", "End"):
        return 0 if key == "Home" else CELLS - 1
    step = ROW_KEYS.get(key)
    return None if step is None else min(CELLS - 1, max(0, cell + step))


def graph_updates(vectors, codebook, distances, indices, shown, focus):
    """{(element id, attribute or "text"): value} for one input.

    `vectors` are the encoder's 49 vectors z, `distances` and `indices` what `quantizer.quantize` made of them,
    `shown` the grid the decoder sees (the learner may have painted codes), `focus` the outlined row.
    """
    at = Layout(len(codebook), len(codebook[0]))
    scale = codebook_scale(codebook)
    quantized = lookup(indices, codebook)
    updates = {}
    updates.update(_level_updates("vqg-z", _value_cells(vectors, at.z, TOP, scale)))
    updates.update(_level_updates("vqg-q", _value_cells(quantized, at.q, TOP, scale)))

    largest = max(max(row) for row in distances)
    levels = [[] for _ in DISTANCE_FILLS]
    marks, index_cells, one_hot = [], [[] for _ in codebook], [[] for _ in codebook]
    for i, (row, k) in enumerate(zip(distances, indices, strict=True)):
        y = TOP + i * ROW
        for j, value in enumerate(row):
            levels[distance_level(value, largest)].append((at.distances + j * COL, y, COL, ROW))
        marks.append((at.distances + k * COL + 1.5, y + 1, COL - 3, ROW - 2))
        index_cells[k].append((at.argmin, y, 10, ROW))
        one_hot[k].append((at.one_hot + k * COL, y, COL, ROW))
    updates.update(_level_updates("vqg-d", levels))
    updates[("vqg-d-argmin", "d")] = _cells(marks)
    for code in range(len(codebook)):
        updates[(f"vqg-index-{code}", "d")] = _cells(index_cells[code])
        updates[(f"vqg-one-hot-{code}", "d")] = _cells(one_hot[code])
    updates[("vqg-indices", "data-indices")] = ",".join(map(str, indices))

    codebook_loss, commitment_loss = quantization_losses(vectors, quantized, COMMITMENT_COST)
    for name, value in (("codebook-loss", codebook_loss), ("commitment-loss", commitment_loss)):
        updates[(f"vqg-{name}", "text")] = num(value, 4) if value >= 1e-4 else f"{value:.2e}"
        updates[(f"vqg-{name}", "data-value")] = repr(float(value))

    painted = sum(a != b for a, b in zip(indices, shown, strict=True))
    updates[("vqg-decoder-note", "text")] = f"cells painted: {painted}" if painted else "nearest codes"
    updates[("vqg-focus", "y")] = num(TOP + focus * ROW, 1)
    updates[("vqg-focus", "data-cell")] = str(focus)
    k = indices[focus]
    updates[("vqg-focus-text", "text")] = (
        f"Outlined row {focus + 1} of {CELLS} is the grid's {cell_name(focus)}: its nearest code is {k}, "
        f"at squared distance {num(distances[focus][k], 3)}."
    )
    return updates


def losses_words(vectors, codebook, indices, shown):
    """The caption under the losses: what they are measured against, and what painting changes."""
    codebook_loss, _ = quantization_losses(vectors, lookup(indices, codebook), COMMITMENT_COST)
    dim = len(codebook[0])
    words = (
        "The two losses are the layer's own for this input: the encoder's z against its nearest codes, as "
        f"training computes them. Both average over every one of the {CELLS}·{dim} numbers, so each is a cell's "
        f"squared distance to its code divided by D = {dim}: here {num(dim * codebook_loss, 3)} / {dim} = "
        f"{num(codebook_loss, 4)}. The codebook loss moves only the codes, the commitment loss (weighted by "
        f"γ = {COMMITMENT_COST}) only the encoder."
    )
    painted = sum(a != b for a, b in zip(indices, shown, strict=True))
    if painted:
        mean, _ = quantization_losses(vectors, lookup(shown, codebook), COMMITMENT_COST)
        words += (
            f" Your painted grid ({painted} of {CELLS} cells) changes what the decoder sees, not z or the layer: "
            f"measured against the painted codes, the same mean would be {num(mean, 4)} instead of "
            f"{num(codebook_loss, 4)}."
        )
    return words
