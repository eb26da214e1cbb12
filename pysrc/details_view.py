"""Explain VAE details: the real Keras code from training/vae.py beside the live computational graph, linked both
ways (pointing at a line lights its part of the graph, and the reverse)."""

from html import escape

import js

import code_panel
import graph
from views import fetch_text, import_vendored, jsobj


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
        hljs, hljs_python, katex = await import_vendored("hljs/core.mjs", "hljs/python.js", "katex/katex.mjs")

        highlighter = hljs.default
        highlighter.registerLanguage("python", hljs_python.default)
        options = jsobj({"language": "python", "ignoreIllegals": True})
        math_options = jsobj({"throwOnError": False})
        lines = app.dom.el("code-lines")
        try:
            plan = code_panel.render_plan(code_panel.extract(await fetch_text(code_panel.SOURCE)))
        except Exception as error:  # a missing file or a renamed function: say which, keep the graph
            lines.innerHTML = f'<p class="message error">{escape(str(error))}</p>'
            plan = []
        html, previous = [], None
        for line in plan:
            if previous is not None and line["snippet"] != previous:
                html.append('<div class="code-gap"></div>')
            previous = line["snippet"]
            body = []
            for kind, text in line["segments"]:
                if kind == "code":
                    body.append(highlighter.highlight(text, options).value)
                elif kind == "math":
                    body.append(katex.default.renderToString(text, math_options))
                else:
                    body.append(f'<span class="comment">{escape(text)}</span>')
            parts = " ".join(line["parts"])
            html.append(
                f'<div class="code-line" data-parts="{parts}" data-source="{escape(line["text"])}" tabindex="0">'
                f'<span class="ln">{line["number"]}</span><span>{"".join(body)}</span></div>'
            )
        if plan:
            lines.innerHTML = "".join(html)
        view_box, markup = graph.graph_markup()
        svg = app.dom.el("graph")
        svg.setAttribute("viewBox", view_box)
        svg.innerHTML = markup
        app.dom.el("story").innerHTML = graph.annotations_markup()
        for node in js.document.querySelectorAll("#details .code-line, #graph [data-part]"):
            parts = node.getAttribute("data-parts") or node.getAttribute("data-part") or ""
            for name in ("mouseenter", "focus"):
                app.on(node, name, lambda e, parts=parts: self.link(app, parts.split()))
            for name in ("mouseleave", "blur"):
                app.on(node, name, lambda e: self.link(app, []))
        self.built = True

    def link(self, app, parts):
        """Light up everything that belongs to these parts (code lines, graph groups, story steps), dim the rest."""
        root = app.dom.el("details")
        wanted = set(parts)
        root.classList.toggle("linked", bool(wanted))
        for node in root.querySelectorAll(".code-line, [data-part], .annotation, .story li"):
            own = node.getAttribute("data-parts") or node.getAttribute("data-part") or ""
            node.classList.toggle("lit", bool(wanted & set(own.split())))

    def render(self, app):
        if "details" not in app.state.panels or not self.built or app.mu is None:
            return
        updates = graph.graph_updates(app.mu, app.log_var, app.sigma, app.epsilon, app.z)
        for (element_id, name), value in updates.items():
            if name == "text":
                app.dom.text(element_id, value)
            else:
                app.dom.attr(element_id, name, value)
