"""The magnifier under the numbers: the latent map around μ, zoomed so that σ's ellipses are readable."""

import asyncio

from page.svg import num
from vae import latent_plot


class Magnifier:
    """The zoom around μ under the numbers; its map points change only when μ or σ do."""

    def __init__(self):
        self.window = None
        self.index = None  # the map's points on a grid: a new μ (every drawing frame) visits only those near it
        self.indexing = None  # the points an index is being built for
        self.chosen = None  # the map points the magnifier shows
        self.overlay_encoding = None  # (μ, zoom, σ) whose numbers the overlay shows; None until it is drawn

    def render(self, app):
        if app.mu is None:
            return
        zoom = latent_plot.Zoom(app.mu, app.sigma)
        key = (tuple(app.mu), zoom.half)
        if key != self.window and app.map_mu is not None:
            self.window = key
            index = self.index if self.index is not None and self.index.points is app.map_mu else None
            if index is None and self.indexing is not app.map_mu:
                # Built just after this frame rather than in it: the first view does not wait for it.
                self.indexing = app.map_mu
                asyncio.get_event_loop().call_later(0.05, self.build_index, app.map_mu)
            chosen = zoom.window_points(app.map_mu, index=index)
            if self.chosen is None:
                app.dom.el("zoom-scatter").innerHTML = zoom.scatter_markup(app.map_mu, app.map_labels, index=index)
            elif chosen != self.chosen:  # else the same dots, moved and scaled by the transform alone
                dots = latent_plot.map_dots_markup(chosen, app.map_mu, app.map_labels, index)
                app.dom.el("zoom-dots").innerHTML = dots
            self.chosen = chosen
            app.dom.attr("zoom-dots", "transform", zoom.transform())
            app.dom.attr("zoom-dots", "stroke-width", zoom.dot_width())
            app.dom.text("zoom-caption", f"around μ, magnified ×{num(zoom.k * app.plot.zoom / app.plot.x.k, 0)}")
        encoding = (key, tuple(app.sigma))
        if self.overlay_encoding is None:  # its elements, drawn once: from then on only their numbers are written
            self.overlay_encoding = encoding
            app.dom.el("zoom-overlay").innerHTML = zoom.overlay_markup(app.sigma, app.z)
            return
        numbers = zoom.z_numbers(app.z)
        if encoding != self.overlay_encoding:
            self.overlay_encoding = encoding
            more, label = zoom.overlay_numbers(app.sigma)
            numbers += more
            app.dom.text("zoom-scale-label", label)
        for element_id, name, value in numbers:
            app.dom.attr(element_id, name, num(value))

    def build_index(self, points):
        self.index = latent_plot.PointIndex(points)

    def index_for(self, points):
        """The grid index of the map, built now if the one scheduled after the first frame has not run yet."""
        if self.index is None or self.index.points is not points:
            self.build_index(points)
        return self.index
