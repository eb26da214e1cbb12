"""The words for screen readers and the nearest-digit line: what the encoding is, once the input has settled."""

import js
from pyodide.ffi import create_proxy

from vae import narrate

SETTLE_MS = 500  # quiet time after the last frame before the page speaks: a drag or a stroke is one announcement


class Narrator:
    """The polite live region and the nearest-digit line under the numbers, written once input has settled."""

    def __init__(self):
        self.timer = None
        self.callback = None
        self.encoding = None  # (μ, σ) last put into words
        self.z_state = None  # (pinned z, ε seed) last put into words

    def settled(self, app):
        """A frame ended with nothing stale: (re)start the quiet period; each new frame's end starts it again."""
        if self.callback is None:
            self.callback = create_proxy(lambda: self.speak(app))
        if self.timer is not None:
            js.clearTimeout(self.timer)
        self.timer = js.setTimeout(self.callback, SETTLE_MS)

    def speak(self, app):
        self.timer = None
        if app.mu is None and app.state.is_blank and self.encoding != "blank":
            self.encoding, self.z_state = "blank", None
            app.dom.el("nearest").hidden = False
            app.dom.text("nearest", narrate.EMPTY_LINE)
            app.dom.text("announce", narrate.EMPTY_SENTENCE)
            return
        if app.mu is None or app.busy or app.hover_z is not None:
            return
        labels = None
        if app.map_mu is not None:
            labels = [app.map_labels[i] for i in app.magnifier.index_for(app.map_mu).nearest(app.mu, narrate.K)]
        encoding = (tuple(app.mu), tuple(app.sigma))
        pinned = app.state.pinned_z
        z_state = (tuple(pinned) if pinned is not None else None, app.state.seed)
        if encoding != self.encoding:
            words = narrate.encoding_sentence(app.mu, app.sigma, labels)
            line = app.dom.el("nearest")
            line.hidden = labels is None
            app.dom.text("nearest", narrate.nearest_line(labels) if labels else "")
        elif z_state != self.z_state:
            near_z = None
            if app.map_mu is not None:
                near_z = [app.map_labels[i] for i in app.magnifier.index_for(app.map_mu).nearest(app.z, narrate.K)]
            words = narrate.z_sentence(app.z, "pinned" if pinned is not None else "sampled", near_z)
        else:
            return
        self.encoding, self.z_state = encoding, z_state
        app.dom.text("announce", words)
