"""Explain VAE details: the real Keras code from training/vae.py beside the live computational graph, linked both
ways (pointing at a line lights its part of the graph, and the reverse)."""

from html import escape

import js

from page import code_panel
from page.browser.views import code_html, fetch_text
from vae import graph


class Details:
    """The annotated Keras code beside the live computational graph, each lighting up the other."""

    def __init__(self):
        self.built = self.building = False

    async def show(self, app, on):
        if on and not self.built:
            await self.build(app)
            app.request(encode=False)

    async def build(self, app):
        """Fetch the real training code once, highlight it, typeset its maths, and draw the graph skeleton."""
        if self.building or self.built:
            return
        self.building = True
        lines = app.dom.el("code-lines")
        try:
            plan = code_panel.render_plan(code_panel.extract(await fetch_text(code_panel.SOURCE)))
        except Exception as error:  # a missing file or a renamed function: say which, keep the graph
            lines.innerHTML = f'<p class="message error">{escape(str(error))}</p>'
            plan = []
        if plan:
            lines.innerHTML = await code_html(plan)
        view_box, markup = graph.graph_markup()
        svg = app.dom.el("graph")
        svg.setAttribute("viewBox", view_box)
        svg.innerHTML = markup
        app.dom.el("story").innerHTML = graph.annotations_markup()
        code_panel.bind_links(app.dom.el("details"), app.on)
        differs = js.document.createElement("p")
        differs.id, differs.className, differs.hidden = "details-differs", "explain details-differs", True
        lines.before(differs)
        self.built = True

    def render(self, app):
        if "details" not in app.state.panels or not self.built or app.mu is None:
            return
        app.dom.text("g-encoder-note", app.models.encoder_note)
        app.dom.text("details-differs", app.models.differs)
        app.dom.el("details-differs").hidden = not app.models.differs
        updates = graph.graph_updates(app.mu, app.log_var, app.sigma, app.epsilon, app.z)
        for (element_id, name), value in updates.items():
            if name == "text":
                app.dom.text(element_id, value)
            else:
                app.dom.attr(element_id, name, value)
