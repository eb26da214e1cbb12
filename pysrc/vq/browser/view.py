"""Browser adapter of the VQ-VAE view: the same input through the VQ-VAE, its 7×7 grid of discrete codes, and the
learner painting codes onto that grid.

All of it loads when the view is first opened (app.py imports this module, vq_grid and quantizer then): the
codebook, checked against its manifest, and the two networks from models/vq/. The quantiser runs in Python
between them, through app.maths: the shipped functions or the learner's edits from the Source panel, and the grid is
quantised and decoded again whenever those change. The markup comes from vq_grid; this module fetches, runs
onnxruntime and writes the DOM.

Sampling codes from the prior is vq_prior's; its grid becomes the learner's painted codes.
"""

import array
import asyncio

import js
from pyodide.ffi import create_proxy, to_js

from page.browser.views import LoadError, Runner, fetch_bytes, fetch_text, found, jsobj, onnx_session
from vae import decoder
from vq import grid as vq_grid
from vq import quantizer
from vq.browser import details_view as vq_details
from vq.browser import prior_view as vq_prior

FOLDER = "models/vq/"
ENCODER, DECODER = FOLDER + "encoder.onnx", FOLDER + "decoder.onnx"
MANIFEST, CODEBOOK = FOLDER + "codebook.json", FOLDER + "codebook.bin"
FIRST_FOCUS = 24  # the centre cell: its distances are shown until the learner points at another
QUANTISER = ("squared_distances", "nearest_code", "lookup")  # quantizer.py's functions a learner may edit


class RunError(RuntimeError):
    """onnxruntime rejected a run's promise; work() names the model and the input's shape."""


class VqView:
    def __init__(self):
        self.codebook = None
        self.encoder = self.decoder = None
        self.failed = False
        self.loading = None
        self.pixels = None  # the input last encoded (app.pixels is a new list for every new input)
        self.vectors = self.indices = self.distances = None
        self.quantised_with = None  # the quantiser's functions that made indices and distances
        self.decoded = None  # (grid, lookup) last decoded
        self.focus = FIRST_FOCUS  # the cell pointed at or focused last, in any grid or the details graph
        self.pointed = None  # the code whose codebook row, distance bar or swatch is pointed at or focused
        self.lit = {}  # vq_grid.lit_ids as the page shows it now
        self.shown_distances = None  # (cell, distances, painted code) on screen
        self.shown_vectors = None  # (each cell's bars' path, its code) on screen in #vq-vectors
        self.vector_nodes = ()  # each cell's (group, background, bars) in #vq-vectors
        self.painting = None  # pointerId of the paint stroke in progress
        self.proxies = []
        self.steps = None  # the work in flight (work), waiting on onnxruntime
        self.callbacks = None  # advance's proxies for onnxruntime's promises: resolved, rejected
        self.runners = {}  # network → its Runner, set when the sessions load
        self.details = vq_details.VqDetails(self)  # "Explain VQ-VAE details", inside this view
        self.prior = vq_prior.VqPrior(self)  # "Sample codes from the prior", inside this view

    # ---- loading, checked ----

    async def open(self, app):
        if self.codebook is None and not self.failed:
            if self.loading is None:  # opened, closed and opened again while loading: one load
                self.loading = asyncio.ensure_future(self.load(app))
            try:
                await self.loading
            except (LoadError, quantizer.CodebookError) as error:
                self.failed = True
                self.status(app, f"The VQ-VAE could not load: {error}", error=True)
                return
        self.update(app)

    async def load(self, app):
        manifest, data, encoder_bytes, decoder_bytes = await asyncio.gather(
            fetch_text(MANIFEST), fetch_bytes(CODEBOOK), fetch_bytes(ENCODER), fetch_bytes(DECODER)
        )
        codebook = quantizer.parse_codebook(manifest, data, name=MANIFEST)
        self.encoder = await onnx_session(app.models.ort, ENCODER, encoder_bytes)
        self.decoder = await onnx_session(app.models.ort, DECODER, decoder_bytes)
        self.runners = {"encoder": Runner(self.encoder), "decoder": Runner(self.decoder)}
        self.codebook = codebook
        self.build(app)

    def status(self, app, text, error=False):
        app.dom.attr("vq-status", "class", "explain vq-status-error" if error else "explain")
        app.dom.text("vq-status", text)

    # ---- controls ----

    def proxy(self, fn):
        proxy = create_proxy(fn)
        self.proxies.append(proxy)
        return proxy

    def on(self, node, event, handler):
        node.addEventListener(event, self.proxy(handler))

    def build(self, app):
        dom = app.dom
        grid = dom.el("vq-grid")
        grid.innerHTML = vq_grid.grid_cells_markup()
        dom.el("vq-codebook").innerHTML = vq_grid.codebook_markup(self.codebook, self.brush(app))
        dom.el("vq-palette").innerHTML = vq_grid.palette_markup(self.codebook, self.brush(app))
        self.on(grid, "pointerdown", lambda e: self.paint_down(app, e))
        self.on(grid, "pointermove", lambda e: self.paint_move(app, e))
        for name in ("pointerup", "pointercancel"):
            self.on(grid, name, lambda e: self.paint_up(app, e))
        self.on(grid, "keydown", lambda e: self.key(app, e))
        self.on(grid, "focusin", lambda e: self.point_at(app, e.target))
        self.on(dom.el("vq-vectors"), "pointermove", lambda e: self.point_at(app, e.target))
        self.on(dom.el("vq-codebook"), "click", lambda e: self.pick(app, e))
        self.on(dom.el("vq-palette"), "click", lambda e: self.pick(app, e))
        for codes in ("vq-codebook", "vq-palette", "vq-distances"):  # pointing at a code marks the cells using it
            for name in ("pointerover", "focusin"):
                self.on(dom.el(codes), name, lambda e: self.point_code(app, e.target))
            for name in ("pointerleave", "focusout"):
                self.on(dom.el(codes), name, lambda e: self.point_code(app, None))
        self.on(dom.el("vq-reset"), "click", lambda e: self.edit(app, None))
        self.on(dom.el("vq-fill"), "click", lambda e: self.paint(app, range(quantizer.CELLS)))
        self.details.bind(app)
        self.prior.bind(app)

    def brush(self, app):
        return app.state.vq_brush if app.state.vq_brush < len(self.codebook) else 0

    def pick(self, app, event):
        button = found(event.target.closest("[data-vq-code]"))
        if button is None:
            return
        app.state.vq_brush = int(button.dataset.vqCode)
        for node in app.dom.el("vq-panel").querySelectorAll("[data-vq-code]"):  # the palette and the codebook
            node.setAttribute("aria-pressed", "true" if node.dataset.vqCode == button.dataset.vqCode else "false")
        app.write_hash()

    def edit(self, app, edits):
        app.state.vq_edits = edits
        app.write_hash()
        self.update(app)

    def paint(self, app, cells):
        if self.indices is not None:
            self.edit(app, vq_grid.paint(app.state.vq_edits, self.indices, cells, self.brush(app)))

    def cell_at(self, event):
        """The grid cell under the pointer (a captured pointer's events all target where it went down)."""
        node = found(js.document.elementFromPoint(event.clientX, event.clientY))
        cell = found(node.closest("#vq-grid [data-cell]")) if node is not None else None
        return None if cell is None else int(cell.dataset.cell)

    def paint_down(self, app, event):
        cell = self.cell_at(event)
        if cell is None or not event.isPrimary:
            return
        event.preventDefault()
        self.painting = event.pointerId
        event.currentTarget.setPointerCapture(event.pointerId)
        self.focus_cell(app, cell).focus()  # the keyboard carries on from the cell last painted
        self.paint(app, [cell])

    def paint_move(self, app, event):
        cell = self.cell_at(event)
        if cell is None:
            return
        if self.painting == event.pointerId:
            current = vq_grid.apply_edits(self.indices, app.state.vq_edits)
            if current[cell] != self.brush(app):
                self.paint(app, [cell])
        if cell != self.focus:
            self.show_distances(app, cell)

    def paint_up(self, app, event):
        if self.painting == event.pointerId:
            self.painting = None

    def key(self, app, event):
        cell = int(event.target.dataset.cell) if event.target.dataset.cell else None
        if cell is None:
            return
        if event.key in (" ", "Enter"):
            event.preventDefault()
            self.paint(app, [cell])
        elif event.key in vq_grid.KEYS or event.key in ("Home", "End"):
            event.preventDefault()
            self.focus_cell(app, vq_grid.move(cell, event.key)).focus()

    def focus_cell(self, app, cell):
        """A roving tabindex: the focused cell is the grid's one stop in the Tab order."""
        for node in app.dom.el("vq-grid").querySelectorAll("[tabindex='0']"):
            node.setAttribute("tabindex", "-1")
        node = app.dom.el(f"vq-cell-{cell}")
        node.setAttribute("tabindex", "0")
        return node

    def point_at(self, app, target):
        cell = found(target.closest("[data-cell]")) if found(target) is not None else None
        if cell is not None:
            self.show_distances(app, int(cell.dataset.cell))

    def point_code(self, app, target):
        """The code under the pointer or the focus (None: it left the codes), lit with the cells that use it."""
        node = found(target.closest("[data-vq-code], [data-code]")) if target is not None else None
        code = None
        if node is not None:
            code = vq_grid.pointed_code(found(node.getAttribute("data-vq-code")), found(node.getAttribute("data-code")))
        if code != self.pointed:
            self.pointed = code
            self.light(app)

    def light(self, app, redrawn=None):
        """Light the focused cell and the pointed code everywhere (vq_grid.lit_ids), touching only what changed;
        `redrawn` names the ids' prefix whose elements were just written anew, with no class on them."""
        if redrawn is not None:
            self.lit = {key: names for key, names in self.lit.items() if not key.startswith(redrawn)}
        if self.indices is None:
            return
        shown = vq_grid.apply_edits(self.indices, app.state.vq_edits)
        lit = vq_grid.lit_ids(self.focus, self.pointed, self.indices, shown)
        for element_id, name, on in vq_grid.light_changes(self.lit, lit):
            node = found(js.document.getElementById(element_id))
            if node is not None:
                node.classList.toggle(name, on)
        self.lit = lit

    # ---- the frame's work: encode a new input, decode a new grid ----

    def render(self, app):
        """Called with every frame of the app: a new input is encoded again, and a new quantiser (an edit applied or
        reset in the Source panel) quantises and decodes again; while the view is out of view, once input pauses."""
        if self.codebook is None or "vq" not in app.state.panels:
            return
        stale = self.pixels is not app.pixels or (self.vectors is not None and self.quantised_with != quantiser(app))
        if stale and not app.defer("vq"):
            self.update(app)

    def update(self, app):
        if self.codebook is not None:
            self.details.update(app)
            self.prior.update(app)
        if self.codebook is not None and self.steps is None and "vq" in app.state.panels:
            self.check_link(app)
            app.dom.attr("vq-panel", "data-busy", "true")
            self.steps = self.work(app)
            self.advance(app)

    def check_link(self, app):
        """A link may name codes this codebook lacks (from another model): those edits are dropped, and said so."""
        edits, size = app.state.vq_edits, len(self.codebook)
        if edits is not None and any(k is not None and k >= size for k in edits):
            kept = [k if k is not None and k < size else None for k in edits]
            app.state.vq_edits = kept if any(k is not None for k in kept) else None
            app.message(f"The link painted codes this codebook does not have (it has {size}); those cells were reset.")
            app.write_hash()

    def advance(self, app, value=None, error=None):
        """Run the work on to its next onnxruntime promise, resumed from that promise's own callback, or to its end.
        No asyncio task between the steps: each would wait for a browser task of its own, and the picture would land
        frames after the input that changed it. The panel's `data-busy` is "true" until the picture shown is the
        latest (tests and benchmarks wait on it, as on <html>'s for the VAE)."""
        promise = None
        try:
            promise = self.steps.send(value) if error is None else self.steps.throw(error)
        except StopIteration:
            pass
        except quantizer.CodebookError as failure:
            self.vectors = self.indices = self.decoded = None
            self.status(app, f"The VQ-VAE cannot be shown: {failure}", error=True)
        finally:
            if promise is None:  # the work ended, or failed in a way nobody expected: the next input starts anew
                self.steps = None
                app.dom.attr("vq-panel", "data-busy", "false")
        if promise is not None:
            if self.callbacks is None:
                self.callbacks = (
                    self.proxy(lambda out: self.advance(app, out)),
                    self.proxy(lambda reason: self.advance(app, error=RunError(str(reason)))),
                )
            app.promise_then.call(promise, *self.callbacks)

    def work(self, app):
        """Encode while the input is newer than the grid, decode while the grid is newer than the picture; one
        network run at a time, never a queue. A generator of onnxruntime's promises, driven by advance."""
        while "vq" in app.state.panels and app.pixels is not None:
            if self.pixels is not app.pixels:
                self.pixels = pixels = app.pixels
                self.vectors = self.quantised_with = None
                flat = yield from self.run(app, "encoder", ENCODER, pixels, [1, 28, 28, 1])
                vectors = quantizer.grid_vectors(flat, len(self.codebook[0]), ENCODER)
                vq_grid.check_finite(flat, ENCODER, "vectors")
                self.vectors = vectors
            if self.vectors is None:  # this input could not be encoded: nothing to decode until a new one
                break
            if self.quantised_with != quantiser(app):
                self.quantise(app)
                self.draw_encoding(app)
                continue
            if self.prior.seed is not None:
                grid = yield from self.prior.sample(app)
                if grid is not None:
                    app.state.vq_edits = vq_grid.edits_for(self.indices, grid)
                    app.write_hash()
                self.decoded = None  # the grid's cells show the sample: draw the decoded grid again
                continue
            shown = vq_grid.apply_edits(self.indices, app.state.vq_edits)
            if (shown, app.maths.function("lookup")) == self.decoded:
                break
            dim = len(self.codebook[0])
            quantized = quantizer.flatten(app.maths.lookup(shown, self.codebook))
            self.decoded = (shown, app.maths.function("lookup"))  # after the call: an edit failing falls back
            flat = yield from self.run(app, "decoder", DECODER, quantized, [1, quantizer.GRID, quantizer.GRID, dim])
            image = vq_grid.check_image(flat, DECODER)
            self.draw_decoding(app, shown, image)

    def quantise(self, app):
        """The grid through app.maths's quantiser. An edit that fails part-way is set aside by the registry (the
        Source panel says so), and the grid is quantised again with the code before it, all with the same code."""
        while True:
            used = quantiser(app)
            self.indices, _, self.distances = quantizer.quantize(
                self.vectors,
                self.codebook,
                squared_distances=app.maths.squared_distances,
                nearest_code=app.maths.nearest_code,
                lookup=app.maths.lookup,
            )
            if quantiser(app) == used:
                self.quantised_with = used
                break
        app.source.render(app)  # says so if an edit was set aside

    def run(self, app, network, name, values, shape):
        """One network's run: yields onnxruntime's promise (a plain JS one, see views.Runner) and returns the
        numbers of its output."""
        runner = self.runners[network]
        session = runner.session
        tensor = app.models.ort.Tensor.new("float32", to_js(memoryview(array.array("f", values))), to_js(shape))
        try:
            out = yield runner.run(jsobj({session.inputNames[0]: tensor}))
        except RunError as error:
            raise quantizer.CodebookError(
                f"{name} could not run on a {'×'.join(map(str, shape))} input ({str(error).splitlines()[0][:200]})"
            ) from None
        return getattr(out, session.outputNames[0]).data.to_py().tolist()

    # ---- drawing ----

    def draw_encoding(self, app):
        scale = max(abs(v) for rows in (self.vectors, self.codebook) for row in rows for v in row) or 1.0
        node = app.dom.el("vq-vectors")
        paths = vq_grid.vector_paths(self.vectors, scale)
        if self.shown_vectors is None:
            node.innerHTML = vq_grid.vectors_markup(self.vectors, self.indices, scale)
            self.vector_nodes = [(g, g.querySelector("rect"), g.querySelector("path")) for g in node.children]
            self.light(app, redrawn="vq-vector-")
        else:  # the same 98 elements, only what changed: no markup to parse, no elements to style anew
            for (g, rect, path), d, k, shown_d, shown_k in zip(
                self.vector_nodes, paths, self.indices, *self.shown_vectors, strict=True
            ):
                if d != shown_d:
                    path.setAttribute("d", d)
                if k != shown_k:
                    g.setAttribute("data-code", str(k))
                    rect.setAttribute("fill", vq_grid.code_color(k))
                    path.setAttribute("fill", vq_grid.ink_on(k))
        self.shown_vectors = (paths, list(self.indices))
        node.setAttribute("data-indices", ",".join(map(str, self.indices)))
        self.show_distances(app, self.focus)

    def draw_decoding(self, app, shown, image):
        dom = app.dom
        app.paint_rgba("vq-reconstruction", decoder.grayscale_rgba(image))
        self.draw_cells(app, shown)
        for k in range(len(self.codebook)):
            dom.text(f"vq-count-{k}", str(shown.count(k)))
        dom.text("vq-usage", vq_grid.usage_words(self.indices, shown, len(self.codebook)))
        dom.el("vq-reset").disabled = shown == self.indices
        self.show_distances(app, self.focus)
        self.status(app, "The VQ-VAE: your input, its codes, and what the decoder makes of them.")
        dom.attr("vq-reconstruction", "data-codes", ",".join(map(str, shown)))

    def draw_cells(self, app, grid):
        """The paintable grid's 49 cells showing `grid`'s codes (None: a cell left blank, not sampled yet)."""
        for cell, (code, chosen) in enumerate(zip(grid, self.indices, strict=True)):
            if code is None:
                text, style, label = "", "", f"{vq_grid.cell_name(cell)}: not sampled yet"
            else:
                text, style, label = vq_grid.cell_view(cell, code, chosen)
            app.dom.text(f"vq-cell-{cell}", text)
            app.dom.attr(f"vq-cell-{cell}", "style", style)
            app.dom.attr(f"vq-cell-{cell}", "aria-label", label)

    def show_distances(self, app, cell):
        """Focus `cell`: lit in every grid and the details graph, and its squared distance to every code shown, the
        argmin marked: why the encoder chose what it chose."""
        self.focus = cell
        self.details.render(app)  # the details graph outlines the same cell; it skips what it has drawn
        redrawn = self.distances is not None and self.draw_distances(app, cell)
        self.light(app, "vq-dist-" if redrawn else None)

    def draw_distances(self, app, cell):
        """The cell's bars, unless they are on screen already; True when they were drawn anew."""
        edits = app.state.vq_edits
        painted = edits[cell] if edits is not None else None
        shown = (cell, id(self.distances), painted)
        if shown == self.shown_distances:
            return False
        self.shown_distances = shown
        # 240 wide: drawn about 1:1 in the desktop strip, so its 12-unit labels read at 11 CSS px or more
        markup, box = vq_grid.distances_markup(self.distances[cell], self.indices[cell], painted, width=240)
        node = app.dom.el("vq-distances")
        node.innerHTML = markup
        node.setAttribute("viewBox", box)
        node.setAttribute("data-cell", str(cell))
        vector = ", ".join(f"{v:.2f}" for v in self.vectors[cell])
        chosen = "the one your edited quantizer.py picks" if "vq.quantizer" in app.maths.edited else "the nearest"
        app.dom.text(
            "vq-distances-caption",
            f"{vq_grid.cell_name(cell)}: the encoder's vector ({vector}) and its squared distance to each code; "
            f"{chosen}, code {self.indices[cell]}, is the one it gets.",
        )
        return True


def quantiser(app):
    """The functions the quantiser runs now: the shipped ones, or the learner's last good edit."""
    return tuple(app.maths.function(name) for name in QUANTISER)
