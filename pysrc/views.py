"""Browser adapter, part two: the optional views (loss, manifold, samples, interpolation) and exports.

Each view reads the app's current numbers and writes only when it is open; the maths stays in the core.
"""

import json
from html import escape

import js
from pyodide.ffi import to_js

import code_panel
import decoder
import graph
import latent_plot
import loss
import sample
from svg import element, num

MANIFOLD_GRID = 20
SAMPLE_COUNT = 16
INTERP_FRAMES = 8


def download(filename, url):
    link = js.document.createElement("a")
    link.href = url
    link.download = filename
    link.click()


class LossPanel:
    """Reconstruction BCE with its per-pixel heatmap, KL per dimension and in total, and their sum."""

    def render(self, app):
        if "loss" not in app.state.panels or app.x_hat is None or app.pixels is None:
            return
        per_pixel = loss.pixel_bce(app.pixels, app.x_hat)
        reconstruction = sum(per_pixel)
        kl = app.maths.call("kl_divergence", app.mu, app.log_var)
        elbo = loss.negative_elbo(reconstruction, kl)
        dom = app.dom
        dom.text("loss-reconstruction", num(reconstruction, 3))
        dom.text("loss-kl-0", num(kl[0], 3))
        dom.text("loss-kl-1", num(kl[1], 3))
        dom.text("loss-kl", num(sum(kl), 3))
        dom.text("loss-elbo", num(elbo, 3))
        panel = dom.el("loss-panel")
        for name, value in (("reconstruction", reconstruction), ("kl", sum(kl)), ("elbo", elbo)):
            panel.setAttribute(f"data-{name}", repr(float(value)))
        panel.setAttribute("data-kl-dims", ",".join(repr(float(v)) for v in kl))
        app.paint_rgba("loss-heatmap", loss.heatmap_rgba(per_pixel))
        width = 300 * reconstruction / elbo if elbo > 0 else 0
        dom.el("loss-bar").innerHTML = (
            element("rect", x=0, y=4, width=width, height=18, class_="rec")
            + element("rect", x=width, y=4, width=300 - width, height=18, class_="kl")
            + element("text", f"reconstruction {num(reconstruction, 1)}", x=2, y=36)
            + element("text", f"KL {num(sum(kl), 2)}", x=298, y=36, text_anchor="end")
        )


class Manifold:
    """The latent plot's background painted with decoded digits, decoded once in one batched call."""

    def __init__(self):
        self.url = None

    async def show(self, app, on):
        plot_el = app.dom.el("latent-plot")
        if not on:
            plot_el.classList.remove("manifold-on")
            app.dom.el("manifold-layer").innerHTML = ""
            return
        if app.models.decoder is None:
            return
        if self.url is None:
            zs = decoder.grid_points(app.plot.domain, MANIFOLD_GRID)
            images = await app.models.decode(zs)
            size = MANIFOLD_GRID * 28
            canvas = app.dom.el("manifold-canvas")
            canvas.width = canvas.height = size
            app.paint_rgba("manifold-canvas", decoder.tile_rgba(images, MANIFOLD_GRID), size, size)
            self.url = canvas.toDataURL("image/png")
        left, top, size, _ = app.plot.area
        app.dom.el("manifold-layer").innerHTML = element(
            "image", id="manifold-image", href=self.url, x=left, y=top, width=size, height=size, opacity=0.85
        )
        plot_el.classList.add("manifold-on")
        plot_el.setAttribute("data-manifold-grid", str(MANIFOLD_GRID))


class Samples:
    """Many draws from q(z|x) at once: dots on the plot and a strip of their decodings."""

    def zs(self, app):
        if "samples" not in app.state.panels or app.mu is None:
            return []
        return [
            app.maths.call("reparameterize", app.mu, app.sigma, sample.draw_epsilon(app.state.seed * 7919 + k))
            for k in range(SAMPLE_COUNT)
        ]

    def render(self, app, zs, images):
        layer = app.dom.el("samples-layer")
        if not zs:
            if app.dom.written.get(("samples-layer", "html")) != "":
                app.dom.written[("samples-layer", "html")] = ""
                layer.innerHTML = ""
            return
        layer.innerHTML = latent_plot.dots_markup(app.plot, zs, "sample-dot")
        app.dom.written[("samples-layer", "html")] = "dots"
        layer.setAttribute("data-z", ";".join(",".join(repr(v) for v in z) for z in zs))
        if images:
            app.paint_strip("samples-strip", images)


class Interpolation:
    """The straight path between the μ of two inputs, eight decodings along it, and a slider that moves z."""

    def __init__(self):
        self.frames_for = None

    async def render(self, app):
        layer = app.dom.el("interp-layer")
        ends = app.state.interpolate
        if "interpolate" not in app.state.panels or not ends:
            layer.innerHTML = ""
            return
        a, b = ends
        layer.innerHTML = latent_plot.path_markup(app.plot, a, b)
        layer.setAttribute("data-a", f"{a[0]!r},{a[1]!r}")
        layer.setAttribute("data-b", f"{b[0]!r},{b[1]!r}")
        if self.frames_for != ends and app.models.decoder is not None:
            self.frames_for = [list(a), list(b)]
            app.paint_strip("interp-strip", await app.models.decode(decoder.lerp_path(a, b, INTERP_FRAMES)))
        app.dom.text("interp-status", "Drag the slider to move z from A to B along the straight path.")

    def set_end(self, app, which):
        if app.mu is None:
            return
        ends = app.state.interpolate or [list(app.mu), list(app.mu)]
        ends[which] = list(app.mu)
        app.state.interpolate = ends

    def slide(self, app, t):
        if app.state.interpolate:
            (a, b), t = app.state.interpolate, t / 1000
            app.pin([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t])


def export_png(app):
    """The reconstruction, scaled up crisply to 280×280."""
    canvas = js.document.createElement("canvas")
    canvas.width = canvas.height = 280
    ctx = canvas.getContext("2d")
    ctx.imageSmoothingEnabled = False
    ctx.drawImage(app.dom.el("reconstruction"), 0, 0, 280, 280)
    download("vae-reconstruction.png", canvas.toDataURL("image/png"))


def export_json(app):
    if app.mu is None:
        return
    data = {"mu": app.mu, "log_var": app.log_var, "sigma": app.sigma, "epsilon": app.epsilon, "z": app.z}
    blob = js.Blob.new(
        to_js([json.dumps(data, indent=2)]), to_js({"type": "application/json"}, dict_converter=js.Object.fromEntries)
    )
    url = js.URL.createObjectURL(blob)
    download("vae-latent.json", url)
    js.URL.revokeObjectURL(url)


class Details:
    """The annotated Keras code beside the live computational graph, each lighting up the other."""

    def __init__(self):
        self.built = self.building = False

    async def build(self, app):
        """Fetch the real training code once, highlight it, typeset its maths, and draw the graph skeleton."""
        if self.building or self.built:
            return
        self.building = True
        from pyscript.js_modules import hljs, hljs_python, katex  # loaded when first needed, not at boot

        highlighter = hljs.default
        highlighter.registerLanguage("python", hljs_python.default)
        options = to_js({"language": "python", "ignoreIllegals": True}, dict_converter=js.Object.fromEntries)
        math_options = to_js({"throwOnError": False}, dict_converter=js.Object.fromEntries)
        lines = app.dom.el("code-lines")
        try:
            plan = code_panel.render_plan(code_panel.extract(await app.fetch_text(code_panel.SOURCE)))
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
                f'<div class="code-line" data-parts="{parts}" tabindex="0">'
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
