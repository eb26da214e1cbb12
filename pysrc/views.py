"""What every view shares: the interface, and the small helpers the adapters use (fetching and checking files,
loading a view's modules or a vendored library on demand, plain JS objects).

A view is one module, `<name>_view.py`, with one class that reads the app's current numbers and writes only its own
part of the page; the maths stays in the pure core. The app calls, where the view has them:
- `render(app)` at the end of every frame, with the frame's numbers (μ, σ, ε, z, x̂ …) on `app`;
- `show(app, on)` when its panel is opened or closed (the first opening may load what the view needs);
- `open(app)` and `update(app)` for views whose modules load only when first opened (app.ON_DEMAND).
"""

import asyncio
import json

import js
from pyodide.ffi import create_proxy, to_js

import code_panel
import live_code


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


async def code_html(plan):
    """A details view's code lines (code_panel.render_plan) as HTML: highlight.js for the code, KaTeX for the maths
    in its comments, both imported when a details view is first opened."""
    hljs, hljs_python, katex = await import_vendored("hljs/core.mjs", "hljs/python.js", "katex/katex.mjs")
    highlighter = hljs.default
    highlighter.registerLanguage("python", hljs_python.default)
    options = jsobj({"language": "python", "ignoreIllegals": True})
    math_options = jsobj({"throwOnError": False})
    return code_panel.lines_html(
        plan,
        lambda code: highlighter.highlight(code, options).value,
        lambda tex: katex.default.renderToString(tex, math_options),
    )


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


class Dom:
    """Cached element lookups and writes that skip unchanged values (DOM writes are the expensive part)."""

    def __init__(self):
        self.elements = {}
        self.written = {}

    def el(self, element_id):
        node = self.elements.get(element_id)
        if node is None:
            node = js.document.getElementById(element_id)
            if node is not None:
                self.elements[element_id] = node
        return node

    def text(self, element_id, value):
        if self.written.get((element_id, "text")) != value:
            self.written[(element_id, "text")] = value
            self.el(element_id).textContent = value

    def attr(self, element_id, name, value):
        if self.written.get((element_id, name)) != value:
            self.written[(element_id, name)] = value
            self.el(element_id).setAttribute(name, value)


def jsobj(mapping):
    """A Python dict as a plain JS object (not a Map), which is what browser and library APIs expect."""
    return to_js(mapping, dict_converter=js.Object.fromEntries)


def download(filename, url):
    link = js.document.createElement("a")
    link.href = url
    link.download = filename
    link.click()


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

    async def show(self, app, on):
        if on:
            await self.build(app)

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

    def render(self, app):
        """An edit that passed Apply but failed on a real input was dropped by the registry: say so."""
        error = app.maths.last_error
        if error is None or error is self.shown_error:
            return
        self.shown_error = error
        app.message(f"Edited {error.module}.py failed and was set aside: {error.message}", error=True)
        if self.view is not None and error.module == self.current:
            self.show_error(app, error)
        self.saved(app)
