"""Export: the reconstruction as a PNG and the encoding's numbers as JSON, made in the page."""

import json

import js
from pyodide.ffi import to_js

from page.browser.views import download, jsobj


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
    blob = js.Blob.new(jsobj([json.dumps(data, indent=2)]), to_js({"type": "application/json"}))
    url = js.URL.createObjectURL(blob)
    download("vae-latent.json", url)
    js.URL.revokeObjectURL(url)
