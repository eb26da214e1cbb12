"""Browser adapter of "Sample codes from the prior", inside the VQ-VAE view: a new 7×7 grid of codes drawn from the
PixelCNN prior (the pure sampler is prior.py), then decoded by the view's decoder.

It loads with the VQ-VAE view (ON_DEMAND in app.py); prior.py and models/vq/pixelcnn.onnx are fetched only when
the button is first pressed. The 49 network runs are steps of the view's own work (VqView.work), so drawing, painting
and sampling never run at once. The sampled grid becomes the learner's painted codes: in the URL, Reset undoes it.
"""

import asyncio
import random
import time

import js

from page.browser.views import LoadError, Runner, fetch_bytes, import_on_demand, onnx_session
from page.state import MAX_SEED
from vq import quantizer

PRIOR = "models/vq/pixelcnn.onnx"


class VqPrior:
    def __init__(self, view):
        self.view = view  # the VqView whose grid and decoder the sample goes to
        self.prior = self.session = None  # prior.py and the PixelCNN's session, once the button is pressed
        self.loading = None
        self.seed = None  # a sample asked for and not yet drawn
        self.asked = None  # the press being handled (its prior may still be loading)
        self.next_frame = None  # a promise executor that resolves on the next animation frame

    def bind(self, app):
        app.on(app.dom.el("vq-sample"), "click", lambda e: self.ask(app, 0))
        app.on(app.dom.el("vq-sample-next"), "click", lambda e: self.ask(app, 1))

    def update(self, app):
        """The seed box shows the state's seed: a link restores the seed that drew its grid."""
        app.dom.el("vq-seed").value = str(app.state.vq_seed)

    def ask(self, app, step):
        """Sample with the seed in the box (plus `step`: "Another sample" moves to the next seed)."""
        field = app.dom.el("vq-seed")
        try:
            seed = min(MAX_SEED, max(0, int(field.value or 0)) + step)
        except ValueError:
            seed = step
        field.value = str(seed)
        app.state.vq_seed = seed
        app.write_hash()
        self.asked = asyncio.ensure_future(self.sample_soon(app, seed))

    async def sample_soon(self, app, seed):
        if self.session is None:
            if self.loading is None:
                self.status(app, f"Loading the prior ({PRIOR})…")
                self.loading = asyncio.ensure_future(self.load(app))
            try:
                await self.loading
            except LoadError as error:
                self.loading = None  # pressing again tries again
                self.status(app, f"The prior could not load: {error}. The rest of the view still works.", True)
                return
        self.seed = seed
        self.view.update(app)

    async def load(self, app):
        (self.prior,) = await import_on_demand("vq.prior")
        session = await onnx_session(app.models.ort, PRIOR, await fetch_bytes(PRIOR))
        self.next_frame = self.view.proxy(lambda resolve, reject: js.requestAnimationFrame(resolve))
        self.view.runners["pixelcnn"] = Runner(session)
        self.session = session

    def status(self, app, text, error=False):
        app.dom.attr("vq-prior-status", "class", "explain vq-status-error" if error else "explain")
        app.dom.text("vq-prior-status", text)

    def sample(self, app):
        """Draw a grid from the prior, one network run per cell, showing each cell as it is drawn (one a frame, so
        the raster order can be watched; all at once for a reader who asked for reduced motion). A step of the
        view's work: returns the grid, or None if the model fails (said in its own line)."""
        seed, self.seed = self.seed, None
        view = self.view
        num_codes = len(view.codebook)
        steps = self.prior.sampler(random.Random(seed), num_codes, PRIOR)
        shape = [1, quantizer.GRID, quantizer.GRID, num_codes]
        paced = not js.matchMedia("(prefers-reduced-motion: reduce)").matches
        computing = 0.0
        self.status(app, f"Sampling with seed {seed}, one cell at a time in reading order…")
        try:
            grid, codes = next(steps)
            while True:
                if paced:
                    view.draw_cells(app, grid)
                started = time.perf_counter()
                flat = yield from view.run(app, "pixelcnn", PRIOR, codes, shape)
                grid, codes = steps.send(flat)
                computing += time.perf_counter() - started
                if paced:
                    yield js.Promise.new(self.next_frame)
        except StopIteration as done:
            self.status(
                app,
                f"Sampled with seed {seed}: 49 runs of the PixelCNN, one per cell in reading order, "
                f"{computing * 1000:.0f} ms of computing. Repaint cells, or Reset to return to the encoder's codes.",
            )
            return done.value
        except (self.prior.PriorError, quantizer.CodebookError) as error:
            self.status(app, f"The prior cannot sample: {error}. The rest of the view still works.", True)
            return None
