"""The Source panel: the page's own Python in CodeMirror. The maths modules (and the VQ-VAE's quantiser) can be
edited and applied live; live_code checks every edit and runs it under a budget, and this module keeps the
editor, the saved edits (local storage and the URL) and the messages.
"""

import asyncio
import json

import js
from pyodide.ffi import to_js

from live import edits as live_code
from page.browser.views import LoadError, bring_into_view, fetch_text, import_on_demand, jsobj
from page.svg import num

# One tab per story (pysrc/'s packages), then that story's modules; the pipeline's in the order the data flows.
STORIES = {
    "vae": "VAE",
    "vq": "VQ-VAE",
    "kl": "KL",
    "train": "Training",
    "live": "Live code",
    "page": "Page",
    "": "main.py",
}
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


def story_of(module):
    """The story (pysrc/'s package) a module belongs to; main.py stands alone."""
    return module.partition(".")[0] if "." in module else ""


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
        for key, source in (saved if isinstance(saved, dict) else {}).items():
            module = live_code.module_key(key)
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
        """The page's modules by story; on-demand ones only once loaded, except the editable ones, whose tabs load
        them."""
        from pathlib import Path

        found = {
            ".".join(path.with_suffix("").parts)
            for story in STORIES
            if story
            for path in Path(story).rglob("*.py")
            if path.name != "__init__.py"
        } | set(live_code.MODULES)
        rank = {name: i for i, name in enumerate(STORY_ORDER)}
        ordered = sorted(
            found,  # by story, its pure core before its browser adapter, the pipeline in order, then by name
            key=lambda n: (list(STORIES).index(story_of(n)), ".browser." in n, rank.get(n.rpartition(".")[2], 99), n),
        )
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
        stories, tabs = {}, []
        for name in self.names():
            if name == "main":
                self.modules[name] = await fetch_text("pysrc/main.py")
            elif name in app.maths.original_sources or name not in live_code.MODULES:  # else loaded when picked
                with open(live_code.module_file(name), encoding="utf-8") as handle:
                    self.modules[name] = handle.read()
            story = story_of(name)
            stories.setdefault(story, name)
            editable = " editable" if name in live_code.MODULES else ""
            tabs.append(
                f'<button type="button" role="tab" class="{editable.strip()}" data-module="{name}"'
                f' data-story="{story}" aria-selected="false" hidden>{name.rpartition(".")[2]}.py</button>'
            )
        app.dom.el("source-stories").innerHTML = "".join(
            f'<button type="button" role="tab" data-story="{story}" data-first="{first}" aria-selected="false">'
            f"{STORIES[story]}</button>"
            for story, first in stories.items()
        )
        app.dom.el("source-tabs").innerHTML = "".join(tabs)
        for button in js.document.querySelectorAll("#source-stories button"):
            app.on(button, "click", lambda e: self.select(app, e.currentTarget.dataset.first))
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
        self.select(app, next(iter(self.drafts), "vae.sample"))

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
        story = story_of(name)
        for button in js.document.querySelectorAll("#source-stories button"):
            button.setAttribute("aria-selected", "true" if button.dataset.story == story else "false")
        for button in js.document.querySelectorAll("#source-tabs button"):
            button.setAttribute("aria-selected", "true" if button.dataset.module == name else "false")
            button.hidden = button.dataset.story != story
        editable = name in live_code.MODULES
        app.dom.el("apply-button").disabled = not editable
        app.dom.el("reset-button").disabled = not editable
        link = app.dom.el("repo-link")
        link.href = link.textContent = f"pysrc/{live_code.module_file(name)}"
        self.update_download(app)
        self.show_error(app, None)

    async def load(self, app, name):
        """A module of a view not opened yet: fetched and imported as the view would, then shown."""
        try:
            await import_on_demand(name)
        except LoadError as error:
            app.message(f"{live_code.module_file(name)} could not be loaded: {error}", error=True)
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
        link.download = self.current.rpartition(".")[2] + ".py"

    def apply(self, app):
        source = self.text()
        self.drafts[self.current] = source
        try:
            app.maths.apply(self.current, source)
        except live_code.EditError as error:
            self.show_error(app, error)
            bring_into_view(app.dom.el("source-error"))
            return
        self.show_error(app, None)
        self.saved(app)
        app.request(encode=False)
        bring_into_view(app.dom.el("source-live"))  # what the press changed: the numbers and the picture

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
        marker.textContent = "edited code in use: " + ", ".join(
            live_code.module_file(m) for m in sorted(app.maths.edited)
        )

    def show_error(self, app, error):
        box = app.dom.el("source-error")
        box.hidden = error is None
        if error is None:
            return
        where = f"Line {error.line}: " if error.line else ""
        # The line leads the sentence, so the message's own " on line N" or " (line N)" would say it twice.
        message = error.message
        for said in (f" on line {error.line}", f" (line {error.line})") if error.line else ():
            message = message.replace(said, "", 1)
        box.textContent = f"{where}{message.rstrip('.')}. The page keeps running on the last good code."
        box.setAttribute("data-line", str(error.line or ""))
        if error.line and self.view is not None and error.module == self.current:
            line = self.view.state.doc.line(min(error.line, self.view.state.doc.lines))
            selection = {"anchor": line.from_, "head": line.to}
            self.view.dispatch(jsobj({"selection": selection, "scrollIntoView": True}))

    def render(self, app):
        """What the code in use computes, beside Apply (the pipeline is far above it); and an edit that passed Apply
        but failed on a real input was dropped by the registry: say so."""
        if "source" in app.state.panels and app.mu is not None:
            app.dom.text(
                "source-result",
                "  ".join(
                    f"{name} = ({num(v[0], 3)}, {num(v[1], 3)})"
                    for name, v in (("μ", app.mu), ("σ", app.sigma), ("ε", app.epsilon), ("z", app.z))
                ),
            )
            if app.x_hat is not None:
                app.put_image("source-reconstruction", app.x_hat)
        error = app.maths.last_error
        if error is None or error is self.shown_error:
            return
        self.shown_error = error
        app.message(
            f"Edited {live_code.module_file(error.module)} failed and was set aside: {error.message}", error=True
        )
        if self.view is not None and error.module == self.current:
            self.show_error(app, error)
        self.saved(app)
