"""The page's entry point, run by PyScript: create the app, give the page the callbacks it needs, and start it.

The app itself (app.py), the pure core and the views are modules the Python snapshot holds already imported.
"""

import asyncio

import js
from pyodide.ffi import create_proxy

from page.browser.app import App, FrameError
from page.browser.diagnostics import diagnostics

js.document.documentElement.dataset.pyStarted = "true"
js.performance.mark("vae:python-started")

app = App()
app.frame_proxy = create_proxy(app.on_frame)
app.start_proxy = create_proxy(app.run_frame)
app.pause_proxy = create_proxy(app.on_pause_frame)
app.resume_proxy = create_proxy(lambda value: app.advance(value))
app.fail_proxy = create_proxy(lambda error: app.advance(error=FrameError(f"onnxruntime failed: {error}")))
js.window.vaeDiagnostics = create_proxy(lambda: diagnostics(app))
app.task = asyncio.ensure_future(app.start())
