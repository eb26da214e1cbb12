"""The latent space: the plot of 10,000 training digits' μ in true units, the encoding N(μ, σ²) as 1σ/2σ/3σ
ellipses, μ and z, the numbers μ, log σ², σ, ε and z, and the learner moving z (hover, drag, click to pin,
arrow keys, Esc, Resample). The geometry is the pure core's (latent_plot, distribution); this module writes it.
"""

import asyncio
import random

import js

from page import artifacts
from page.browser.views import LoadError, fetch_bytes, fetch_text, found
from page.svg import num
from vae import distribution, latent_plot

NUDGE = 0.1  # latent units per arrow-key press


class LatentView:
    def __init__(self):
        self.shown_encoding = None  # (μ, log σ², σ, plot) last written
        self.mu_pixels = None  # μ on the plot, where the marks centred on it are

    def bind(self, app):
        plot = app.dom.el("latent-plot")
        app.on(plot, "pointermove", lambda e: self.plot_move(app, e))
        app.on(plot, "pointerdown", lambda e: self.pin(app, self.plot_z(app, e)))
        app.on(plot, "pointerleave", lambda e: self.plot_leave(app))
        app.on(plot, "keydown", lambda e: self.plot_key(app, e))
        app.on(app.dom.el("resample-button"), "click", lambda e: self.resample(app))
        app.on(app.dom.el("legend"), "click", lambda e: self.highlight(app, e))
        app.on(app.dom.el("legend"), "keydown", lambda e: self.legend_key(app, e))

    # ---- the static parts ----

    def draw_axes(self, app):
        """The plot's frame, ticks and layers, unless serve.py already drew them (then they are kept: no flicker)."""
        if found(js.document.querySelector("#latent-base #scatter path")) is not None:
            return
        box = f"0 0 {app.plot.width} {app.plot.height}"
        base, overlay = app.dom.el("latent-base"), app.dom.el("latent-overlay")
        base.setAttribute("viewBox", box)
        overlay.setAttribute("viewBox", box)
        base.innerHTML = latent_plot.base_markup(app.plot)
        overlay.innerHTML = latent_plot.overlay_markup(app.plot)
        app.dom.forget()
        self.shown_encoding = None  # the marks were drawn anew

    async def load_map(self, app):
        """The latent map (models/latent_map.*), checked, and the plot's domain from it; an error is returned."""
        try:
            manifest, data = await asyncio.gather(
                fetch_text("models/latent_map.json"), fetch_bytes("models/latent_map.bin")
            )
            mu, labels, (mu_min, mu_max) = artifacts.parse_latent_map(manifest, data)
        except (LoadError, artifacts.ArtifactError) as error:
            return error
        app.map_mu, app.map_labels = mu, labels
        app.plot = latent_plot.LatentPlot(latent_plot.square_domain(mu_min, mu_max))
        self.draw_axes(app)
        scatter = app.dom.el("scatter")
        if found(scatter.firstChild) is None:
            scatter.innerHTML = latent_plot.scatter_markup(app.plot, mu, labels)
            app.dom.el("legend").innerHTML = latent_plot.legend_markup()
        js.performance.mark("vae:map-drawn")
        return None

    @staticmethod
    def show_prior(app, on):
        app.dom.el("prior-layer").innerHTML = latent_plot.prior_markup(app.plot) if on else ""

    # ---- moving z ----

    @staticmethod
    def plot_z(app, event):
        rect = app.dom.el("latent-plot").getBoundingClientRect()
        px = (event.clientX - rect.left) / rect.width * app.plot.width
        py = (event.clientY - rect.top) / rect.height * app.plot.height
        lo, hi = app.plot.domain
        return [min(hi, max(lo, v)) for v in app.plot.to_latent(px, py)]

    def plot_move(self, app, event):
        if event.buttons and event.pointerType != "mouse":
            self.pin(app, self.plot_z(app, event))
            return
        app.hover_z = self.plot_z(app, event)
        app.request(encode=False)

    @staticmethod
    def plot_leave(app):
        app.hover_z = None
        app.request(encode=False)

    def plot_key(self, app, event):
        moves = {"ArrowLeft": (-NUDGE, 0), "ArrowRight": (NUDGE, 0), "ArrowUp": (0, NUDGE), "ArrowDown": (0, -NUDGE)}
        if event.key in moves and app.z is not None:
            event.preventDefault()
            dx, dy = moves[event.key]
            lo, hi = app.plot.domain
            self.pin(app, [min(hi, max(lo, app.z[0] + dx)), min(hi, max(lo, app.z[1] + dy))])
        elif event.key == "Escape":
            app.state.pinned_z = None
            app.request(encode=False)

    @staticmethod
    def pin(app, z):
        app.hover_z = None
        app.state.pinned_z = [round(v, 5) for v in z]  # the precision a shared link keeps: the same z everywhere
        app.request(encode=False)
        app.write_hash()

    def legend_key(self, app, event):
        if event.key in ("Enter", " "):
            event.preventDefault()
            self.highlight(app, event)

    @staticmethod
    def highlight(app, event):
        """A legend entry pressed: its digit's points stand out and the others fade (pressed again: all as before)."""
        item = found(event.target.closest("[data-digit]"))
        if item is None:
            return
        on = item.getAttribute("aria-pressed") != "true"
        for node in app.dom.el("legend").querySelectorAll("[data-digit]"):
            node.setAttribute("aria-pressed", "true" if on and node.dataset.digit == item.dataset.digit else "false")
        for path in js.document.querySelectorAll("#scatter [data-digit]"):
            path.classList.toggle("highlight", on and path.dataset.digit == item.dataset.digit)
        app.dom.el("latent-plot").classList.toggle("highlighting", on)

    @staticmethod
    def resample(app):
        app.state.seed = random.randrange(1, 2**31 - 1)
        app.state.pinned_z = None
        app.request(encode=False)
        app.write_hash()

    # ---- every frame ----

    def render(self, app):
        """The numbers and the plot's marks. A hover moves only z (and ε): what comes from the encoding alone (μ,
        log σ², σ and the ellipses) is written only when the encoding or the plot changes."""
        dom = app.dom
        if app.mu is None:
            if app.state.is_blank and self.shown_encoding != "blank":  # no input: no numbers (the marks hide)
                self.shown_encoding = "blank"
                for name in ("mu", "log_var", "sigma", "epsilon", "z"):
                    for i in range(2):
                        dom.text(f"num-{name}-{i}", "–")
                    dom.attr("latent-plot", "data-" + name.replace("_", "-"), "")
                dom.text("z-mode", "z = μ + σ·ε")
            return
        encoding = (tuple(app.mu), tuple(app.log_var), tuple(app.sigma), app.plot)
        if encoding != self.shown_encoding:
            self.shown_encoding = encoding
            self.write_vectors(dom, {"mu": app.mu, "log_var": app.log_var, "sigma": app.sigma})
            contours = distribution.contour_ellipses(app.mu, app.sigma)
            for k, (_, _, rx, ry) in zip((1, 2, 3), app.plot.ellipses(contours), strict=True):
                dom.attr(f"ellipse-{k}", "rx", num(min(rx, 1e5)))
                dom.attr(f"ellipse-{k}", "ry", num(min(ry, 1e5)))
            self.mu_pixels = app.plot.to_pixels(app.mu)
            dom.attr("mu-marks", "transform", latent_plot.mu_transform(*self.mu_pixels))
        self.write_vectors(dom, {"epsilon": app.epsilon, "z": app.z})
        (mx, my), (zx, zy) = self.mu_pixels, app.plot.to_pixels(app.z)
        for element_id, name, v in (
            ("z-point", "cx", zx),
            ("z-point", "cy", zy),
            ("z-link", "x2", zx - mx),
            ("z-link", "y2", zy - my),
        ):
            dom.attr(element_id, name, num(v))
        mode = (
            "z under the pointer; ε = (z − μ)/σ"
            if app.hover_z is not None
            else "z pinned; ε = (z − μ)/σ · Esc unpins"
            if app.state.pinned_z is not None
            else "z = μ + σ·ε"
        )
        dom.text("z-mode", mode)

    @staticmethod
    def write_vectors(dom, values):
        """Each vector's numbers under the plot, and in full on the plot's data-* attributes (tests read them)."""
        for name, vector in values.items():
            for i, v in enumerate(vector):
                dom.text(f"num-{name}-{i}", num(v, 3))
            dom.attr("latent-plot", "data-" + name.replace("_", "-"), ",".join(repr(float(v)) for v in vector))
