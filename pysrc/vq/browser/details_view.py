"""Browser adapter of "Explain VQ-VAE details": `VectorQuantizer`, read from training/vqvae.py, beside the live
graph of what it computes for the input on the page (vq_graph), each lighting up the other.

It loads with the VQ-VAE view (ON_DEMAND in app.py) and shows that view's numbers: the encoder's vectors, the
distances and the indices the page's quantiser found, and the grid the decoder sees. The code, highlight.js and
KaTeX are fetched when the details are first opened. Open or closed is in the URL (AppState.vq_details).
"""

import asyncio
from html import escape

import js

from page import code_panel
from page.browser.views import LoadError, code_html, fetch_text, found
from vq import graph as vq_graph
from vq import grid as vq_grid


class VqDetails:
    def __init__(self, view):
        self.view = view  # the VqView whose numbers are shown
        self.building = self.built = False
        self.shown = None  # (distances, grid the decoder sees, outlined row) on screen
        self.task = None

    def bind(self, app):
        app.on(app.dom.el("vq-details-toggle"), "click", lambda event: self.toggle(app))
        graph = app.dom.el("vq-graph")
        app.on(graph, "pointermove", lambda event: self.point(app, event))
        app.on(graph, "keydown", lambda event: self.key(app, event))

    def point(self, app, event):
        """Pointing at a row of the matrices picks that cell, as pointing at it in a grid does."""
        ctm = found(event.currentTarget.getScreenCTM())
        codebook = self.view.codebook
        if ctm is None or codebook is None or not self.built:
            return
        at = js.DOMPoint.new(event.clientX, event.clientY).matrixTransform(ctm.inverse())
        cell = vq_graph.row_at(at.x, at.y, len(codebook), len(codebook[0]))
        if cell is not None and cell != self.view.focus:
            self.view.show_distances(app, cell)

    def key(self, app, event):
        """The keyboard's way to the same: ↑ ↓ (Page Up/Down, Home, End) on a focused matrix move its outlined row."""
        part = found(event.target.closest("[data-part]")) if self.built else None
        cell = None if part is None else vq_graph.row_key(self.view.focus, event.key, part.dataset.part)
        if cell is not None:
            event.preventDefault()
            self.view.show_distances(app, cell)

    def toggle(self, app):
        app.state.vq_details = not app.state.vq_details
        app.write_hash()
        self.update(app)

    def update(self, app):
        """Show the state: the toggle, the section, and on first opening the code and the graph."""
        on = app.state.vq_details
        app.dom.attr("vq-details-toggle", "aria-expanded", "true" if on else "false")
        app.dom.el("vq-details").hidden = not on
        if on and not self.building:
            self.task = asyncio.ensure_future(self.open(app))
        self.render(app)

    async def open(self, app):
        """Fetch the real training code once, highlight it, typeset its maths, draw the graph and link the two."""
        self.building = True
        lines = app.dom.el("vq-code-lines")
        try:
            source = await fetch_text(vq_graph.SOURCE)
            plan = code_panel.render_plan(code_panel.extract(source, vq_graph.NAMES, vq_graph.SOURCE), vq_graph.RULES)
        except (LoadError, code_panel.CodeExtractError) as error:  # say which file or name; keep the graph
            lines.innerHTML = f'<p class="message error">{escape(str(error))}</p>'
            plan = []
        if plan:
            lines.innerHTML = await code_html(plan)
        view_box, markup = vq_graph.graph_markup(self.view.codebook)
        svg = app.dom.el("vq-graph")
        svg.setAttribute("viewBox", view_box)
        _, _, width, height = view_box.split()
        svg.setAttribute("width", width)  # one unit a CSS px: its text at the size the stylesheet gives it
        svg.setAttribute("height", height)
        svg.innerHTML = markup
        code_panel.bind_links(app.dom.el("vq-details"), app.on)
        self.built = True
        self.render(app)

    def render(self, app):
        """The graph's live numbers for the view's current input; called whenever the view draws."""
        view = self.view
        if not (self.built and app.state.vq_details) or view.indices is None:
            return
        shown = vq_grid.apply_edits(view.indices, app.state.vq_edits)
        if self.shown is not None and self.shown[0] is view.distances and self.shown[1:] == (shown, view.focus):
            return
        self.shown = (view.distances, shown, view.focus)
        updates = vq_graph.graph_updates(view.vectors, view.codebook, view.distances, view.indices, shown, view.focus)
        for (element_id, name), value in updates.items():
            if name == "text":
                app.dom.text(element_id, value)
            else:
                app.dom.attr(element_id, name, value)
        app.dom.text("vq-losses-words", vq_graph.losses_words(view.vectors, view.codebook, view.indices, shown))
