"""The app: one object that owns the state, the models and the views, and the frame loop that keeps the page
showing the state. Everything it shows is computed by the pure core modules; this module only moves numbers
between them and the page, and keeps that cheap. It touches the page only when called, so the Python snapshot
holds it imported (main.py, which PyScript runs, only creates it and starts it).

Work is scheduled at most once per animation frame. While a frame's inference is in flight, new input only
marks what is stale; when the frame ends, one new frame runs with the latest state. Nothing queues up.
"""

import asyncio
import random

import js
from pyodide.ffi import create_proxy

import article_view
import artifacts
import decoder
import details_view
import digit_input
import distribution
import encoder
import export_view
import interpolation_view
import latent_plot
import live_code
import loss_view
import magnifier_view
import manifold_view
import narrator_view
import sample
import samples_view
import vae_models
import views
from state import CANVAS, AppState, StateError, decode_hash, encode_hash
from svg import NonFiniteError, num
from views import Dom, LoadError, fetch_bytes, fetch_text, jsobj

NUDGE = 0.1  # latent units per arrow-key press
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
}
# Views whose modules load only when first opened: panel → (modules, the view's class in the last, its title).
ON_DEMAND = {
    "kl": (("kl_evidence", "kl_view"), "KlView", "KL"),
    "vq": (("quantizer", "vq_grid", "vq_graph", "vq_details", "vq_view"), "VqView", "VQ-VAE"),
}
PANEL_SECTIONS = {
    "details": "details",
    "loss": "loss-panel",
    "samples": "samples-panel",
    "interpolate": "interpolation-panel",
    "source": "source-panel",
    "kl": "kl-panel",
    "vq": "vq-panel",
}


class App:
    def __init__(self):
        self.dom = Dom()
        self.state = AppState()  # the first view, the same one serve.py drew into the page before Python started
        self.models = vae_models.Models()
        self.presets = None
        self.plot = latent_plot.LatentPlot((-4.5, 4.5))
        self.proxies = []
        # Derived values of the current frame.
        self.pixels = None
        self.mu = self.log_var = self.sigma = self.epsilon = self.z = self.x_hat = None
        self.hover_z = None
        # Scheduling: what is stale, whether a frame is requested, whether one is running.
        self.need_encode = self.need_decode = False
        self.frame_requested = self.busy = False
        self.frame_used = False  # whether this animation frame has started a computation already
        self.smooth_cache = {}
        self.shown_busy = None
        self.shown_preset = None  # (preset,) last shown pressed on the preset buttons
        self.shown_pixels = None  # the pixels last painted on the encoder-input canvas
        self.pen_ready = False  # whether the drawing canvas's context is set up for paint_segment
        self.drawing = None  # pointerId of the stroke in progress
        self.contexts = {}
        self.image_data = {}
        self.task = None  # the start-up task; a reference keeps it from being collected
        self.steps = None  # the frame in flight (frame_steps), waiting on onnxruntime
        self.ready = False  # data-ready written
        self.frames = 0
        # The swappable maths: the shipped functions, or the learner's edits (a view's module joins when it loads).
        self.maths = live_code.Registry(later={module for modules, *_ in ON_DEMAND.values() for module in modules})
        self.magnifier = magnifier_view.Magnifier()
        self.narrator = narrator_view.Narrator()
        self.samples = samples_view.Samples()
        self.interpolation = interpolation_view.Interpolation()
        self.source = views.SourcePanel()
        # Each frame ends with every view's render(app); a panel's view is also told when it opens (show).
        self.rendered = (self.magnifier, loss_view.LossPanel(), details_view.Details(), self.source, self.samples)
        self.panel_views = {"details": self.rendered[2], "source": self.source, "manifold": manifold_view.Manifold()}
        self.map_mu = self.map_labels = None
        self.on_demand = {}  # panel → its view, once opened (ON_DEMAND): open(app), render(app), update(app)
        self.tasks = {}  # panel → the task opening it (a reference keeps it from being collected)
        self.sample_images = []
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
        self.draw_axes()
        results = await asyncio.gather(self.models.load(), self.load_map(), self.load_presets(), return_exceptions=True)
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
        self.paint_drawing()
        for panel in self.state.panels:
            self.show_panel(panel, True)
        self.request(encode=True)
        first_formula = js.document.querySelector("#article .math")
        if first_formula is not None:
            views.when_visible(first_formula, self.typeset_article)

    def typeset_article(self):
        self.tasks["article"] = asyncio.ensure_future(article_view.typeset_article())

    def read_hash(self, problems):
        text = js.location.hash
        if not text or text == "#":
            return
        try:
            self.state = decode_hash(text)
        except StateError as error:
            problems.append(f"The link's state was ignored: {error}.")

    async def load_map(self):
        try:
            manifest, data = await asyncio.gather(
                fetch_text("models/latent_map.json"), fetch_bytes("models/latent_map.bin")
            )
            mu, labels, (mu_min, mu_max) = artifacts.parse_latent_map(manifest, data)
        except (LoadError, artifacts.ArtifactError) as error:
            return error
        self.map_mu, self.map_labels = mu, labels
        self.plot = latent_plot.LatentPlot(latent_plot.square_domain(mu_min, mu_max))
        self.draw_axes()
        scatter = self.dom.el("scatter")
        if scatter.firstChild is None:
            scatter.innerHTML = latent_plot.scatter_markup(self.plot, mu, labels)
            self.dom.el("legend").innerHTML = latent_plot.legend_markup()
        js.performance.mark("vae:map-drawn")
        return None

    async def load_presets(self):
        try:
            manifest, data = await asyncio.gather(fetch_text("models/presets.json"), fetch_bytes("models/presets.bin"))
            self.presets = artifacts.parse_presets(manifest, data)
        except (LoadError, artifacts.ArtifactError) as error:
            return error
        return None

    # ---- drawing the static parts ----

    def draw_axes(self):
        """The plot's frame, ticks and layers, unless serve.py already drew them (then they are kept: no flicker)."""
        if js.document.querySelector("#latent-base #scatter path") is not None:
            return
        box = f"0 0 {self.plot.width} {self.plot.height}"
        base, overlay = self.dom.el("latent-base"), self.dom.el("latent-overlay")
        base.setAttribute("viewBox", box)
        overlay.setAttribute("viewBox", box)
        base.innerHTML = latent_plot.base_markup(self.plot)
        overlay.innerHTML = latent_plot.overlay_markup(self.plot)
        self.dom.elements.clear()
        self.dom.written.clear()

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

    def paint_drawing(self):
        """The drawing canvas from state: the preset scaled up, or the strokes as one smooth path."""
        ctx = self.canvas("draw-canvas")
        canvas = self.dom.el("draw-canvas")
        self.pen_ready = False
        ctx.setTransform(1, 0, 0, 1, 0, 0)
        ctx.fillStyle = "#fff"
        ctx.fillRect(0, 0, canvas.width, canvas.height)
        scale = canvas.width / CANVAS
        if self.state.preset is not None and self.presets:
            self.put_image("preset-buffer", digit_input.from_bytes(self.presets[self.state.preset]))
            ctx.imageSmoothingEnabled = True
            ctx.drawImage(self.dom.el("preset-buffer"), 0, 0, canvas.width, canvas.height)
            return
        path = "".join(stroke_path(self.smoothed(s)) for s in self.state.strokes)
        if path:
            ctx.setTransform(scale, 0, 0, scale, 0, 0)
            ctx.lineCap = ctx.lineJoin = "round"
            ctx.lineWidth = digit_input.PEN_WIDTH
            ctx.strokeStyle = "#111"
            ctx.stroke(js.Path2D.new(path))

    def paint_segment(self, a, b):
        """One new piece of the stroke in progress, drawn without repainting the rest."""
        ctx = self.canvas("draw-canvas")
        if not self.pen_ready:  # the pen's settings stay in the context until paint_drawing changes them
            self.pen_ready = True
            scale = self.dom.el("draw-canvas").width / CANVAS
            ctx.setTransform(scale, 0, 0, scale, 0, 0)
            ctx.lineCap = ctx.lineJoin = "round"
            ctx.lineWidth = digit_input.PEN_WIDTH
            ctx.strokeStyle = "#111"
        ctx.beginPath()
        ctx.moveTo(*a)
        ctx.lineTo(*b)
        ctx.stroke()

    # ---- events ----

    def on(self, target, event, handler):
        proxy = create_proxy(handler)
        self.proxies.append(proxy)
        target.addEventListener(event, proxy)

    def bind_events(self):
        draw = self.dom.el("draw-canvas")
        self.on(draw, "pointerdown", self.pointer_down)
        self.on(draw, "pointermove", self.pointer_move)
        for name in ("pointerup", "pointercancel"):
            self.on(draw, name, self.pointer_up)
        plot = self.dom.el("latent-plot")
        self.on(plot, "pointermove", self.plot_move)
        self.on(plot, "pointerdown", self.plot_down)
        self.on(plot, "pointerleave", self.plot_leave)
        self.on(plot, "keydown", self.plot_key)
        self.on(self.dom.el("clear-button"), "click", lambda e: self.edit_drawing(self.state.clear))
        self.on(self.dom.el("undo-button"), "click", lambda e: self.edit_drawing(self.state.undo))
        self.on(self.dom.el("resample-button"), "click", self.resample)
        for button in js.document.querySelectorAll("[data-preset]"):
            self.on(button, "click", self.choose_preset)
        self.on(js.window, "hashchange", self.hash_changed)
        for panel in ("details", "loss", "samples", "interpolate", "source", "prior", "manifold", "kl", "vq"):
            self.on(self.dom.el(f"{panel}-toggle"), "click", lambda e, panel=panel: self.toggle(panel))
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
        buffer = js.document.createElement("canvas")
        buffer.id = "preset-buffer"
        buffer.width = buffer.height = 28
        buffer.hidden = True
        js.document.body.appendChild(buffer)

    def canvas_point(self, event):
        rect = event.currentTarget.getBoundingClientRect()
        size = CANVAS
        x = (event.clientX - rect.left) / rect.width * size
        y = (event.clientY - rect.top) / rect.height * size
        return round(min(size, max(0.0, x)), 1), round(min(size, max(0.0, y)), 1)  # a stroke may leave the canvas

    def pointer_down(self, event):
        if not event.isPrimary or self.drawing is not None:
            return
        event.preventDefault()
        if not self.state.begin_stroke(self.canvas_point(event)):
            self.message("This drawing is as large as a shareable link allows: Undo or Clear to draw more.")
            return
        self.drawing = event.pointerId
        event.currentTarget.setPointerCapture(event.pointerId)
        self.input_changed()

    def pointer_move(self, event):
        if event.pointerId != self.drawing:
            return
        point = self.canvas_point(event)
        previous = self.state.strokes[-1][-1]
        if point != previous:
            self.state.extend_stroke(point)
            self.paint_segment(previous, point)  # cheap while drawing; the whole stroke is smoothed on release
            self.request(encode=True)

    def pointer_up(self, event):
        if event.pointerId == self.drawing:
            self.drawing = None
            self.paint_drawing()
            self.write_hash()

    def edit_drawing(self, action):
        action()
        self.input_changed()
        self.write_hash()

    def choose_preset(self, event):
        self.edit_drawing(lambda: self.state.choose_preset(int(event.currentTarget.dataset.preset)))

    def input_changed(self):
        self.paint_drawing()
        self.request(encode=True)

    def plot_z(self, event):
        rect = self.dom.el("latent-plot").getBoundingClientRect()
        px = (event.clientX - rect.left) / rect.width * self.plot.width
        py = (event.clientY - rect.top) / rect.height * self.plot.height
        lo, hi = self.plot.domain
        return [min(hi, max(lo, v)) for v in self.plot.to_latent(px, py)]

    def plot_move(self, event):
        if event.buttons and event.pointerType != "mouse":
            self.pin(self.plot_z(event))
            return
        self.hover_z = self.plot_z(event)
        self.request(encode=False)

    def plot_down(self, event):
        self.pin(self.plot_z(event))

    def plot_leave(self, event):
        self.hover_z = None
        self.request(encode=False)

    def plot_key(self, event):
        moves = {"ArrowLeft": (-NUDGE, 0), "ArrowRight": (NUDGE, 0), "ArrowUp": (0, NUDGE), "ArrowDown": (0, -NUDGE)}
        if event.key in moves and self.z is not None:
            event.preventDefault()
            dx, dy = moves[event.key]
            lo, hi = self.plot.domain
            self.pin([min(hi, max(lo, self.z[0] + dx)), min(hi, max(lo, self.z[1] + dy))])
        elif event.key == "Escape":
            self.state.pinned_z = None
            self.request(encode=False)

    def pin(self, z):
        self.hover_z = None
        self.state.pinned_z = [round(v, 5) for v in z]  # the precision a shared link keeps: the same z everywhere
        self.request(encode=False)
        self.write_hash()

    def resample(self, event=None):
        self.state.seed = random.randrange(1, 2**31 - 1)
        self.state.pinned_z = None
        self.request(encode=False)
        self.write_hash()

    def hash_changed(self, event):
        if js.location.hash.lstrip("#") == encode_hash(self.state):
            return
        try:
            self.state = decode_hash(js.location.hash)
        except StateError as error:
            self.message(f"The link's state was ignored: {error}.")
            return
        self.message("")
        self.input_changed()
        for view in self.on_demand.values():
            view.update(self)

    def write_hash(self):
        js.history.replaceState(None, "", "#" + encode_hash(self.state))

    # ---- panels ----

    def toggle(self, panel, on=None):
        on = self.state.toggle(panel, on)
        self.show_panel(panel, on)
        self.request(encode=False)
        self.write_hash()

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
            self.dom.el("prior-layer").innerHTML = latent_plot.prior_markup(self.plot) if on else ""
        elif panel in self.panel_views:
            self.tasks[panel] = asyncio.ensure_future(self.panel_views[panel].show(self, on))
        elif panel in ON_DEMAND and on:
            self.tasks[panel] = asyncio.ensure_future(self.open_on_demand(panel))

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
        self.message("Link copied: it restores this drawing, z, ε and the open panels.")

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
        self.set_busy(True)
        self.kick()

    def kick(self):
        if self.busy:
            return  # the frame in flight looks again when it ends
        if not self.frame_requested:
            self.frame_requested = True
            js.requestAnimationFrame(self.frame_proxy)
        if not self.frame_used:
            self.frame_used = True
            # Once the current handlers are done (so every event already delivered is in), before the browser
            # paints; not through asyncio, whose every step waits for a task of its own.
            js.queueMicrotask(self.start_proxy)

    def set_busy(self, busy):
        """`data-busy` on <html>: tests and benchmarks wait on it to know the numbers shown are the latest."""
        if busy != self.shown_busy:
            self.shown_busy = busy
            js.document.documentElement.dataset.busy = "true" if busy else "false"

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
            js.document.documentElement.dataset.ready = "true"
        if self.need_decode:
            self.kick()
        else:
            self.set_busy(False)
            self.narrator.settled(self)

    def frame_steps(self, encode):
        yield from self.compute(encode)
        self.render()
        self.frames += 1
        if self.frames == 1:
            js.performance.mark("vae:first-frame")
            for placeholder in js.document.querySelectorAll(".placeholder"):
                placeholder.remove()
        yield from self.interpolation.render(self)

    def compute(self, encode):
        """The frame's numbers; a generator that yields onnxruntime's promises and is sent their results."""
        if encode or self.mu is None:
            self.pixels = self.current_pixels()
            if self.models.encoder is None:
                return
            self.mu, self.log_var = self.models.encode_result((yield self.models.encode_run(self.pixels)))
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

    def current_pixels(self):
        if self.state.preset is not None and self.presets:
            return digit_input.from_bytes(self.presets[self.state.preset])
        return digit_input.preprocess([self.smoothed(s) for s in self.state.strokes])

    def smoothed(self, stroke):
        """A stroke through its spline, cached: only the stroke being drawn changes from frame to frame, and its
        spline is extended by the pieces its new points change rather than made again."""
        key = id(stroke)
        cached = self.smooth_cache.get(key)
        if cached is None or cached[0] is not stroke or cached[1] != len(stroke):
            spline = cached[3] if cached is not None and cached[0] is stroke else digit_input.Spline()
            cached = self.smooth_cache[key] = (stroke, len(stroke), spline.update(stroke), spline)
        if len(self.smooth_cache) > 4 * len(self.state.strokes) + 8:
            live = {id(s) for s in self.state.strokes}
            self.smooth_cache = {k: v for k, v in self.smooth_cache.items() if k in live}
        return cached[2]

    def render(self):
        dom = self.dom
        if self.shown_pixels is not self.pixels:  # a new encoding brings a new list; hover frames keep it
            self.shown_pixels = self.pixels
            self.put_image("encoder-input", self.pixels)
        if self.shown_preset != (self.state.preset,):  # ten buttons' worth of DOM calls, only when it changed
            self.shown_preset = (self.state.preset,)
            for button in js.document.querySelectorAll("[data-preset]"):
                pressed = "true" if str(self.state.preset) == button.dataset.preset else "false"
                if button.getAttribute("aria-pressed") != pressed:
                    button.setAttribute("aria-pressed", pressed)
        if self.mu is None:
            return
        values = {"mu": self.mu, "log_var": self.log_var, "sigma": self.sigma, "epsilon": self.epsilon, "z": self.z}
        for name, vector in values.items():
            for i, v in enumerate(vector):
                dom.text(f"num-{name}-{i}", num(v, 3))
        plot = dom.el("latent-plot")
        for name, vector in values.items():
            attr = "data-" + name.replace("_", "-")
            value = ",".join(repr(float(v)) for v in vector)
            if dom.written.get(("latent-plot", attr)) != value:
                dom.written[("latent-plot", attr)] = value
                plot.setAttribute(attr, value)
        contours = distribution.contour_ellipses(self.mu, self.sigma)
        for k, (cx, cy, rx, ry) in zip((1, 2, 3), self.plot.ellipses(contours), strict=True):
            for name, v in (("cx", cx), ("cy", cy), ("rx", rx), ("ry", ry)):
                dom.attr(f"ellipse-{k}", name, num(min(v, 1e5)))
        mx, my = self.plot.to_pixels(self.mu)
        zx, zy = self.plot.to_pixels(self.z)
        for name, v in (("cx", mx), ("cy", my)):
            dom.attr("mu-point", name, num(v))
        for name, v in (("cx", zx), ("cy", zy)):
            dom.attr("z-point", name, num(v))
        for name, v in (("x1", mx), ("y1", my), ("x2", zx), ("y2", zy)):
            dom.attr("z-link", name, num(v))
        mode = (
            "z under the pointer; ε = (z − μ)/σ"
            if self.hover_z is not None
            else "z pinned; ε = (z − μ)/σ · Esc unpins"
            if self.state.pinned_z is not None
            else "z = μ + σ·ε"
        )
        dom.text("z-mode", mode)
        if self.models.decoder is not None:
            self.put_image("reconstruction", self.x_hat)
        for view in self.rendered:
            view.render(self)
        for view in self.on_demand.values():
            view.render(self)


class FrameError(RuntimeError):
    """A promise the frame waited on was rejected."""


def stroke_path(points):
    """One smoothed stroke as SVG path data for Path2D: a dot for a tap, else a polyline through the spline."""
    if len(points) == 1:
        x, y = points[0]
        return f"M{x} {y}h0.01"
    return "M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in points)


def diagnostics(app):
    """Counts for the soak test and the benchmark: what a long session must keep bounded."""
    import gc
    import json

    import pyodide_js

    return json.dumps(
        {
            "python_objects": len(gc.get_objects()),
            "event_proxies": len(app.proxies),
            "wasm_bytes": pyodide_js._module.HEAP8.length,
            "frames": app.frames,
        }
    )
