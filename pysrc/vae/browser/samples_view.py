"""Many samples from q(z|x): the same μ and σ with other ε, to show the encoding is a distribution."""

from vae import latent_plot, narrate, sample

SAMPLE_COUNT = 16


class Samples:
    """Many draws from q(z|x) at once: dots on the plot and a strip of their decodings."""

    def zs(self, app):
        if "samples" not in app.state.panels or app.mu is None:
            return []
        return [
            app.maths.call("reparameterize", app.mu, app.sigma, sample.draw_epsilon(app.state.seed * 7919 + k))
            for k in range(SAMPLE_COUNT)
        ]

    def render(self, app):
        zs, images = app.sample_zs, app.sample_images
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
        app.dom.text("samples-spread", narrate.samples_sentence(app.sigma))
