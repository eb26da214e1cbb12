"""The latent space: the plot of 10,000 training digits' μ in true units, the encoding N(μ, σ²) as 1σ/2σ/3σ
ellipses, μ and z, the numbers μ, log σ², σ, ε and z, and the learner moving z (hover, drag, click to pin,
arrow keys, Esc, Resample) and the view (wheel, pinch, drag, + and −, Shift+arrows, 0). The geometry, zoom
included, is the pure core's (latent_plot, distribution); this module turns events into its calls and writes it.
"""

import asyncio
import math
import random

import js

from page import artifacts
from page.browser.views import LoadError, fetch_bytes, fetch_text, found
from page.svg import num
from vae import distribution, latent_plot

NUDGE = 0.1  # latent units per arrow-key press
ZOOM_STEP = 2.0  # one press of + or −
WHEEL_RATE = 0.002  # zoom per pixel of wheel: a mouse's notch (100 px) is about ×1.2
PAN_STEP = 55.0  # plot pixels per Shift+arrow press: an eighth of the plot
DRAG = 4.0  # plot pixels a pressed mouse moves before it pans instead of clicking
HASH_DELAY = 0.3  # seconds of quiet before a new view goes into the URL (history allows only so many writes)


class LatentView:
    def __init__(self):
        self.shown_encoding = None  # (μ, log σ², σ, plot) last written
        self.mu_pixels = None  # μ on the plot, where the marks centred on it are
        self.pointers = {}  # pointerId → (x, y) in plot pixels, for each pointer pressed on the plot
        self.pinch = None  # (distance, midpoint) of two pointers pinching, as last applied
        self.pinched = False  # a pinch began since the last pointer was pressed: the finger left does not move z
        self.unpinned = None  # the pinned z before the first finger came down: a pinch puts it back
        self.drag = None  # where a pressed mouse was last, in plot pixels
        self.panning = False  # whether that mouse has moved far enough to pan, not click
        self.hash_write = None

    def bind(self, app):
        plot = app.dom.el("latent-plot")
        app.on(plot, "pointermove", lambda e: self.plot_move(app, e))
        app.on(plot, "pointerdown", lambda e: self.press(app, e))
        app.on(plot, "pointerup", lambda e: self.release(e))
        app.on(plot, "pointercancel", lambda e: self.release(e))
        app.on(plot, "pointerleave", lambda e: self.plot_leave(app))
        app.on(plot, "keydown", lambda e: self.plot_key(app, e))
        app.on(plot, "wheel", lambda e: self.wheel(app, e))
        app.on(app.dom.el("zoom-in"), "click", lambda e: self.zoom_step(app, ZOOM_STEP))
        app.on(app.dom.el("zoom-out"), "click", lambda e: self.zoom_step(app, 1 / ZOOM_STEP))
        app.on(app.dom.el("zoom-reset"), "click", lambda e: self.set_view(app, app.plot.reset()))
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
        self.show_state_view(app)
        js.performance.mark("vae:map-drawn")
        return None

    @staticmethod
    def show_prior(app, on):
        app.dom.el("prior-layer").innerHTML = latent_plot.prior_markup(app.plot) if on else ""

    # ---- the view: zoom and pan ----

    def set_view(self, app, plot):
        """Show the plot through a new view window: ticks redrawn, the map moved by its transforms, the marks on
        the next frame. The URL follows once the view rests."""
        if plot == app.plot:
            return False
        app.plot = plot
        self.draw_view(app)
        app.request(encode=False)
        if self.hash_write is not None:
            self.hash_write.cancel()
        self.hash_write = asyncio.get_event_loop().call_later(HASH_DELAY, app.write_hash)
        return True

    def draw_view(self, app, redraw=True):
        """The view's ticks and transforms (unless `redraw` is False: they show it already), and what says which
        view it is: the state (for the URL), the zoom level, the buttons' states, the window on the plot's
        data-window (tests read it)."""
        plot, dom = app.plot, app.dom
        app.state.plot_view = None if plot.zoom == 1 else [*plot.centre, plot.zoom]
        if redraw:
            dom.el("axes").innerHTML = plot.axes_markup()
            for element_id, name, value in latent_plot.view_numbers(plot):
                dom.attr(element_id, name, value)
            if "prior" in app.state.panels:
                self.show_prior(app, True)
        (x0, x1), (y0, y1) = plot.window
        dom.attr("latent-plot", "data-window", ",".join(repr(v) for v in (x0, x1, y0, y1)))
        dom.text("zoom-level", f"×{num(plot.zoom, 1)}")
        dom.attr("zoom-in", "aria-disabled", "true" if plot.zoom >= latent_plot.MAX_ZOOM else "false")
        for button in ("zoom-out", "zoom-reset"):
            dom.attr(button, "aria-disabled", "true" if plot.zoom == 1 else "false")

    def show_state_view(self, app):
        """The view the state names (a link's, clamped to the map); the plot is redrawn only if that is another."""
        view = app.state.plot_view
        plot = latent_plot.LatentPlot(app.plot.domain, *((view[:2], view[2]) if view else ()))
        redraw, app.plot = plot != app.plot, plot
        self.draw_view(app, redraw)

    def zoom_step(self, app, factor):
        """+ and − (buttons and keys): zoom about μ while it is in view, so its ellipses grow in place."""
        (x0, x1), (y0, y1) = app.plot.window
        mu = app.mu
        inside = mu is not None and x0 <= mu[0] <= x1 and y0 <= mu[1] <= y1
        self.set_view(app, app.plot.zoomed_about(factor, mu if inside else app.plot.centre))

    def wheel(self, app, event):
        """The wheel zooms about the pointer; at ×1 a wheel down scrolls the page, so the plot is no trap."""
        delta = event.deltaY * (16 if event.deltaMode == 1 else 400 if event.deltaMode == 2 else 1)
        if app.plot.zoom == 1 and delta > 0:
            return
        event.preventDefault()
        point = app.plot.to_latent(*self.plot_point(app, event))
        self.set_view(app, app.plot.zoomed_about(math.exp(-delta * WHEEL_RATE), point))

    def press(self, app, event):
        self.pointers[event.pointerId] = self.plot_point(app, event)
        if len(self.pointers) == 2:  # a pinch, not a tap: z goes back to where it was before the first finger
            self.pinch, self.pinched = self.pinch_of(self.pointers), True
            app.state.pinned_z = self.unpinned
            app.request(encode=False)
            return
        if event.pointerType == "mouse":
            self.drag, self.panning = self.pointers[event.pointerId], False
        self.unpinned = app.state.pinned_z
        self.pin(app, self.plot_z(app, event))

    def release(self, event):
        self.pointers.pop(event.pointerId, None)
        self.pinch = self.drag = None
        self.pinched = self.pinched and bool(self.pointers)

    @staticmethod
    def pinch_of(pointers):
        (ax, ay), (bx, by) = list(pointers.values())[:2]
        return math.hypot(bx - ax, by - ay), ((ax + bx) / 2, (ay + by) / 2)

    def pinch_move(self, app):
        """Two pointers: the view scales by their spread, about their midpoint, and follows the midpoint."""
        (d0, (mx0, my0)), (d1, (mx1, my1)) = self.pinch, self.pinch_of(self.pointers)
        self.pinch = (d1, (mx1, my1))
        if d0 > 0 and d1 > 0:
            plot = app.plot.zoomed_about(d1 / d0, app.plot.to_latent(mx0, my0))
            self.set_view(app, plot.panned(mx1 - mx0, my1 - my0))

    def drag_move(self, app, point):
        """A pressed mouse that moves pans a zoomed view (a press without moving pinned z, as a click does)."""
        (x, y) = self.drag
        if not self.panning and math.hypot(point[0] - x, point[1] - y) < DRAG:
            return False
        self.drag, self.panning = point, True
        self.set_view(app, app.plot.panned(point[0] - x, point[1] - y))
        return True

    # ---- moving z ----

    @staticmethod
    def plot_point(app, event):
        """The event's position in plot pixels (the SVG's units)."""
        rect = app.dom.el("latent-plot").getBoundingClientRect()
        return (
            (event.clientX - rect.left) / rect.width * app.plot.width,
            (event.clientY - rect.top) / rect.height * app.plot.height,
        )

    def plot_z(self, app, event):
        lo, hi = app.plot.domain
        return [min(hi, max(lo, v)) for v in app.plot.to_latent(*self.plot_point(app, event))]

    def plot_move(self, app, event):
        if event.pointerId in self.pointers:
            point = self.plot_point(app, event)
            self.pointers[event.pointerId] = point
            if self.pinch is not None and len(self.pointers) == 2:
                self.pinch_move(app)
                return
            if self.pinched:
                return
            if event.pointerType == "mouse" and not event.buttons:
                self.release(event)  # released outside the plot
            elif self.drag is not None and app.plot.zoom > 1 and self.drag_move(app, point):
                return
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
        view_keys = {"+": ZOOM_STEP, "=": ZOOM_STEP, "-": 1 / ZOOM_STEP, "_": 1 / ZOOM_STEP}
        if event.key in moves and event.shiftKey:
            event.preventDefault()
            dx, dy = moves[event.key]
            self.set_view(app, app.plot.panned(-dx / NUDGE * PAN_STEP, dy / NUDGE * PAN_STEP))
        elif event.key in view_keys and not (event.ctrlKey or event.metaKey):
            event.preventDefault()
            self.zoom_step(app, view_keys[event.key])
        elif event.key in ("0", "Home"):
            event.preventDefault()
            self.set_view(app, app.plot.reset())
        elif event.key in moves and app.z is not None:
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
