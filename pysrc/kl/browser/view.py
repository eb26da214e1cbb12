"""Browser adapter of the "Why the KL term?" view: the training replay and the KL-weight comparison.

All of it loads when the view is first opened (main.py imports this module then): the index first, then each
checkpoint's or model's files when it is first shown, each checked against the index. The numbers, words and
markup come from kl_evidence; this module fetches, runs onnxruntime and writes the DOM.
"""

import array
import asyncio
import json
from html import escape

import js
from pyodide.ffi import to_js

from kl import charts
from kl import evidence as kl
from page import code_panel
from page.browser.views import LoadError, fetch_bytes, fetch_text, jsobj, onnx_session
from page.svg import element, num
from vae import decoder, distribution, encoder
from vae.latent_plot import LABEL_COLORS, LatentPlot, prior_markup

MANIFOLD_GRID = 15
PLAY_STEP_S = 1.4  # time per checkpoint while playing
LOSS_CODE = ("reconstruction_loss", "kl_loss", "VAE")  # from training/vae.py: the loss and where β weighs it
BETA_NAMES = {0.0: "β = 0 (autoencoder)", 1.0: "β = 1 (VAE)"}


def beta_label(beta):
    return BETA_NAMES.get(beta, f"β = {beta:g} (β-VAE)")


class Loaded:
    """One entry's checked files: its onnxruntime sessions, and what was drawn from them, kept for the next time."""

    def __init__(self, encoder_session, decoder_session):
        self.encoder = encoder_session
        self.decoder = decoder_session
        self.manifold = {}  # plot domain → RGBA of the decoded grid
        self.prior_images = None


class KlView:
    def __init__(self):
        self.index = None
        self.maps = {}  # entry name → LatentMap
        self.loaded = {}  # entry name → Loaded
        self.pending = {}  # entry name or "maps:<names>" → the task loading it (two requests share one)
        self.paths = {}  # (entry name, domain) → the scatter's path data
        self.plot = None
        self.shown = None  # (entry name, domain) of the scatter on screen
        self.encoded = None  # (entry name, pixels) of the Gaussian on screen
        self.encodings = {}  # entry name → (pixels, μ, σ): switching back to an entry redraws without running it
        self.encoding = False
        self.generation = 0  # bumped by every show(): a slower, older one stops before it draws
        self.playing = None  # the play task, while playing
        self.texts = None  # (mode, epoch, β) the charts and words were drawn for

    # ---- opening and controls ----

    async def open(self, app):
        if self.index is None:
            try:
                self.index = kl.Index(await fetch_text(kl.INDEX_URL))
            except (LoadError, kl.KlError) as error:
                self.status(app, str(error), error=True)
                return
            self.build_controls(app)
            self.task_code = asyncio.ensure_future(self.show_code(app))
        await self.show(app)

    async def show_code(self, app):
        """The loss as training/vae.py defines it, byte for byte, with the lines where β enters marked."""
        try:
            snippets = code_panel.extract(await fetch_text(code_panel.SOURCE), LOSS_CODE)
        except (LoadError, code_panel.CodeExtractError) as error:
            app.dom.text("kl-code", str(error))
            return
        lines = []
        for snippet in snippets:
            for number, line in enumerate(snippet.text.splitlines(), snippet.first_line):
                kind = "code-line beta" if "beta" in line else "code-line"
                indent = len(line) - len(line.lstrip(" "))
                lines.append(
                    f'<span class="{kind}" data-line="{number}" style="--indent: {indent}ch">{escape(line)}</span>'
                )
            lines.append('<span class="code-line"></span>')
        app.dom.el("kl-code").innerHTML = "".join(lines[:-1])

    def build_controls(self, app):
        dom, index = app.dom, self.index
        slider = dom.el("kl-epoch")
        slider.max = str(len(index.epochs) - 1)
        betas = dom.el("kl-beta-controls")
        betas.innerHTML = "".join(
            f'<button type="button" data-kl-beta="{b:g}" aria-pressed="false">{escape(beta_label(b))}</button>'
            for b in index.beta_values
        )
        dom.el("kl-prior-strips").innerHTML = "".join(
            f'<div class="kl-prior-row"><span>{escape(beta_label(b))}</span><canvas id="kl-prior-{b:g}" '
            f'width="{28 * kl.PRIOR_COUNT}" height="28" aria-label="The 16 prior draws decoded with {b:g} as β">'
            "</canvas></div>"
            for b in index.beta_values
        )
        for button in js.document.querySelectorAll("[data-kl-mode]"):
            app.on(button, "click", lambda e: self.change(app, kl_mode=e.currentTarget.dataset.klMode))
        for button in betas.querySelectorAll("[data-kl-beta]"):
            app.on(button, "click", lambda e: self.change(app, kl_beta=float(e.currentTarget.dataset.klBeta)))
        app.on(slider, "input", lambda e: self.change(app, kl_epoch=self.index.epochs[int(e.target.value)]))
        app.on(dom.el("kl-play"), "click", lambda e: self.toggle_play(app))

    def change(self, app, **values):
        """A control moved: the state takes the new value, the link follows, and the view shows it."""
        if "kl_epoch" in values and self.playing is None:
            values["kl_mode"] = "replay"
        for key, value in values.items():
            setattr(app.state, key, value)
        app.write_hash()
        self.update(app)

    def update(self, app):
        """The state changed (a control, or the link): show it."""
        self.task = asyncio.ensure_future(self.show(app))

    def toggle_play(self, app):
        if self.playing is not None:
            self.playing.cancel()
            self.playing = None
            app.dom.attr("kl-play", "aria-pressed", "false")
            app.dom.text("kl-play", "Play")
            return
        app.dom.attr("kl-play", "aria-pressed", "true")
        app.dom.text("kl-play", "Pause")
        self.playing = asyncio.ensure_future(self.play(app))

    async def play(self, app):
        """Step through the checkpoints from the one shown (from the start when at the end), then stop."""
        epochs = self.index.epochs
        epoch = self.epoch(app)
        start = 0 if epoch == epochs[-1] else epochs.index(epoch)
        app.state.kl_mode = "replay"
        try:
            for e in epochs[start:]:
                app.state.kl_epoch = e
                app.write_hash()
                await self.show(app)
                await asyncio.sleep(PLAY_STEP_S)
        finally:
            if self.playing is asyncio.current_task():
                self.playing = None
                app.dom.attr("kl-play", "aria-pressed", "false")
                app.dom.text("kl-play", "Play")

    def status(self, app, text, error=False):
        node = app.dom.el("kl-status")
        node.className = "explain kl-status-error" if error else "explain"
        node.textContent = text

    # ---- which entry, on which axes ----

    def epoch(self, app):
        return self.index.nearest_epoch(self.index.epochs[-1] if app.state.kl_epoch is None else app.state.kl_epoch)

    def chosen(self, app):
        """(mode, epoch, β) the state asks for, moved to the nearest the index has (a link may name others)."""
        state, index = app.state, self.index
        epoch, beta = self.epoch(app), index.nearest_beta(state.kl_beta)
        asked = (state.kl_epoch, state.kl_beta)
        if (state.kl_epoch is not None and epoch != state.kl_epoch) or beta != state.kl_beta:
            state.kl_epoch, state.kl_beta = epoch if state.kl_epoch is not None else None, beta
            app.message(
                f"The link asked for epoch {asked[0]} and β = {asked[1]:g}; the nearest saved are epoch {epoch} and "
                f"β = {beta:g}."
            )
        return state.kl_mode, epoch, beta

    def entries_on_the_axes(self, mode, entry):
        """The replay keeps one set of axes for every checkpoint, so the codes move on a fixed grid; each β model
        gets axes that hold its own codes (without the KL term they stray far beyond the VAE's)."""
        if mode == "replay":
            return [self.index.checkpoints[e] for e in self.index.epochs]
        return [entry]

    # ---- loading, checked ----

    async def shared(self, key, make):
        task = self.pending.get(key)
        if task is None:
            task = self.pending[key] = asyncio.ensure_future(make())
        try:
            return await task
        finally:
            if self.pending.get(key) is task and task.done():
                del self.pending[key]

    async def fetch_checked(self, record):
        return kl.check_file(record, await fetch_bytes(record[0]))

    async def load_map(self, entry):
        if entry.name not in self.maps:
            url = entry.files["latent_map"][0]
            data = await self.shared(url, lambda: self.fetch_checked(entry.files["latent_map"]))
            self.maps.setdefault(entry.name, kl.parse_map(self.index.layout, data, url))
        return self.maps[entry.name]

    async def load_networks(self, app, entry):
        if entry.name not in self.loaded:
            self.loaded[entry.name] = await self.shared(entry.name, lambda: self._networks(app, entry))
        return self.loaded[entry.name]

    async def _networks(self, app, entry):
        sessions = []
        for key in ("encoder", "decoder"):
            data = await self.fetch_checked(entry.files[key])
            sessions.append(await onnx_session(app.models.ort, entry.files[key][0], data))
        return Loaded(*sessions)

    # ---- showing ----

    async def show(self, app):
        """Draw the state's entry: its codes (moving from the last ones, on the same axes), the prior, the input's
        Gaussian under its encoder, its decoded grid, the charts and the words; in β mode also the prior strip."""
        if self.index is None or "kl" not in app.state.panels:
            return
        self.generation += 1
        generation = self.generation
        mode, epoch, beta = self.chosen(app)
        entry = self.index.entry(mode, epoch, beta)
        self.controls(app, mode, epoch, beta)
        panel = app.dom.el("kl-panel")
        panel.setAttribute("data-shown", "")  # set to the entry's name once all of it is drawn (tests wait on it)
        what = f"epoch {epoch} of the β = 1 run" if mode == "replay" else beta_label(beta)
        try:
            axes = self.entries_on_the_axes(mode, entry)
            if all(e.name in self.maps for e in axes):  # no await: a switch between loaded entries waits on nothing
                maps = [self.maps[e.name] for e in axes]
            else:
                maps = await asyncio.gather(*(self.load_map(e) for e in axes))
            if generation != self.generation:
                return
            domain = kl.domain_of(maps)
            self.draw_scatter(app, entry, domain, self.maps[entry.name])
            self.draw_text(app, mode, epoch, beta, entry)
            self.status(app, f"Showing {what}: loading its encoder and decoder…")
            loaded = await self.load_networks(app, entry)
            if generation != self.generation:
                return
            await self.draw_manifold(app, entry, loaded, domain)
            self.encoded = None
            await self.encode_input(app)
            if mode == "beta":
                await self.draw_prior_strips(app)
        except (LoadError, kl.KlError) as error:
            if generation == self.generation:
                self.status(app, f"Could not show {what}: {error}", error=True)
            return
        if generation == self.generation:
            self.status(app, f"Showing {what}.")
            panel.setAttribute("data-shown", entry.name)

    def controls(self, app, mode, epoch, beta):
        dom, epochs = app.dom, self.index.epochs
        for name in kl.MODES:
            dom.attr(f"kl-mode-{name}", "aria-pressed", "true" if name == mode else "false")
        dom.el("kl-replay-controls").hidden = mode != "replay"
        dom.el("kl-beta-controls").hidden = mode != "beta"
        dom.el("kl-prior-figure").hidden = mode != "beta"
        dom.el("kl-curves-figure").hidden = mode != "replay"  # the β = 1 run's curves compare no β models
        slider = dom.el("kl-epoch")
        if slider.value != str(epochs.index(epoch)):
            slider.value = str(epochs.index(epoch))
        dom.attr("kl-epoch", "aria-valuetext", f"epoch {epoch}")
        dom.text("kl-epoch-label", str(epoch))
        for button in dom.el("kl-beta-controls").querySelectorAll("[data-kl-beta]"):
            button.setAttribute("aria-pressed", "true" if float(button.dataset.klBeta) == beta else "false")

    def draw_scatter(self, app, entry, domain, latent_map):
        """The entry's codes. On the axes already shown, only each digit's path data changes: the paths keep
        their commands, so CSS moves every code to its new place (style.css: a transition of `d`, none when
        the learner prefers reduced motion) and no Python runs per step of the movement."""
        key = (entry.name, domain)
        if key == self.shown:
            return
        if self.plot is None or self.plot.domain != domain:
            self.plot = LatentPlot(domain)
            app.dom.el("kl-plot").setAttribute("viewBox", f"0 0 {self.plot.width} {self.plot.height}")
            app.dom.el("kl-axes").innerHTML = self.plot.axes_markup()
            app.dom.el("kl-prior").innerHTML = prior_markup(self.plot)
            app.dom.el("kl-encoding").innerHTML = ""
            self.encoded = None
        paths = self.paths.get(key)
        if paths is None:
            paths = self.paths[key] = kl.digit_paths(self.plot, latent_map)
        group = app.dom.el("kl-scatter")
        if self.shown is not None and self.shown[1] == domain:
            for node in group.querySelectorAll("path"):
                node.setAttribute("d", paths[int(node.dataset.digit)])
        else:
            group.innerHTML = "".join(
                element("path", d=d, stroke=color, class_="scatter-digit", data_digit=digit)
                for digit, (color, d) in enumerate(zip(LABEL_COLORS, paths, strict=True))
                if d
            )
        self.shown = key
        group.setAttribute("data-entry", entry.name)
        app.dom.el("kl-plot").setAttribute("data-domain", f"{domain[0]!r},{domain[1]!r}")

    async def draw_manifold(self, app, entry, loaded, domain):
        rgba = loaded.manifold.get(domain)
        if rgba is None:
            zs = decoder.grid_points(domain, MANIFOLD_GRID)
            images = await self.decode(app, loaded, zs)
            rgba = loaded.manifold[domain] = decoder.tile_rgba(images, MANIFOLD_GRID)
        size = MANIFOLD_GRID * 28
        app.paint_rgba("kl-manifold", rgba, size, size)
        app.dom.el("kl-manifold").setAttribute("data-entry", entry.name)

    async def draw_prior_strips(self, app):
        """The same z ~ N(0, I) through every β model's decoder: only a model whose codes fill the prior turns
        them into digits. Each strip is painted once; they do not change with the β shown."""
        zs = kl.prior_zs()
        for beta in self.index.beta_values:
            loaded = await self.load_networks(app, self.index.betas[beta])
            if loaded.prior_images is None:
                loaded.prior_images = await self.decode(app, loaded, zs)
                canvas_id = f"kl-prior-{beta:g}"
                app.paint_strip(canvas_id, loaded.prior_images)
                app.dom.el(canvas_id).setAttribute("data-z", json.dumps(zs))

    def draw_text(self, app, mode, epoch, beta, entry):
        if self.texts == (mode, epoch, beta):
            return
        self.texts = (mode, epoch, beta)
        app.dom.el("kl-curves").innerHTML = charts.curves_markup(self.index, epoch if mode == "replay" else None)
        app.dom.attr("kl-curves", "viewBox", charts.chart_view_box())
        app.dom.attr("kl-rd", "viewBox", charts.chart_view_box(charts.RD_HEIGHT))
        app.dom.el("kl-rd").innerHTML = charts.rate_distortion_markup(
            self.index, beta if mode == "beta" else None, epoch if mode == "replay" else None
        )
        latent_map = self.maps[entry.name]
        words = (
            kl.replay_words(self.index, epoch, latent_map)
            if mode == "replay"
            else kl.beta_words(self.index, beta, latent_map)
        )
        app.dom.el("kl-words").innerHTML = "".join(f"<p>{escape(w)}</p>" for w in words)

    # ---- the learner's input, through this entry's encoder ----

    def render(self, app):
        """Called with every frame of the app: a new input is encoded again by the entry shown."""
        stale = self.encoded is None or self.encoded[1] is not app.pixels
        if "kl" in app.state.panels and self.shown is not None and not self.encoding and stale:
            app.dom.el("kl-plot").setAttribute("data-encoded", "")  # until this input's encoding is drawn
            self.task_encode = asyncio.ensure_future(self.encode_input(app))

    async def encode_input(self, app):
        if self.shown is None or app.pixels is None or self.shown[0] not in self.loaded:
            return
        self.encoding = True
        try:
            while self.encoded is None or self.encoded != (self.shown[0], app.pixels):
                name, pixels = self.shown[0], app.pixels
                known = self.encodings.get(name)
                if known is not None and known[0] is pixels:
                    self.draw_encoding(app, name, known[1], known[2])
                    self.encoded = (name, pixels)
                    continue
                loaded = self.loaded.get(name)
                if loaded is None:  # shown meanwhile, still loading: its show() encodes once its networks are in
                    break
                ort = app.models.ort
                tensor = ort.Tensor.new(
                    "float32", to_js(memoryview(array.array("f", pixels))), to_js(encoder.INPUT_SHAPE)
                )
                out = await loaded.encoder.run(jsobj({encoder.INPUT_NAME: tensor}))
                mu, log_var = app.models.encode_result(out)  # checked as the page's own encoder's are
                if self.shown is None or self.shown[0] != name:
                    continue
                sigma = distribution.sigma_from_log_var(log_var)
                self.encodings[name] = (pixels, mu, sigma)
                self.draw_encoding(app, name, mu, sigma)
                self.encoded = (name, pixels)
        except encoder.ModelOutputError as error:
            self.status(app, f"This encoder's answer cannot be drawn: {error}", error=True)
        finally:
            self.encoding = False

    def draw_encoding(self, app, name, mu, sigma):
        plot = self.plot
        ellipses = plot.ellipses(distribution.contour_ellipses(mu, sigma))
        mx, my = plot.to_pixels(mu)
        lo, hi = plot.domain
        clamp = lambda v: min(1e5, max(-1e5, v))  # noqa: E731  (an encoding far off the axes stays drawable)
        app.dom.el("kl-encoding").innerHTML = "".join(
            element("ellipse", class_=f"ellipse k{k}", cx=clamp(cx), cy=clamp(cy), rx=clamp(rx), ry=clamp(ry))
            for k, (cx, cy, rx, ry) in reversed(list(zip((1, 2, 3), ellipses, strict=True)))
        ) + element("circle", class_="mu-point", r=4.0, cx=clamp(mx), cy=clamp(my))
        plot_el = app.dom.el("kl-plot")
        plot_el.setAttribute("data-mu", ",".join(repr(v) for v in mu))
        plot_el.setAttribute("data-sigma", ",".join(repr(v) for v in sigma))
        plot_el.setAttribute("data-encoded", name)
        inside = all(lo <= v <= hi for v in mu)
        plot_el.setAttribute(
            "aria-description",
            f"Your input is encoded at μ = ({num(mu[0], 2)}, {num(mu[1], 2)})"
            f" with σ = ({num(sigma[0], 3)}, {num(sigma[1], 3)})" + ("" if inside else ", outside these axes"),
        )

    async def decode(self, app, loaded, zs):
        ort = app.models.ort
        flat = array.array("f", [v for z in zs for v in z])
        tensor = ort.Tensor.new("float32", to_js(memoryview(flat)), to_js([len(zs), 2]))
        out = await loaded.decoder.run(jsobj({decoder.INPUT_NAME: tensor}))
        return app.models.decode_result(out, len(zs))
