"""Browser adapter of "Train it yourself": onnxruntime-web behind the training loop (train/loop.py), the files
fetched and checked, the controls, and one step per animation frame.

Why one step per frame, not a worker: a step is one onnxruntime-web run of about 16 ms in Chromium here
(single-threaded wasm), so a frame that runs one stays under the 50 ms of a long animation frame, and input between
two steps is answered at the next frame, which the step leaves to it. A worker would need a second Pyodide (seconds
and megabytes more), or onnxruntime's proxy worker, which transfers its inputs' buffers (the weights fed back in
are detached) and would copy 1.2 million numbers each way per step. Every MAP_EVERY_S the frames encode the 2,000
held-out digits instead, MAP_CHUNK at a time, with the weights unchanged until the map is drawn."""

import asyncio
from array import array
from html import escape

import js
from pyodide.ffi import create_once_callable, to_js

from page.browser.views import LoadError, fetch_bytes, jsobj, onnx_session
from page.state import TRAIN_BETAS, TRAIN_RATES
from page.svg import element
from train import loop, progress
from train.browser.trained_model import TrainedModels
from vae import decoder, latent_plot
from vae.latent_plot import LatentPlot

FOLDER = "models/train/"


class WebRunner:
    """The loop's runner on onnxruntime-web: tensors are ort.Tensor, and a step's outputs go back in as they are."""

    def __init__(self, ort, sessions, index):
        self.ort, self.sessions = ort, sessions
        self.outputs = {name: [o["name"] for o in graph["outputs"]] for name, graph in index["graphs"].items()}

    def tensor(self, dtype, shape, data):
        return self.ort.Tensor.new(dtype, to_js(memoryview(data)), to_js(list(shape)))

    async def run(self, graph, feeds):
        out = await self.sessions[graph].run(jsobj(feeds))
        return {name: js.Reflect.get(out, name) for name in self.outputs[graph]}

    def scalar(self, tensor):
        return float(tensor.data[0])

    @staticmethod
    def values(tensor):
        return tensor.data.to_py().tolist()


def next_frame():
    """A future that the next animation frame resolves."""
    future = asyncio.get_event_loop().create_future()
    js.requestAnimationFrame(create_once_callable(lambda t: future.done() or future.set_result(t)))
    return future


def rate_label(rate):
    return f"{rate:g}" + (" (too large)" if rate >= 1 else "")


class TrainView:
    def __init__(self):
        self.index = self.data = self.runner = self.trainer = None
        self.failed = None  # the load error, once one happened
        self.loading = None  # the task loading the files
        self.training = False
        self.resume = False  # training was on when the view was closed: it goes on when opened again
        self.loop_task = None
        self.pixels = None  # the held-out digits as float32, made once
        self.domain = self.plot = None
        self.codes = None  # (xs, ys) of the map shown
        self.map_step = None  # the step the map shows; None: draw it again
        self.map_time = None
        self.input_mu = None  # the learner's input, encoded by the weights the map shows
        self.encoded_pixels = None
        self.times = []  # performance.now() after each step, for steps per second
        self.graphs = {}  # graph name → its checked bytes (the trained model in use gets sessions of its own)
        self.shipped = None  # (models, map μ, labels, plot) of the shipped VAE while the trained one is in use
        self.badge = None
        self.schedule_code = None  # the edited train/schedule.py in use (None: the shipped one)

    # ---- opening, closing, loading ----

    async def open(self, app):
        if self.loading is None:
            self.build_controls(app)
            self.loading = asyncio.ensure_future(self.load(app))
        await self.loading
        if self.trainer is None:
            return
        if self.map_step != self.trainer.step or app.pixels is not self.encoded_pixels:
            await self.refresh_map(app)
        if self.resume:
            self.resume = False
            self.set_training(app, True)

    def close(self, app):
        """Leaving the view pauses training; opening it again goes on where it was."""
        if self.training:
            self.resume = True
            self.set_training(app, False)

    async def load(self, app):
        self.status(app, "Loading the training step and the digits (about 2.4 MB)…")
        try:
            index = loop.read_index(await self.fetch(loop.INDEX, required=True))
            records = {**index["graphs"], **index["data"]}
            paths = [records[key]["path"] for key in (*loop.GRAPHS, *loop.DATA)]
            files = dict(zip(paths, await asyncio.gather(*(self.fetch(p) for p in paths)), strict=True))
            data = loop.dataset(index, files)
            self.graphs = {
                name: loop.check_file(index["graphs"][name], files[index["graphs"][name]["path"]])
                for name in loop.GRAPHS
            }
            sessions = {name: await self.session(app, index, name) for name in loop.GRAPHS}
        except (LoadError, loop.TrainFileError) as error:
            self.failed = str(error)
            where = FOLDER if isinstance(error, loop.TrainFileError) else ""
            self.status(app, f"Training cannot start: {where}{error}", error=True)
            app.dom.el("train-panel").dataset.state = "failed"
            for control in ("train-run", "train-step", "train-reset", "train-use"):
                app.dom.el(control).disabled = True
            return
        self.index, self.data = index, data
        self.runner = WebRunner(app.models.ort, sessions, index)
        self.pixels = data.test_pixels()
        self.reset(app)

    async def session(self, app, index, name):
        """An onnxruntime-web session of one of the checked graphs."""
        return await onnx_session(app.models.ort, FOLDER + index["graphs"][name]["path"], self.graphs[name])

    async def fetch(self, path, required=False):
        """A file of models/train/, or None when it is missing (loop.check_file then names it)."""
        try:
            return (await fetch_bytes(FOLDER + path)).decode() if required else await fetch_bytes(FOLDER + path)
        except LoadError:
            if required:
                raise loop.TrainFileError(f"{path}: file not found") from None
            return None

    # ---- controls ----

    def build_controls(self, app):
        dom, state = app.dom, app.state
        dom.el("train-beta").innerHTML = "".join(
            f'<option value="{b:g}"{" selected" if b == state.train_beta else ""}>{b:g}</option>' for b in TRAIN_BETAS
        )
        dom.el("train-rate").innerHTML = "".join(
            f'<option value="{r!r}"{" selected" if r == state.train_rate else ""}>{escape(rate_label(r))}</option>'
            for r in TRAIN_RATES
        )
        dom.el("train-seed").value = str(state.train_seed)
        app.on(dom.el("train-beta"), "change", lambda e: self.change(app, train_beta=float(e.target.value)))
        app.on(dom.el("train-rate"), "change", lambda e: self.change(app, train_rate=float(e.target.value)))
        app.on(dom.el("train-seed"), "change", self.seed_changed(app))
        app.on(dom.el("train-run"), "click", lambda e: self.set_training(app, not self.training))
        app.on(dom.el("train-step"), "click", lambda e: self.spawn(self.one_step(app)))
        app.on(dom.el("train-reset"), "click", lambda e: self.reset(app))
        app.on(dom.el("train-use"), "click", lambda e: self.spawn(self.use(app)))

    def spawn(self, coroutine):
        """Run a coroutine from an event handler; the reference keeps the task from being collected."""
        self.task = asyncio.ensure_future(coroutine)

    def seed_changed(self, app):
        def changed(event):
            try:
                seed = int(event.target.value)
            except ValueError:
                seed = -1
            if not 0 <= seed <= 2**31 - 1:
                event.target.value = str(app.state.train_seed)
                return
            self.change(app, train_seed=seed)

        return changed

    def change(self, app, **values):
        """β and the learning rate apply from the next step; a new seed starts a new run (it draws the start
        weights). The link follows either way."""
        for key, value in values.items():
            setattr(app.state, key, value)
        app.write_hash()
        if self.trainer is None:
            return
        if "train_seed" in values:
            self.reset(app)
        else:
            self.trainer.settings.beta, self.trainer.settings.learning_rate = app.state.train_beta, app.state.train_rate
            self.draw_figures(app)

    def update(self, app):
        """The link changed: show its settings, and start a new run with them if they differ."""
        dom, state = app.dom, app.state
        dom.el("train-beta").value = f"{state.train_beta:g}"
        dom.el("train-rate").value = repr(state.train_rate)
        dom.el("train-seed").value = str(state.train_seed)
        settings = self.trainer.settings if self.trainer else None
        if settings and (settings.seed, settings.beta, settings.learning_rate) != (
            state.train_seed,
            state.train_beta,
            state.train_rate,
        ):
            self.reset(app)

    def status(self, app, text, error=False):
        node = app.dom.el("train-status")
        node.className = "explain train-status-error" if error else "explain"
        node.textContent = text

    # ---- the run ----

    def reset(self, app):
        """A new run from the seed's start weights, with the settings in the state."""
        if self.index is None:
            return
        self.set_training(app, False)
        state = app.state
        settings = loop.Settings(seed=state.train_seed, beta=state.train_beta, learning_rate=state.train_rate)
        # app.maths: train/schedule.py as shipped, or the learner's edit from the Source panel, counted and checked.
        self.trainer = loop.Trainer(self.index, self.data, self.runner, settings, schedule=app.maths)
        self.domain = self.plot = None
        self.map_step = self.input_mu = None
        self.times = []
        self.status(app, "Ready: press Train, or Step for one batch of 64 digits.")
        app.dom.el("train-panel").dataset.state = "paused"
        self.draw_figures(app)
        self.spawn(self.refresh_map(app))

    def set_training(self, app, on):
        if self.trainer is None:
            return
        self.training = on
        app.dom.attr("train-run", "aria-pressed", "true" if on else "false")
        app.dom.text("train-run", "Pause" if on else "Train")
        app.dom.el("train-panel").dataset.state = "training" if on else "paused"
        if on and self.loop_task is None:
            self.status(app, "Training: one batch per animation frame.")
            self.loop_task = asyncio.ensure_future(self.run_loop(app))
        elif not on and self.failed is None:
            self.status(app, f"Paused after step {self.trainer.step}.")

    async def run_loop(self, app):
        """One step per animation frame, or one chunk of the map when it is due, until paused. A frame in which the
        page answers input (data-busy) is left to it: the step would run first and delay the answer by its length."""
        try:
            chunks = None
            while self.training and "train" in app.state.panels:
                await next_frame()
                if not self.training:
                    break
                if app.shown_busy == "true":
                    continue
                if chunks is not None:
                    if await self.encode_chunk(app, chunks):
                        chunks = None
                elif progress.map_due(js.performance.now(), self.map_time):
                    chunks = self.start_map()
                elif not await self.step(app):
                    break
        finally:
            self.loop_task = None

    async def step(self, app):
        """One batch; False when its loss was not finite (training pauses and the message names the step)."""
        try:
            await self.trainer.train_step()
        except loop.LossNotFinite as error:
            self.set_training(app, False)
            app.dom.el("train-panel").dataset.state = "not-finite"
            self.status(app, str(error), error=True)
            self.draw_figures(app)
            await self.refresh_map(app)
            return False
        self.times.append(js.performance.now())
        del self.times[: -progress.RATE_WINDOW]
        self.follow_schedule(app)
        self.draw_figures(app)
        return True

    def follow_schedule(self, app):
        """Apply or Reset in the Source panel, or an edit that failed on a step (the registry went back to the last
        good one), changed the schedule: the run goes on with the code now in use and keeps its weights, and a
        frame of the page shows the Source panel's message."""
        code = app.maths.sources().get("train.schedule")
        if self.trainer is not None and code != self.schedule_code:
            self.schedule_code = code
            self.trainer.rescheduled()
            app.request(encode=False)

    async def one_step(self, app):
        if self.trainer is None or self.training:
            return
        if self.loop_task is not None:  # the step in flight when training was paused ends first
            await self.loop_task
        if await self.step(app):
            self.status(app, f"Paused after step {self.trainer.step}.")
            await self.refresh_map(app)

    # ---- the map ----

    def start_map(self):
        return {"step": self.trainer.step, "next": 0, "xs": [], "ys": []}

    async def encode_chunk(self, app, chunks):
        """Encode the next MAP_CHUNK held-out digits; after the last, draw the map. True when it is drawn."""
        count = len(self.data.test_labels)
        start = chunks["next"]
        end = min(count, start + progress.MAP_CHUNK)
        mu, _ = await self.trainer.encode(self.pixels[start * loop.PIXELS : end * loop.PIXELS], end - start)
        values = self.runner.values(mu)
        chunks["xs"] += values[0::2]
        chunks["ys"] += values[1::2]
        chunks["next"] = end
        if end < count:
            return False
        await self.encode_input(app)
        self.draw_map(app, chunks["xs"], chunks["ys"], chunks["step"])
        await self.draw_decoded(app, chunks["step"])
        return True

    async def refresh_map(self, app):
        """The whole map at once (after Step, Reset or a pause), outside the training frames."""
        if self.trainer is None:
            return
        chunks = self.start_map()
        while not await self.encode_chunk(app, chunks):
            pass

    async def encode_input(self, app):
        """The learner's input through the encoder being trained."""
        if app.pixels is None:
            return
        mu, _ = await self.trainer.encode(array("f", app.pixels), 1)
        self.input_mu = self.runner.values(mu)
        self.encoded_pixels = app.pixels

    def draw_map(self, app, xs, ys, step):
        dom = app.dom
        self.map_time = js.performance.now()
        mine = [self.input_mu] if self.input_mu else []
        domain = progress.map_domain(self.domain, xs + [m[0] for m in mine], ys + [m[1] for m in mine])
        if domain != self.domain:
            self.domain, self.plot = domain, LatentPlot(domain)
            dom.el("train-plot").setAttribute("viewBox", f"0 0 {self.plot.width} {self.plot.height}")
        axes, codes, prior = progress.map_markup(self.plot, xs, ys, self.data.test_labels)
        dom.el("train-axes").innerHTML = axes
        dom.el("train-scatter").innerHTML = codes
        dom.el("train-prior").innerHTML = prior
        dom.el("train-input").innerHTML = "".join(
            element("circle", class_="mu-point", r=5.0, cx=x, cy=y) for x, y in map(self.plot.to_pixels, mine)
        )
        self.codes, self.map_step = (xs, ys), step
        figures = progress.code_figures(xs, ys, self.data.test_labels)
        t = self.trainer
        beta = t.losses[-1].beta if t.losses else t.settings.beta  # the schedule's, which an edit may anneal
        dom.text("train-words", progress.sentence(step, step / t.steps_per_epoch, beta, t.losses, figures))
        dom.el("train-chart").innerHTML = progress.chart_markup(t.losses, t.steps_per_epoch)
        dom.el("train-panel").dataset.mapStep = str(step)

    async def draw_decoded(self, app, step):
        """What the decoder being trained draws over the map's domain: one batched run of DECODED² points."""
        zs = decoder.grid_points(self.domain, progress.DECODED)
        out = await self.trainer.decode(array("f", [v for z in zs for v in z]), len(zs))
        images = decoder.split_images(self.runner.values(out), len(zs))
        size = progress.DECODED * 28
        app.paint_rgba("train-decoded", decoder.tile_rgba(images, progress.DECODED), size, size)
        canvas = app.dom.el("train-decoded")
        canvas.dataset.step = str(step)
        canvas.dataset.domain = ",".join(repr(v) for v in self.domain)

    def draw_figures(self, app):
        t = self.trainer
        rate = progress.steps_per_second(self.times) if self.training else None
        last = t.losses[-1] if t.losses else None
        parts = [f"step {t.step}", f"epoch {t.step // t.steps_per_epoch + 1} ({t.epochs_done:.2f} done)"]
        if last is not None:
            parts.append(f"BCE {last.bce:.1f} · KL {last.kl:.2f} · β {last.beta:.3g} · −ELBO {last.negative_elbo:.1f}")
        parts.append(f"{rate:.1f} steps/s" if rate else "paused")
        app.dom.text("train-figures", " · ".join(parts))
        app.dom.el("train-panel").dataset.step = str(t.step)

    def render(self, app):
        """Every frame of the app: a new input is encoded again with the weights being trained (while training,
        the next map does it)."""
        self.follow_schedule(app)
        if self.trainer is None or self.training or app.pixels is self.encoded_pixels or self.map_step is None:
            return
        if "train" not in app.state.panels:
            return  # open() encodes it when the view is shown again
        self.spawn(self.redraw_input(app))

    async def redraw_input(self, app):
        await self.encode_input(app)
        if self.codes is not None:
            self.draw_map(app, *self.codes, self.map_step)

    # ---- "Use this model": the whole explainer on the trained weights ----

    async def use(self, app):
        """Switch the pipeline, the plot (with the held-out map) and the loss panel to the weights as they are now;
        a badge says so, and its button goes back to the shipped model."""
        if self.trainer is None:
            return
        if self.training:  # the weights of this step, and the map made with them
            self.set_training(app, False)
        if self.loop_task is not None:
            await self.loop_task
        if self.map_step != self.trainer.step:
            await self.refresh_map(app)
        if self.shipped is None:
            self.shipped = (app.models, app.map_mu, app.map_labels, app.plot)
        t = self.trainer
        # Sessions of its own: the pipeline's frames must not run a session the view's map may be running.
        sessions = {name: await self.session(app, self.index, name) for name in ("encoder", "decoder")}
        models = TrainedModels(self.shipped[0], sessions, t, t.step, t.settings.beta)
        xs, ys = self.codes
        points = list(zip(xs, ys, strict=True))
        plot = LatentPlot(latent_plot.square_domain((min(xs), min(ys)), (max(xs), max(ys))))
        self.swap(app, models, points, self.data.test_labels, plot)
        self.show_badge(
            app,
            f"Your model is in use: trained here for {t.step} steps at β = {t.settings.beta:g} "
            "(a fully connected VAE); the map shows the 2,000 held-out digits.",
        )
        app.dom.attr("train-use", "aria-pressed", "true")

    def back(self, app):
        if self.shipped is None:
            return
        self.swap(app, *self.shipped)
        self.shipped = None
        self.badge.remove()
        self.badge = None
        app.dom.attr("train-use", "aria-pressed", "false")

    def swap(self, app, models, map_mu, labels, plot):
        """The app's networks, map and plot replaced; the plot is drawn anew, and the frame runs again."""
        app.models, app.map_mu, app.map_labels, app.plot = models, map_mu, labels, plot
        app.encoded = None
        box = f"0 0 {plot.width} {plot.height}"
        base, overlay = app.dom.el("latent-base"), app.dom.el("latent-overlay")
        base.setAttribute("viewBox", box)
        overlay.setAttribute("viewBox", box)
        base.innerHTML = latent_plot.base_markup(plot, latent_plot.scatter_markup(plot, map_mu, labels))
        overlay.innerHTML = latent_plot.overlay_markup(plot)
        app.dom.forget()
        app.latent.draw_view(app, redraw=False)
        app.latent.shown_encoding = None
        app.latent.show_prior(app, "prior" in app.state.panels)
        manifold = app.panel_views["manifold"]
        manifold.url = None
        if "manifold" in app.state.panels:
            self.spawn(manifold.show(app, True))
        app.request(encode=True)

    def show_badge(self, app, words):
        if self.badge is None:
            self.badge = js.document.createElement("p")
            self.badge.id, self.badge.className = "trained-badge", "trained-badge"
            self.badge.setAttribute("role", "status")
            app.dom.el("message").after(self.badge)
        self.badge.innerHTML = f'<span>{escape(words)}</span> <button type="button">Back to the shipped model</button>'
        app.on(self.badge.querySelector("button"), "click", lambda e: self.back(app))
