"""Browser adapter, part two: the optional views (details, source, loss, manifold, samples, interpolation),
exports, and the small helpers both adapter modules share (fetching files, plain JS objects).

Each view reads the app's current numbers and writes only when it is open; the maths stays in the core.
"""

import asyncio
import json
from html import escape

import js
from pyodide.ffi import create_proxy, to_js

import code_panel
import decoder
import graph
import latent_plot
import live_code
import loss
import narrate
import sample
from svg import element, num

MANIFOLD_GRID = 20
SETTLE_MS = 500  # quiet time after the last frame before the page speaks: a drag or a stroke is one announcement
SAMPLE_COUNT = 16
INTERP_FRAMES = 8


class LoadError(RuntimeError):
    """A file the page needs that is missing or broken; the message names it."""


async def fetch_bytes(path):
    try:
        response = await js.fetch(path)
    except Exception as error:
        raise LoadError(f"{path} could not be fetched ({error})") from None
    if not response.ok:
        raise LoadError(f"{path} is missing (the server answered {response.status})")
    return (await response.arrayBuffer()).to_py().tobytes()


async def fetch_text(path):
    return (await fetch_bytes(path)).decode("utf-8")


async def import_vendored(*paths):
    """ES modules from web/vendor, imported when first needed rather than at boot (fewer bytes before ready)."""
    from pyscript import js_import

    base = js.URL.new("./vendor/", js.location.href).href
    return tuple(await js_import(*(base + path for path in paths)))


async def import_on_demand(*names):
    """Modules of a view that loads only when it is first opened (pysrc/<name>.py, left out of pyscript.json so
    that neither the start nor the snapshot carries them): fetched, written beside the page's other modules, and
    imported like them."""
    import importlib
    import sys
    from pathlib import Path

    missing = [name for name in names if name not in sys.modules]
    sources = await asyncio.gather(*(fetch_text(f"pysrc/{name}.py") for name in missing))
    folder = Path(sys.modules[__name__].__file__).parent
    for name, source in zip(missing, sources, strict=True):
        (folder / f"{name}.py").write_text(source, encoding="utf-8")
    importlib.invalidate_caches()
    return tuple(importlib.import_module(name) for name in names)


async def onnx_session(ort, url, data):
    """An onnxruntime-web session from a model's bytes, or a LoadError naming the file."""
    try:
        return await ort.InferenceSession.create(to_js(memoryview(data)), jsobj({"executionProviders": ["wasm"]}))
    except Exception as error:
        raise LoadError(f"{url} is not a valid ONNX model ({str(error).splitlines()[0][:200]})") from None


def jsobj(mapping):
    """A Python dict as a plain JS object (not a Map), which is what browser and library APIs expect."""
    return to_js(mapping, dict_converter=js.Object.fromEntries)


def download(filename, url):
    link = js.document.createElement("a")
    link.href = url
    link.download = filename
    link.click()


class Magnifier:
    """The zoom around μ under the numbers; its map points change only when μ or σ do."""

    def __init__(self):
        self.window = None
        self.index = None  # the map's points on a grid: a new μ (every drawing frame) visits only those near it
        self.indexing = None  # the points an index is being built for

    def render(self, app):
        if app.mu is None:
            return
        zoom = latent_plot.Zoom(app.mu, app.sigma)
        key = (tuple(app.mu), zoom.half)
        if key != self.window and app.map_mu is not None:
            self.window = key
            index = self.index if self.index is not None and self.index.points is app.map_mu else None
            if index is None and self.indexing is not app.map_mu:
                # Built just after this frame rather than in it: the first view does not wait for it.
                self.indexing = app.map_mu
                asyncio.get_event_loop().call_later(0.05, self.build_index, app.map_mu)
            markup = zoom.scatter_markup(app.map_mu, app.map_labels, index=index)
            app.dom.el("zoom-scatter").innerHTML = markup
            app.dom.text("zoom-caption", f"around μ, magnified ×{num(zoom.k / app.plot.x.k, 0)}")
        app.dom.el("zoom-overlay").innerHTML = zoom.overlay_markup(app.sigma, app.z)

    def build_index(self, points):
        self.index = latent_plot.PointIndex(points)

    def index_for(self, points):
        """The grid index of the map, built now if the one scheduled after the first frame has not run yet."""
        if self.index is None or self.index.points is not points:
            self.build_index(points)
        return self.index


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


class Manifold:
    """The latent plot's background painted with decoded digits, decoded once in one batched call."""

    def __init__(self):
        self.url = None

    async def show(self, app, on):
        plot_el = app.dom.el("latent-plot")
        if not on:
            plot_el.classList.remove("manifold-on")
            app.dom.el("manifold-layer").innerHTML = ""
            return
        if app.models.decoder is None:
            return
        if self.url is None:
            zs = decoder.grid_points(app.plot.domain, MANIFOLD_GRID)
            images = await app.models.decode(zs)
            size = MANIFOLD_GRID * 28
            canvas = app.dom.el("manifold-canvas")
            canvas.width = canvas.height = size
            app.paint_rgba("manifold-canvas", decoder.tile_rgba(images, MANIFOLD_GRID), size, size)
            self.url = canvas.toDataURL("image/png")
        left, top, size, _ = app.plot.area
        app.dom.el("manifold-layer").innerHTML = element(
            "image", id="manifold-image", href=self.url, x=left, y=top, width=size, height=size, opacity=0.85
        )
        plot_el.classList.add("manifold-on")
        plot_el.setAttribute("data-manifold-grid", str(MANIFOLD_GRID))


class Samples:
    """Many draws from q(z|x) at once: dots on the plot and a strip of their decodings."""

    def zs(self, app):
        if "samples" not in app.state.panels or app.mu is None:
            return []
        return [
            app.maths.call("reparameterize", app.mu, app.sigma, sample.draw_epsilon(app.state.seed * 7919 + k))
            for k in range(SAMPLE_COUNT)
        ]

    def render(self, app, zs, images):
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


class Interpolation:
    """The straight path between the μ of two inputs, eight decodings along it, and a slider that moves z."""

    def __init__(self):
        self.frames_for = None
        self.drawn = None  # (panel open, endpoints) last drawn: the path only changes when they do

    def render(self, app):
        """A generator, run within the app's frame: it yields onnxruntime's promise when the strip needs decoding."""
        ends = app.state.interpolate
        shown = ("interpolate" in app.state.panels and bool(ends), ends and [list(e) for e in ends])
        if shown == self.drawn:
            return
        self.drawn = shown
        layer = app.dom.el("interp-layer")
        if not shown[0]:
            layer.innerHTML = ""
            return
        a, b = ends
        layer.innerHTML = latent_plot.path_markup(app.plot, a, b)
        layer.setAttribute("data-a", f"{a[0]!r},{a[1]!r}")
        layer.setAttribute("data-b", f"{b[0]!r},{b[1]!r}")
        if self.frames_for != ends and app.models.decoder is not None:
            self.frames_for = [list(a), list(b)]
            zs = decoder.lerp_path(a, b, INTERP_FRAMES)
            app.paint_strip("interp-strip", app.models.decode_result((yield app.models.decode_run(zs)), len(zs)))
        app.dom.text("interp-status", "Drag the slider to move z from A to B along the straight path.")

    def set_end(self, app, which):
        if app.mu is None:
            return
        ends = app.state.interpolate or [list(app.mu), list(app.mu)]
        ends[which] = list(app.mu)
        app.state.interpolate = ends

    def slide(self, app, t):
        if app.state.interpolate:
            (a, b), t = app.state.interpolate, t / 1000
            app.pin([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t])


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


class Details:
    """The annotated Keras code beside the live computational graph, each lighting up the other."""

    def __init__(self):
        self.built = self.building = False

    async def build(self, app):
        """Fetch the real training code once, highlight it, typeset its maths, and draw the graph skeleton."""
        if self.building or self.built:
            return
        self.building = True
        hljs, hljs_python, katex = await import_vendored("hljs/core.mjs", "hljs/python.js", "katex/katex.mjs")

        highlighter = hljs.default
        highlighter.registerLanguage("python", hljs_python.default)
        options = jsobj({"language": "python", "ignoreIllegals": True})
        math_options = jsobj({"throwOnError": False})
        lines = app.dom.el("code-lines")
        try:
            plan = code_panel.render_plan(code_panel.extract(await fetch_text(code_panel.SOURCE)))
        except Exception as error:  # a missing file or a renamed function: say which, keep the graph
            lines.innerHTML = f'<p class="message error">{escape(str(error))}</p>'
            plan = []
        html, previous = [], None
        for line in plan:
            if previous is not None and line["snippet"] != previous:
                html.append('<div class="code-gap"></div>')
            previous = line["snippet"]
            body = []
            for kind, text in line["segments"]:
                if kind == "code":
                    body.append(highlighter.highlight(text, options).value)
                elif kind == "math":
                    body.append(katex.default.renderToString(text, math_options))
                else:
                    body.append(f'<span class="comment">{escape(text)}</span>')
            parts = " ".join(line["parts"])
            html.append(
                f'<div class="code-line" data-parts="{parts}" data-source="{escape(line["text"])}" tabindex="0">'
                f'<span class="ln">{line["number"]}</span><span>{"".join(body)}</span></div>'
            )
        if plan:
            lines.innerHTML = "".join(html)
        view_box, markup = graph.graph_markup()
        svg = app.dom.el("graph")
        svg.setAttribute("viewBox", view_box)
        svg.innerHTML = markup
        app.dom.el("story").innerHTML = graph.annotations_markup()
        for node in js.document.querySelectorAll("#details .code-line, #graph [data-part]"):
            parts = node.getAttribute("data-parts") or node.getAttribute("data-part") or ""
            for name in ("mouseenter", "focus"):
                app.on(node, name, lambda e, parts=parts: self.link(app, parts.split()))
            for name in ("mouseleave", "blur"):
                app.on(node, name, lambda e: self.link(app, []))
        self.built = True

    def link(self, app, parts):
        """Light up everything that belongs to these parts (code lines, graph groups, story steps), dim the rest."""
        root = app.dom.el("details")
        wanted = set(parts)
        root.classList.toggle("linked", bool(wanted))
        for node in root.querySelectorAll(".code-line, [data-part], .annotation, .story li"):
            own = node.getAttribute("data-parts") or node.getAttribute("data-part") or ""
            node.classList.toggle("lit", bool(wanted & set(own.split())))

    def render(self, app):
        if "details" not in app.state.panels or not self.built or app.mu is None:
            return
        updates = graph.graph_updates(app.mu, app.log_var, app.sigma, app.epsilon, app.z)
        for (element_id, name), value in updates.items():
            if name == "text":
                app.dom.text(element_id, value)
            else:
                app.dom.attr(element_id, name, value)


async def typeset_article():
    """The article's TeX, typeset with KaTeX; until then (or without it) the TeX source stays readable."""
    (katex,) = await import_vendored("katex/katex.mjs")
    for node in js.document.querySelectorAll("#article .math"):
        display = node.classList.contains("display")
        options = jsobj({"throwOnError": False, "displayMode": display})
        node.innerHTML = katex.default.renderToString(node.textContent, options)
        node.classList.add("typeset")


def when_visible(element, start):
    """Run `start()` once the element comes near the viewport: the article's maths and fonts load only if read."""

    def seen(entries, observer):
        if any(entry.isIntersecting for entry in entries):
            observer.disconnect()
            callback.destroy()
            start()

    callback = create_proxy(seen)
    js.IntersectionObserver.new(callback, jsobj({"rootMargin": "200px"})).observe(element)


STORY_ORDER = ["digit_input", "encoder", "distribution", "sample", "decoder", "loss", "quantizer"]
SAVED_CODE = "vae-explainer:code"
EDITOR_LABEL = "Source of the module in the selected tab (editable ones run when you press Apply)"
# CodeMirror's default colours under 4.5:1 against the editor's white or its active line (f-strings, invalid text,
# type names), darkened; every other colour of its default highlight style is kept.
DARKER = {"#e40": "#b83000", "#f00": "#c00", "#085": "#074"}


def readable_highlighting(language):
    """CodeMirror's default highlight style with the DARKER colours: it then replaces the default one."""
    specs = js.Array.new()
    for spec in language.defaultHighlightStyle.specs:
        color = getattr(spec, "color", None)
        if color in DARKER:
            spec = js.Object.assign(js.Object.new(), spec, jsobj({"color": DARKER[color]}))
        specs.push(spec)
    return language.syntaxHighlighting(language.HighlightStyle.define(specs))


class SourcePanel:
    """The page's own modules in CodeMirror; the maths modules can be edited and applied live.

    A view's module that loads on demand (quantizer.py) has its tab from the start; picking it loads it.
    """

    def __init__(self):
        self.view = None
        self.modules = {}  # name → the text the page loaded
        self.drafts = {}  # name → the text in the editor, kept when switching tabs
        self.current = None
        self.wanted = None  # the tab picked last, which may still be loading
        self.loading = None
        self.shown_error = None

    def restore(self, app):
        """Re-apply this browser's saved edits; a link's edits are only offered, never run without Apply."""
        try:
            saved = json.loads(js.localStorage.getItem(SAVED_CODE) or "{}")
        except Exception:
            saved = {}
        for module, source in (saved if isinstance(saved, dict) else {}).items():
            try:
                app.maths.apply(module, source)
                self.drafts[module] = source
            except (live_code.EditError, KeyError, ValueError, TypeError):
                pass
        offered = {m: src for m, src in app.state.code.items() if app.maths.sources().get(m) != src}
        self.drafts.update(offered)
        app.state.code = app.maths.sources()
        self.show_marker(app)
        return sorted(offered)

    def names(self):
        from pathlib import Path

        found = sorted({p.stem for p in Path(".").glob("*.py")} | set(live_code.MODULES))
        ordered = [n for n in STORY_ORDER if n in found] + [n for n in found if n not in STORY_ORDER]
        return [*ordered, "main"]

    async def build(self, app):
        if self.view is not None:
            return
        from pyscript.js_modules import pyscript_core

        codemirror = pyscript_core.codemirror
        core, python, language = await codemirror.core, await codemirror.python, await codemirror.language
        tabs = []
        for name in self.names():
            if name == "main":
                self.modules[name] = await fetch_text("pysrc/main.py")
            elif name in app.maths.original_sources or name not in live_code.MODULES:  # else loaded when picked
                with open(f"{name}.py", encoding="utf-8") as handle:
                    self.modules[name] = handle.read()
            editable = " editable" if name in live_code.MODULES else ""
            tabs.append(
                f'<button type="button" role="tab" class="{editable.strip()}" data-module="{name}"'
                f' aria-selected="false">{name}.py</button>'
            )
        app.dom.el("source-tabs").innerHTML = "".join(tabs)
        for button in js.document.querySelectorAll("#source-tabs button"):
            app.on(button, "click", lambda e: self.select(app, e.currentTarget.dataset.module))
        app.on(app.dom.el("apply-button"), "click", lambda e: self.apply(app))
        app.on(app.dom.el("reset-button"), "click", lambda e: self.reset(app))
        # A name for the text box, and a tabindex that says outright that the scrolled content takes focus.
        content = core.EditorView.contentAttributes.of(jsobj({"aria-label": EDITOR_LABEL, "tabindex": "0"}))
        options = {
            "doc": "",
            "extensions": to_js([core.basicSetup, python.python(), readable_highlighting(language), content]),
            "parent": app.dom.el("source-editor"),
        }
        self.view = core.EditorView.new(jsobj(options))
        self.select(app, next(iter(self.drafts), "sample"))

    def text(self):
        return self.view.state.doc.toString()

    def set_text(self, text):
        change = {"from": 0, "to": self.view.state.doc.length, "insert": text}
        self.view.dispatch(jsobj({"changes": change}))

    def select(self, app, name):
        self.wanted = name
        if name not in self.modules:
            self.loading = asyncio.ensure_future(self.load(app, name))
            return
        if self.current is not None:
            self.drafts[self.current] = self.text()
        self.current = name
        self.set_text(self.drafts.get(name, self.modules[name]))
        for button in js.document.querySelectorAll("#source-tabs button"):
            button.setAttribute("aria-selected", "true" if button.dataset.module == name else "false")
        editable = name in live_code.MODULES
        app.dom.el("apply-button").disabled = not editable
        app.dom.el("reset-button").disabled = not editable
        link = app.dom.el("repo-link")
        link.href = link.textContent = f"pysrc/{name}.py"
        self.update_download(app)
        self.show_error(app, None)

    async def load(self, app, name):
        """A module of a view not opened yet: fetched and imported as the view would, then shown."""
        try:
            await import_on_demand(name)
        except LoadError as error:
            app.message(f"{name}.py could not be loaded: {error}", error=True)
            return
        app.maths.load(name)
        self.modules[name] = app.maths.original_sources[name]
        if self.wanted == name:
            self.select(app, name)

    def update_download(self, app):
        if self.view is None:  # the panel was never opened: nothing to download yet
            return
        link = app.dom.el("download-module")
        if link.href.startswith("blob:"):
            js.URL.revokeObjectURL(link.href)
        options = jsobj({"type": "text/x-python"})
        link.href = js.URL.createObjectURL(js.Blob.new(to_js([self.text()]), options))
        link.download = f"{self.current}.py"

    def apply(self, app):
        source = self.text()
        self.drafts[self.current] = source
        try:
            app.maths.apply(self.current, source)
        except live_code.EditError as error:
            self.show_error(app, error)
            return
        self.show_error(app, None)
        self.saved(app)
        app.request(encode=False)

    def reset(self, app):
        app.maths.reset(self.current)
        self.drafts[self.current] = self.modules[self.current]
        self.set_text(self.modules[self.current])
        self.show_error(app, None)
        self.saved(app)
        app.request(encode=False)

    def saved(self, app):
        """Persist what runs now (local storage and the URL) and update the marker."""
        app.state.code = app.maths.sources()
        js.localStorage.setItem(SAVED_CODE, json.dumps(app.state.code))
        app.write_hash()
        self.show_marker(app)
        self.update_download(app)

    def show_marker(self, app):
        edited = bool(app.maths.edited)
        js.document.documentElement.dataset.edited = "true" if edited else "false"
        marker = app.dom.el("edited-marker")
        marker.hidden = not edited
        marker.textContent = "edited code in use: " + ", ".join(f"{m}.py" for m in sorted(app.maths.edited))

    def show_error(self, app, error):
        box = app.dom.el("source-error")
        box.hidden = error is None
        if error is None:
            return
        where = f"Line {error.line}: " if error.line else ""
        box.textContent = f"{where}{error.message} The page keeps running on the last good code."
        box.setAttribute("data-line", str(error.line or ""))
        if error.line and self.view is not None and error.module == self.current:
            line = self.view.state.doc.line(min(error.line, self.view.state.doc.lines))
            selection = {"anchor": line.from_, "head": line.to}
            self.view.dispatch(jsobj({"selection": selection, "scrollIntoView": True}))

    def check_runtime(self, app):
        """An edit that passed Apply but failed on a real input was dropped by the registry: say so."""
        error = app.maths.last_error
        if error is None or error is self.shown_error:
            return
        self.shown_error = error
        app.message(f"Edited {error.module}.py failed and was set aside: {error.message}", error=True)
        if self.view is not None and error.module == self.current:
            self.show_error(app, error)
        self.saved(app)
