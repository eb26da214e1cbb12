"""The app: one object that owns the state, the models and the views, and the frame loop that keeps the page
showing the state. Everything it shows is computed by the pure core modules; this module only moves numbers
between them and the page, and keeps that cheap. It touches the page only when called, so the Python snapshot
holds it imported (main.py, which PyScript runs, only creates it and starts it).

Work is scheduled at most once per animation frame. While a frame's inference is in flight, new input only
marks what is stale; when the frame ends, one new frame runs with the latest state. Nothing queues up. A story out of
view waits while input keeps coming (STORIES), and catches up in the first frame after the input pauses.
"""

import asyncio

import js
from pyodide.ffi import create_proxy

from live import edits as live_code
from live.browser import source_view
from page import artifacts
from page.browser import views
from page.browser.canvases import Canvases
from page.browser.views import Dom, LoadError, fetch_bytes, fetch_text, jsobj
from page.state import AppState, StateError, decode_hash, encode_hash
from page.svg import NonFiniteError
from vae import encoder, latent_plot, sample
from vae.browser import (
    details_view,
    drawing_view,
    export_view,
    interpolation_view,
    latent_view,
    loss_view,
    magnifier_view,
    manifold_view,
    narrator_view,
    samples_view,
)
from vae.browser import models as vae_models

TARGET_PANELS = {  # article links that open what they point at
    "details-toggle": "details",
    "loss-panel": "loss",
    "samples-panel": "samples",
    "interpolation-panel": "interpolate",
    "source-panel": "source",
    "prior-toggle": "prior",
    "manifold-toggle": "manifold",
    "kl-toggle": "kl",
    "vq-toggle": "vq",
    "train-toggle": "train",
}
# Views whose modules load only when first opened: panel → (modules, the view's class in the last, its title).
ON_DEMAND = {
    "kl": (("kl.evidence", "kl.charts", "kl.browser.view"), "KlView", "KL"),
    "vq": (
        ("vq.quantizer", "vq.grid", "vq.graph", "vq.browser.details_view", "vq.browser.prior_view", "vq.browser.view"),
        "VqView",
        "VQ-VAE",
    ),
    "train": (
        ("train.schedule", "train.loop", "train.progress", "train.browser.trained_model", "train.browser.view"),
        "TrainView",
        "Train it yourself",
    ),
}
# What shows each story's frame. A frame made by new input leaves a story none of whose parts is in view for later
# (App.defer): the picture being watched lands sooner, and the other catches up once the input pauses.
STORIES = {
    "vae": ".stage-latent, .stage-output, #details, #loss-panel, #samples-panel, #interpolation-panel",
    "vq": "#vq-panel",
}
PANEL_SECTIONS = {
    "details": "details",
    "loss": "loss-panel",
    "samples": "samples-panel",
    "interpolate": "interpolation-panel",
    "source": "source-panel",
    "kl": "kl-panel",
    "vq": "vq-panel",
    "train": "train-panel",
}


class App(Canvases):
    def __init__(self):
        self.dom = Dom()
        self.state = AppState()  # the first view, the same one serve.py drew into the page before Python started
        self.models = vae_models.Models()
        self.presets = None
        self.plot = latent_plot.LatentPlot((-4.5, 4.5))
        self.proxies = []
        # Derived values of the current frame.
        self.pixels = self.encoded = None  # the encoder's input, and the input the VAE last encoded
        self.mu = self.log_var = self.sigma = self.epsilon = self.z = self.x_hat = None
        self.hover_z = None
        # Scheduling: what is stale, whether a frame is requested, whether one is running.
        self.need_encode = self.need_decode = False
        self.frame_requested = self.busy = False
        self.frame_used = False  # whether this animation frame has started a computation already
        self.inputs = 0  # new inputs so far: a story left behind catches up once this stops changing
        self.input_frame = False  # whether the frame in flight was made by new input (it may leave stories behind)
        self.behind = set()  # stories out of view that the last frame left for later
        self.in_view = None  # views.InView over STORIES, once the page's events are bound
        self.pause = (0, 0)  # (inputs, frames) seen by on_pause_frame: catch up after a frame without input
        self.shown_busy = None
        self.shown_blank = False  # whether <html> says the canvas is empty (data-empty)
        # Looked up once: every input event and frame uses them, and each lookup is a crossing into JS.
        self.root_data = js.document.documentElement.dataset
        self.next_frame, self.microtask = js.requestAnimationFrame, js.queueMicrotask
        self.contexts = {}
        self.image_data = {}
        self.task = None  # the start-up task; a reference keeps it from being collected
        self.steps = None  # the frame in flight (frame_steps), waiting on onnxruntime
        self.ready = False  # data-ready written
        self.frames = 0
        # The swappable maths: the shipped functions, or the learner's edits (a view's module joins when it loads).
        self.maths = live_code.Registry(later={module for modules, *_ in ON_DEMAND.values() for module in modules})
        self.drawing = drawing_view.Drawing()
        self.latent = latent_view.LatentView()
        self.magnifier = magnifier_view.Magnifier()
        self.narrator = narrator_view.Narrator()
        self.samples = samples_view.Samples()
        self.interpolation = interpolation_view.Interpolation()
        self.source = source_view.SourcePanel()
        # Each frame ends with every view's render(app); a panel's view is also told when it opens (show).
        details = details_view.Details()
        self.rendered = (
            self.drawing,
            self.latent,
            self.magnifier,
            loss_view.LossPanel(),
            details,
            self.source,
            self.samples,
        )
        self.panel_views = {"details": details, "source": self.source, "manifold": manifold_view.Manifold()}
        self.map_mu = self.map_labels = None
        self.on_demand = {}  # panel → its view, once opened (ON_DEMAND): open(app), render(app), update(app)
        self.tasks = {}  # panel → the task opening it (a reference keeps it from being collected)
        self.sample_zs = self.sample_images = []  # the samples panel's draws and their decodings
        self.promise_then = js.Reflect.get(js.Promise.prototype, "then")  # the JS function, not JsProxy.then

    # ---- loading ----

    def stage(self, name, status):
        js.document.querySelector(f'#loading [data-stage="{name}"]').dataset.status = status

    def message(self, text, error=False):
        node = self.dom.el("message")
        node.hidden = not text
        node.className = "message error" if error else "message"
        node.textContent = text

    async def start(self):
        self.stage("runtime", "ok")
        self.stage("models", "loading")
        self.stage("map", "loading")
        problems = []
        self.read_hash(problems)
        self.bind_events()
        self.latent.draw_axes(self)
        results = await asyncio.gather(
            self.models.load(), self.latent.load_map(self), self.load_presets(), return_exceptions=True
        )
        model_errors, map_error, preset_error = results
        js.performance.mark("vae:loaded")
        self.stage("models", "failed" if model_errors else "ok")
        self.stage("map", "failed" if map_error else "ok")
        problems += model_errors + [str(e) for e in (map_error, preset_error) if e]
        offered = self.source.restore(self)
        if offered:
            self.state.panels.add("source")
            problems.append(
                "This link carries edited code for "
                + ", ".join(f"{m}.py" for m in offered)
                + ": it is shown in the Source panel and runs only if you press Apply."
            )
        if problems:
            self.message(" · ".join(problems), error=True)
        if self.models.decoder is None:
            self.dom.el("reconstruction").classList.add("unavailable")
        self.drawing.paint(self)
        for panel in self.state.panels:
            self.show_panel(panel, True)
        self.request(encode=True)

    def read_hash(self, problems):
        text = js.location.hash
        if not text or text == "#":
            return
        try:
            self.state = decode_hash(text)
        except StateError as error:
            problems.append(f"The link's state was ignored: {error}.")

    async def load_presets(self):
        try:
            manifest, data = await asyncio.gather(fetch_text("models/presets.json"), fetch_bytes("models/presets.bin"))
            self.presets = artifacts.parse_presets(manifest, data)
        except (LoadError, artifacts.ArtifactError) as error:
            return error
        return None

    # ---- events ----

    def on(self, target, event, handler):
        proxy = create_proxy(handler)
        self.proxies.append(proxy)
        target.addEventListener(event, proxy)

    def bind_events(self):
        self.drawing.bind(self)
        self.latent.bind(self)
        self.on(js.window, "hashchange", self.hash_changed)
        self.in_view = views.InView(STORIES)
        for panel in ("details", "loss", "samples", "interpolate", "source", "prior", "manifold", "kl", "vq", "train"):
            self.on(self.dom.el(f"{panel}-toggle"), "click", lambda e, panel=panel: self.toggle(panel, reveal=True))
        self.on(self.dom.el("set-a"), "click", lambda e: self.set_interp_end(0))
        self.on(self.dom.el("set-b"), "click", lambda e: self.set_interp_end(1))
        self.on(self.dom.el("interp-slider"), "input", lambda e: self.interpolation.slide(self, int(e.target.value)))
        self.on(self.dom.el("export-png"), "click", lambda e: export_view.export_png(self))
        self.on(self.dom.el("export-json"), "click", lambda e: export_view.export_json(self))
        self.on(self.dom.el("share-button"), "click", self.share)
        for link in js.document.querySelectorAll("a.tool-link"):
            self.on(link, "click", self.follow_tool_link)
        manifold = js.document.createElement("canvas")
        manifold.id = "manifold-canvas"
        manifold.hidden = True
        js.document.body.appendChild(manifold)

    def input_changed(self):
        self.drawing.paint(self)
        self.request(encode=True)

    def hash_changed(self, event):
        if js.location.hash.lstrip("#") == encode_hash(self.state):
            return
        try:
            self.state = decode_hash(js.location.hash)
        except StateError as error:
            self.message(f"The link's state was ignored: {error}.")
            return
        self.message("")
        self.latent.show_state_view(self)
        self.input_changed()
        for view in self.on_demand.values():
            view.update(self)

    def write_hash(self):
        js.history.replaceState(None, "", "#" + encode_hash(self.state))

    # ---- panels ----

    def toggle(self, panel, on=None, reveal=False):
        """Open or close a panel; `reveal` (a learner's press) brings an opened panel into view."""
        on = self.state.toggle(panel, on)
        self.show_panel(panel, on)
        self.request(encode=False)
        self.write_hash()
        if on and reveal and panel in PANEL_SECTIONS:
            self.tasks[f"reveal-{panel}"] = asyncio.ensure_future(self.reveal(panel))

    async def reveal(self, panel):
        """Bring an opened panel into view, and again once what it loads has drawn (it may have grown past the
        viewport's foot meanwhile), unless the learner has gone into it by then."""
        section = self.dom.el(PANEL_SECTIONS[panel])
        views.bring_into_view(section)
        opening = self.tasks.get(panel)
        if opening is not None:
            await asyncio.wait([opening])  # its failure is the opening's own to report
            if panel in self.state.panels and not section.contains(js.document.activeElement):
                views.bring_into_view(section)  # not once the learner is at work in it: the page stays put

    def show_panel(self, panel, on):
        button = self.dom.el(f"{panel}-toggle")
        if panel in PANEL_SECTIONS:
            button.setAttribute("aria-expanded", "true" if on else "false")
            section = self.dom.el(PANEL_SECTIONS[panel])
            if section is not None:
                section.hidden = not on
        else:
            button.setAttribute("aria-pressed", "true" if on else "false")
        if panel == "prior":
            self.latent.show_prior(self, on)
        elif panel in self.panel_views:
            self.tasks[panel] = asyncio.ensure_future(self.panel_views[panel].show(self, on))
        elif panel in ON_DEMAND and on:
            self.tasks[panel] = asyncio.ensure_future(self.open_on_demand(panel))
        elif hasattr(self.on_demand.get(panel), "close"):
            self.on_demand[panel].close(self)

    async def open_on_demand(self, panel):
        """A view whose modules load when it is first opened (ON_DEMAND); then it opens like the others."""
        if panel not in self.on_demand:
            modules, class_name, title = ON_DEMAND[panel]
            try:
                *_, adapter = await views.import_on_demand(*modules)
            except LoadError as error:
                self.message(f"The {title} view could not load: {error}", error=True)
                return
            for module in set(modules) & set(live_code.MODULES):
                self.maths.load(module)
            self.on_demand.setdefault(panel, getattr(adapter, class_name)())
        await self.on_demand[panel].open(self)

    def set_interp_end(self, which):
        self.interpolation.set_end(self, which)
        self.toggle("interpolate", True)

    def share(self, event):
        self.write_hash()
        js.navigator.clipboard.writeText(js.location.href)
        self.dom.el("share-status").textContent = "Link copied: it restores this drawing, z, ε and the open panels."

    def follow_tool_link(self, event):
        """Article links scroll to the live part they talk about, open it if it is a panel, and flash it."""
        event.preventDefault()
        target_id = event.currentTarget.dataset.target
        if target_id in TARGET_PANELS:
            self.toggle(TARGET_PANELS[target_id], True)
        target = self.dom.el(target_id)
        if target is None:
            return
        still = js.matchMedia("(prefers-reduced-motion: reduce)").matches
        target.scrollIntoView(jsobj({"behavior": "auto" if still else "smooth", "block": "center"}))
        target.classList.remove("flash")
        target.offsetWidth  # restart the animation  # noqa: B018
        target.classList.add("flash")

    # ---- the frame loop ----

    def request(self, encode):
        """Mark what is stale and start work: now if this animation frame has not started any yet, else at the
        next one. At most one computation per frame, never a queue, and a result usually in the next paint."""
        self.need_encode = self.need_encode or encode
        self.need_decode = True
        self.inputs += encode
        self.set_busy("true")
        self.kick()

    def kick(self):
        if self.busy:
            return  # the frame in flight looks again when it ends
        if not self.frame_requested:
            self.frame_requested = True
            self.next_frame(self.frame_proxy)
        if not self.frame_used:
            self.frame_used = True
            # Once the current handlers are done (so every event already delivered is in), before the browser
            # paints; not through asyncio, whose every step waits for a task of its own.
            self.microtask(self.start_proxy)

    def set_busy(self, busy):
        """`data-busy` on <html>: tests and benchmarks wait for "false" to know the numbers shown are the latest;
        "behind" says the views in view are, and a story out of view is still to catch up."""
        if busy != self.shown_busy:
            self.shown_busy = busy
            self.root_data.busy = busy

    def defer(self, story):
        """Whether this frame leaves `story` for later: it was made by new input, and none of the story's parts is
        in view. A hand drawing sends input every frame, so that story waits until the hand pauses."""
        if self.input_frame and not self.in_view.seen(story):
            self.behind.add(story)
            return True
        return False

    def on_pause_frame(self, timestamp):
        """Counts animation frames without new input after a frame that left stories behind; after a whole one, they
        catch up (a frame not made by input defers nothing)."""
        inputs, frames = self.pause
        if inputs != self.inputs or self.busy or not self.behind:
            return  # new input came: its frame left them behind again, and waits for the next pause
        if frames < 1:
            self.pause = (inputs, frames + 1)
            self.next_frame(self.pause_proxy)
        else:
            self.request(encode=False)

    def on_frame(self, timestamp):
        self.frame_requested = self.frame_used = False
        if self.need_decode:
            self.kick()

    def run_frame(self):
        """One computation: a generator of onnxruntime's promises (frame_steps), driven by advance."""
        if self.busy:
            return
        self.busy = True
        encode, self.need_encode, self.need_decode = self.need_encode, False, False
        self.input_frame = encode and self.ready
        self.behind = set()
        self.steps = self.frame_steps(encode)
        self.advance()

    def advance(self, value=None, error=None):
        """Run the frame on to its next promise, resumed from that promise's own callback (a microtask, so a frame
        whose inference resolves at once ends within the task that began it), or to its end."""
        try:
            promise = self.steps.send(value) if error is None else self.steps.throw(error)
        except StopIteration:
            pass
        except (NonFiniteError, encoder.ModelOutputError) as error:
            self.message(f"Skipped a frame: {error}", error=True)
        except Exception as error:  # never let one bad frame stop the page; say what happened
            self.message(f"Something went wrong drawing this frame ({type(error).__name__}: {error})", error=True)
            js.console.warn(f"frame failed: {error!r}")
        else:
            # JS's own then, on the JS promise: the callbacks run as soon as onnxruntime resolves (a microtask).
            self.promise_then.call(promise, self.resume_proxy, self.fail_proxy)
            return
        self.steps = None
        self.busy = False
        if not self.ready:
            self.ready = True
            # The page answers input from here on, even after a failed frame.
            self.root_data.ready = "true"
        if self.need_decode:
            self.kick()
        elif self.behind:
            self.set_busy("behind")
            self.pause = (self.inputs, 0)
            self.next_frame(self.pause_proxy)
        else:
            self.set_busy("false")
            self.narrator.settled(self)

    def frame_steps(self, encode):
        yield from self.compute(encode)
        self.render()
        self.frames += 1
        if self.frames == 1:
            js.performance.mark("vae:first-frame")
            for placeholder in js.document.querySelectorAll(".placeholder"):
                placeholder.remove()
        if "vae" not in self.behind:
            yield from self.interpolation.render(self)

    def compute(self, encode):
        """The frame's numbers; a generator that yields onnxruntime's promises and is sent their results."""
        if encode or self.pixels is None:
            self.pixels = self.drawing.pixels(self)
        if self.defer("vae"):
            return
        if self.state.is_blank:  # nothing drawn: no encoding, no z, no reconstruction
            self.mu = self.log_var = self.sigma = self.epsilon = self.z = self.x_hat = None
            self.encoded, self.sample_zs, self.sample_images = self.pixels, [], []
            return
        if self.encoded is not self.pixels:
            if self.models.encoder is None:
                return
            self.mu, self.log_var = self.models.encode_result((yield self.models.encode_run(self.pixels)))
            self.encoded = self.pixels
        if self.mu is None:
            return
        self.sigma = self.maths.call("sigma_from_log_var", self.log_var)
        self.epsilon, self.z = sample.choose_z(
            self.mu,
            self.sigma,
            self.state.seed,
            self.state.pinned_z,
            self.hover_z,
            reparameterize=lambda *args: self.maths.call("reparameterize", *args),
        )
        self.sample_zs = self.samples.zs(self)
        if self.models.decoder is not None:
            zs = [self.z, *self.sample_zs]
            self.x_hat, *self.sample_images = self.models.decode_result((yield self.models.decode_run(zs)), len(zs))

    def render(self):
        """Every view's render(app); the VAE's own only if this frame computed it (the drawing is everyone's input)."""
        vae = "vae" not in self.behind
        if vae and self.state.is_blank != self.shown_blank:
            self.shown_blank = self.state.is_blank
            self.root_data.empty = "true" if self.shown_blank else "false"
        if vae and self.x_hat is not None:
            self.put_image("reconstruction", self.x_hat)
        elif vae and self.state.is_blank:
            self.canvas("reconstruction").clearRect(0, 0, 28, 28)
        for view in self.rendered if vae else (self.drawing,):
            view.render(self)
        for view in self.on_demand.values():
            view.render(self)


class FrameError(RuntimeError):
    """A promise the frame waited on was rejected."""
