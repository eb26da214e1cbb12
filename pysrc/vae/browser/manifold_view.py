"""The decoded manifold: a grid of z across the plot, decoded in one batched call, under the latent map."""

from page.svg import element
from vae import decoder

MANIFOLD_GRID = 20


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
