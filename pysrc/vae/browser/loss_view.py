"""The loss panel: the two terms of the negative ELBO for this input, computed by the pure core (loss.py)."""

from page.svg import element, num
from vae import loss


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
        dom.text("loss-elbo-label", loss.total_name(app.hover_z is not None or app.state.pinned_z is not None))
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
