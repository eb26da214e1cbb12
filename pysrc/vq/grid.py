"""The VQ-VAE view's pure core: what the 7×7 code grid, the codebook and one cell's distances look like, and how
the learner's paint strokes edit the grid. No page access, so it runs under CPython in the tests as in the page.

The encoder's grid is what `quantizer.quantize` chose; the learner's edits are a list of 49 codes, None where the
encoder's choice stands. The decoder always sees `apply_edits(indices, edits)`, looked up in the codebook.
"""

import functools
import math
from html import escape

from page.svg import element, num
from vq.quantizer import CELLS, GRID, CodebookError

# Kelly's colours of maximum contrast, minus white, black and the near-twins: 16 codes told apart at a glance.
CODE_COLORS = (
    "#0067a5",  # blue
    "#f38400",  # orange
    "#008856",  # green
    "#be0032",  # red
    "#875692",  # purple
    "#882d17",  # brown
    "#e68fac",  # pink
    "#848482",  # grey
    "#8db600",  # yellow-green
    "#a1caf1",  # light blue
    "#f3c300",  # yellow
    "#604e97",  # violet
    "#f99379",  # salmon
    "#2b3d26",  # olive
    "#c2b280",  # buff
    "#b3446c",  # purplish red
)
KEYS = {"ArrowLeft": (0, -1), "ArrowRight": (0, 1), "ArrowUp": (-1, 0), "ArrowDown": (1, 0)}
CELL = 40  # px of one cell in the encoder grid's SVG
BAR_W, BAR_GAP = 3.5, 0.5  # each of a vector's numbers is a bar in its cell


def code_color(code):
    """The code's colour; a codebook larger than 16 cycles through them again."""
    return CODE_COLORS[code % len(CODE_COLORS)]


def _ink(color):
    """Black or white, whichever reads better on `color` (WCAG relative luminance)."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lum = sum(
        w * (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
        for w, c in zip((0.2126, 0.7152, 0.0722), channels, strict=True)
    )
    return "#000" if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else "#fff"


INKS = tuple(_ink(color) for color in CODE_COLORS)


def ink_on(code):
    """The ink for text and bars drawn on the code's colour."""
    return INKS[code % len(INKS)]


def cell_name(cell):
    return f"row {cell // GRID + 1}, column {cell % GRID + 1}"


# ---- the learner's edits ----


def apply_edits(indices, edits):
    """The grid the decoder sees: the learner's code where one was painted, else the encoder's."""
    if edits is None:
        return list(indices)
    return [k if e is None else e for k, e in zip(indices, edits, strict=True)]


def paint(edits, indices, cells, code):
    """The edits after painting `code` onto `cells` (all 49: what that code alone makes the decoder draw).
    Painting the encoder's own choice clears the edit, so the link only carries real changes; None when nothing
    is edited any more."""
    grid = apply_edits(indices, edits)
    for cell in cells:
        grid[cell] = code
    return edits_for(indices, grid)


def edits_for(indices, grid):
    """The edits that make the decoder see `grid` (a sampled one, say): None where it keeps the encoder's code,
    and None for all when it keeps every one."""
    out = [None if k == code else code for k, code in zip(indices, grid, strict=True)]
    return out if any(e is not None for e in out) else None


def move(cell, key):
    """The cell an arrow key (or Home/End, along the row) moves the focus to; the grid's edges hold it."""
    row, col = divmod(cell, GRID)
    if key == "Home":
        return row * GRID
    if key == "End":
        return row * GRID + GRID - 1
    dr, dc = KEYS.get(key, (0, 0))
    return min(GRID - 1, max(0, row + dr)) * GRID + min(GRID - 1, max(0, col + dc))


def check_finite(values, name, what):
    """NaN or infinity from a model is named, never drawn."""
    if not all(math.isfinite(v) for v in values):
        raise CodebookError(f"{name} gave non-finite {what}")


def check_image(flat, name):
    """A decoder's output as 784 finite intensities, or a CodebookError naming the model."""
    values = [float(v) for v in flat]
    if len(values) != 28 * 28:
        raise CodebookError(f"{name} gave {len(values)} numbers, expected one 28×28 image (784)")
    check_finite(values, name, "pixels")
    return values


# ---- the focused cell and the pointed code, lit everywhere ----

LIGHTS = ("lit", "marked", "pointing")  # the classes lit_ids hands out


def lit_ids(cell, code, indices, shown):
    """{element id: the LIGHTS classes it gets}. `cell` is the cell pointed at or focused anywhere (a grid, a row of
    the details graph): lit in the encoder's grid and the quantised grid, with its codes' rows in the codebook and
    their distance bars (the encoder's nearest code, and the painted one if it differs). `code` is a codebook row
    pointed at (None for none): its row and bar lit, and in each grid the cells that use it marked, by the code that
    grid shows (the encoder's `indices`, the decoder's `shown`), the rest faded (the strip is "pointing")."""
    out = {}

    def add(element_id, name):
        out[element_id] = out.get(element_id, frozenset()) | {name}

    if cell is not None:
        add(f"vq-vector-{cell}", "lit")
        add(f"vq-cell-{cell}", "lit")
        for k in {indices[cell], shown[cell]}:
            add(f"vq-code-{k}", "lit")
            add(f"vq-dist-{k}", "lit")
    if code is not None:
        add("vq-flow", "pointing")
        add(f"vq-code-{code}", "lit")
        add(f"vq-dist-{code}", "lit")
        for prefix, grid in (("vq-vector", indices), ("vq-cell", shown)):
            for c, k in enumerate(grid):
                if k == code:
                    add(f"{prefix}-{c}", "marked")
    return out


def light_changes(before, after):
    """(element id, class, on) for each class that differs between two lit_ids: the page touches only those."""
    return [
        (element_id, name, name in after.get(element_id, ()))
        for element_id in sorted(before.keys() | after.keys())
        for name in LIGHTS
        if (name in before.get(element_id, ())) != (name in after.get(element_id, ()))
    ]


def pointed_code(*attributes):
    """The code a pointer or the focus is on, from the attributes of the nearest codebook row, distance bar or palette
    swatch (`data-vq-code` on a swatch, `data-code` on a row or bar; None where one is absent): None off them."""
    value = next((a for a in attributes if a is not None), None)
    return int(value) if value is not None and value.isdigit() else None


# ---- markup ----


def vectors_markup(vectors, indices, scale):
    """The encoder's 7×7 grid of vectors: each cell filled with its nearest code's colour, its D numbers as bars
    (vector_paths). The page writes this once, then changes only the attributes that differ (each cell's path and
    code): this is redrawn for every new input while drawing."""
    parts = []
    for d, k, (cell, box, _) in zip(vector_paths(vectors, scale), indices, cell_parts(len(vectors[0])), strict=True):
        parts.append(
            f'<g class="vq-vector" id="vq-vector-{cell}" data-cell="{cell}" data-code="{k}">'
            f'<rect class="vq-vector-cell" {box} fill="{code_color(k)}"/>'
            f'<path fill="{ink_on(k)}" d="{d}"/></g>'
        )
    return "".join(parts)


def vector_paths(vectors, scale):
    """Each cell's D numbers as bars from its midline, one path's `d` per cell (up positive, down negative, `scale`
    the largest |value| shown; at least half a pixel, so a zero still shows). What depends only on the cell and D is
    made once (cell_parts)."""
    half = CELL / 2 - 4
    across = f"h{BAR_W}v"
    paths = []
    for vector, (_, _, starts) in zip(vectors, cell_parts(len(vectors[0])), strict=True):
        bars = []
        for start, v in zip(starts, vector, strict=True):
            r = v / scale
            h = half if not r <= 1.0 else -half if r < -1.0 else r * half  # max(-1, min(1, r)) · half, inline
            h = h if abs(h) >= 0.5 else math.copysign(0.5, h)
            bars.append(f"{start}{-h:.1f}{across}{h:.1f}z")
        paths.append("".join(bars))
    return paths


@functools.cache
def cell_parts(dim):
    """Per cell of the grid: (cell, its background's x y width height, each of its D bars' "M<x> <midline>v")."""
    step = BAR_W + BAR_GAP
    out = []
    for cell in range(CELLS):
        x, y = (cell % GRID) * CELL, (cell // GRID) * CELL
        left, mid = x + (CELL - dim * step) / 2, y + CELL // 2
        box = f'x="{x}" y="{y}" width="{CELL}" height="{CELL}"'
        out.append((cell, box, tuple(f"M{left + d * step:.1f} {mid}v" for d in range(dim))))
    return tuple(out)


def grid_cells_markup():
    """The paintable grid's 49 cells, one focusable at a time (a roving tabindex: Tab enters the grid once)."""
    rows = []
    for row in range(GRID):
        cells = "".join(
            f'<div role="gridcell" id="vq-cell-{cell}" class="vq-cell" data-cell="{cell}" '
            f'tabindex="{0 if cell == 0 else -1}"></div>'
            for cell in range(row * GRID, row * GRID + GRID)
        )
        rows.append(f'<div role="row" class="vq-row">{cells}</div>')
    return "".join(rows)


def cell_view(cell, code, chosen):
    """(text, style, aria-label) of one cell of the paintable grid: its code, and whether the learner painted it."""
    edited = code != chosen
    label = f"{cell_name(cell)}: code {code}" + (f", painted (the encoder chose {chosen})" if edited else "")
    style = f"background:{code_color(code)};color:{ink_on(code)}"
    return (f"{code}•" if edited else str(code)), style, label


def codebook_markup(codebook, brush):
    """The whole codebook as a table: each code's colour (a button that picks it to paint with), its D numbers,
    and a cell (id vq-count-k) for how many cells of the grid the decoder sees use it, filled in per frame."""
    dim = len(codebook[0])
    head = "".join(f'<th scope="col">{d + 1}</th>' for d in range(dim))
    rows = []
    for k, code in enumerate(codebook):
        pressed = "true" if k == brush else "false"
        swatch = (
            f'<button type="button" class="vq-swatch" data-vq-code="{k}" aria-pressed="{pressed}" '
            f'style="background:{code_color(k)};color:{ink_on(k)}" aria-label="Paint with code {k}">{k}</button>'
        )
        values = "".join(f"<td>{v:.2f}</td>" for v in code)  # fixed digits: the columns line up
        count = f'<td id="vq-count-{k}">–</td>'
        rows.append(f'<tr id="vq-code-{k}" data-code="{k}"><th scope="row">{swatch}</th>{values}{count}</tr>')
    return (
        f'<thead><tr><th scope="col">code</th>{head}<th scope="col">cells</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody>"
    )


def palette_markup(codebook, brush):
    """The codes' colours as a row of buttons beside the grid they paint: pick and paint without a scroll (the same
    buttons as the codebook table's first column)."""
    return "".join(
        f'<button type="button" class="vq-swatch" data-vq-code="{k}" aria-pressed="{"true" if k == brush else "false"}"'
        f' style="background:{code_color(k)};color:{ink_on(k)}" aria-label="Paint with code {k}">{k}</button>'
        for k in range(len(codebook))
    )


def distances_markup(distances, chosen, painted=None, width=340, row=16):
    """One cell's squared distance to every code as bars, the argmin marked (and the painted code, if any);
    (markup, viewBox)."""
    top = max(distances) or 1.0
    label_w, value_w = 52, 112
    span = width - label_w - value_w
    parts = []
    for k, d in enumerate(distances):
        y = k * row
        kind = "vq-dist" + (" argmin" if k == chosen else "") + (" painted" if k == painted else "")
        mark = " ◀ nearest" if k == chosen else " ◀ painted" if k == painted else ""
        parts.append(
            f'<g class="{kind}" id="vq-dist-{k}" data-code="{k}">'
            + element("text", f"code {k}", x=0, y=y + row - 4, class_="vq-dist-label")
            + element("rect", x=label_w, y=y + 2, width=max(span * d / top, 0.5), height=row - 4, fill=code_color(k))
            + element("text", escape(num(d, 3) + mark), x=label_w + span + 4, y=y + row - 4)
            + "</g>"
        )
    return "".join(parts), f"0 0 {width} {len(distances) * row}"


def usage_words(chosen, shown, num_codes):
    """How many distinct codes the input uses, and the edited grid if it differs."""
    used = len(set(chosen))
    words = f"This input uses {used} of the {num_codes} codes."
    if shown != chosen:
        changed = sum(a != b for a, b in zip(chosen, shown, strict=True))
        words += f" Your painted grid changes {changed} of the 49 cells and uses {len(set(shown))}."
    return words
