"""Interpolation: the straight path in latent space between two inputs' μ, and what the decoder draws along it."""

from vae import decoder, latent_plot

INTERP_FRAMES = 8


class Interpolation:
    """The straight path between the μ of two inputs, eight decodings along it, and a slider that moves z."""

    def __init__(self):
        self.frames_for = None
        self.drawn = None  # (panel open, endpoints, plot) last drawn: the path only changes when they do

    def render(self, app):
        """A generator, run within the app's frame: it yields onnxruntime's promise when the strip needs decoding."""
        ends = app.state.interpolate
        shown = ("interpolate" in app.state.panels and bool(ends), ends and [list(e) for e in ends], app.plot)
        if shown == self.drawn:
            return
        self.drawn = shown
        layer = app.dom.el("interp-layer")
        if not shown[0]:
            layer.innerHTML = ""
            return
        a, b = ends
        layer.innerHTML = latent_plot.path_markup(app.plot, a, b)
        layer.setAttribute("data-a", f"{a[0]!r},{a[1]!r}")
        layer.setAttribute("data-b", f"{b[0]!r},{b[1]!r}")
        if self.frames_for != ends and app.models.decoder is not None:
            self.frames_for = [list(a), list(b)]
            zs = decoder.lerp_path(a, b, INTERP_FRAMES)
            app.paint_strip("interp-strip", app.models.decode_result((yield app.models.decode_run(zs)), len(zs)))
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
            app.latent.pin(app, [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t])
