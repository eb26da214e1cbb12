"""The page's canvases, painted from Python: one 2-D context and one ImageData per canvas and size, made once."""

from page.browser.views import jsobj
from vae import decoder


class Canvases:
    """What the App paints with (its views call these on the app): `dom`, `contexts` and `image_data` are the App's."""

    def canvas(self, element_id):
        ctx = self.contexts.get(element_id)
        if ctx is None:
            ctx = self.contexts[element_id] = self.dom.el(element_id).getContext(
                "2d", jsobj({"willReadFrequently": True})
            )
        return ctx

    def paint_rgba(self, element_id, rgba, width=28, height=28, x=0, y=0):
        """RGBA bytes onto a canvas in one putImageData call, reusing one ImageData per canvas and size."""
        key = (element_id, width, height)
        data = self.image_data.get(key)
        if data is None:
            data = self.image_data[key] = self.canvas(element_id).createImageData(width, height)
        data.data.assign(rgba)
        self.canvas(element_id).putImageData(data, x, y)

    def put_image(self, element_id, pixels):
        self.paint_rgba(element_id, decoder.grayscale_rgba(pixels))

    def paint_strip(self, element_id, images):
        """Decoded images side by side on a 28-pixel-high strip canvas."""
        for k, image in enumerate(images):
            self.paint_rgba(element_id, decoder.grayscale_rgba(image), x=28 * k)
