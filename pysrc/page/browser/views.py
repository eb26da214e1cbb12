"""What every view shares: the interface, and the small helpers the adapters use (fetching and checking files,
loading a view's modules or a vendored library on demand, plain JS objects).

A view is one module, `<name>_view.py`, with one class that reads the app's current numbers and writes only its own
part of the page; the maths stays in the pure core. The app calls, where the view has them:
- `render(app)` at the end of every frame, with the frame's numbers (μ, σ, ε, z, x̂ …) on `app`;
- `show(app, on)` when its panel is opened or closed (the first opening may load what the view needs);
- `open(app)` and `update(app)` for views whose modules load only when first opened (app.ON_DEMAND), and
  `close(app)` when such a view's panel closes.
"""

import asyncio

import js
from pyodide.ffi import create_proxy, jsnull, to_js

from page import code_panel


def found(value):
    """A DOM lookup's result, or None where it found nothing. Pyodide hands JS `null` over as `jsnull`, which is
    not None (only `undefined` is), so `is None` alone misses what closest(), querySelector(), elementFromPoint()
    and getElementById() return when nothing matches."""
    return None if value is None or value is jsnull else value


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
    # A comment's fraction is set at the code's own size (its numerals would be 0.7 of it): readable, one line taller.
    math_options = jsobj({"throwOnError": False, "macros": {"\\tfrac": "\\dfrac"}})
    return code_panel.lines_html(
        plan,
        lambda code: highlighter.highlight(code, options).value,
        lambda tex: katex.default.renderToString(tex, math_options),
    )


async def import_on_demand(*names):
    """Modules of a view that loads only when it is first opened (left out of pyscript.json so that neither the
    start nor the snapshot carries them): fetched with their packages' __init__.py, written where PyScript writes
    the page's other modules, and imported like them. `kl.browser.view` is pysrc/kl/browser/view.py."""
    import importlib
    import sys
    from pathlib import Path

    wanted = {}
    for name in names:
        parts = name.split(".")
        for i in range(1, len(parts)):
            wanted.setdefault(".".join(parts[:i]), "/".join(parts[:i]) + "/__init__.py")
        wanted[name] = "/".join(parts) + ".py"
    missing = {name: path for name, path in wanted.items() if name not in sys.modules}
    sources = await asyncio.gather(*(fetch_text(f"pysrc/{path}") for path in missing.values()))
    home = Path(sys.modules["page"].__file__).parent.parent
    for path, source in zip(missing.values(), sources, strict=True):
        (home / path).parent.mkdir(parents=True, exist_ok=True)
        (home / path).write_text(source, encoding="utf-8")
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
        self.texts = {}  # element id → its Text node, once text() has written it

    def el(self, element_id):
        node = self.elements.get(element_id)
        if node is None:
            node = found(js.document.getElementById(element_id))
            if node is not None:
                self.elements[element_id] = node
        return node

    def text(self, element_id, value):
        """The element's text. After the first write, the element's Text node changes in place: no node is
        replaced, so the browser has less to redo, and this runs for several numbers on every frame."""
        if self.written.get((element_id, "text")) != value:
            self.written[(element_id, "text")] = value
            node = self.texts.get(element_id)
            if node is None:
                element = self.el(element_id)
                element.textContent = value
                self.texts[element_id] = found(element.firstChild)
            elif value:
                node.data = value
            else:  # an empty Text node would be kept; textContent = "" leaves none, as before
                self.texts.pop(element_id)
                self.el(element_id).textContent = value

    def attr(self, element_id, name, value):
        if self.written.get((element_id, name)) != value:
            self.written[(element_id, name)] = value
            self.el(element_id).setAttribute(name, value)

    def forget(self):
        """After markup was drawn anew: look every element up again, and write every value again."""
        self.elements.clear()
        self.written.clear()
        self.texts.clear()


class Runner:
    """An onnxruntime session's run whose promise comes back as a plain JS promise: session.run as a property read
    with its argument in a JS array. (A call from Python would wrap it in an asyncio future, whose callbacks wait a
    browser task each.)"""

    def __init__(self, session):
        self.session = session
        self.args = js.Array.new()
        self.holder = js.Object.new()
        getter = js.Reflect.apply.bind(None, session.run, session, self.args)
        js.Object.defineProperty(self.holder, "promise", jsobj({"get": getter}))

    def run(self, feeds):
        """Start a run on `feeds` (a JS object): onnxruntime's promise of its outputs."""
        self.args[0] = feeds
        return self.holder.promise


def jsobj(mapping):
    """A Python dict as a plain JS object (not a Map), which is what browser and library APIs expect."""
    return to_js(mapping, dict_converter=js.Object.fromEntries)


def download(filename, url):
    link = js.document.createElement("a")
    link.href = url
    link.download = filename
    link.click()


class InView:
    """Which stories have a part in the viewport, from one IntersectionObserver: `seen(story)` is True until the
    browser first says otherwise."""

    def __init__(self, stories):
        self.parts = {}  # story → its parts in view (absent until the observer's first report)
        self.callback = create_proxy(self.report)
        observer = js.IntersectionObserver.new(self.callback)
        for story, selector in stories.items():
            for k, part in enumerate(js.document.querySelectorAll(selector)):
                part.dataset.story = story
                part.dataset.storyPart = str(k)
                observer.observe(part)

    def report(self, entries, observer):
        for entry in entries:
            parts = self.parts.setdefault(entry.target.dataset.story, set())
            if entry.isIntersecting:
                parts.add(entry.target.dataset.storyPart)
            else:
                parts.discard(entry.target.dataset.storyPart)

    def seen(self, story):
        parts = self.parts.get(story)
        return parts is None or bool(parts)


def bring_into_view(element, share=0.6):
    """Scroll an element that a control just changed into view, unless `share` of it (or of the viewport, for a
    tall one) is on screen already: what a press changed is seen without a hunt for it."""
    box = element.getBoundingClientRect()
    height = js.window.innerHeight
    shown = max(0, min(box.bottom, height) - max(box.top, 0))
    if shown >= share * min(box.height, height):
        return
    still = js.matchMedia("(prefers-reduced-motion: reduce)").matches
    element.scrollIntoView(jsobj({"behavior": "auto" if still else "smooth", "block": "start"}))
