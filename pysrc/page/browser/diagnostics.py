"""What a long session must keep bounded, counted for the soak test and the benchmark (window.vaeDiagnostics, which
main.py sets): Python objects, the app's event proxies, the wasm heap and the frames drawn."""

import gc
import json


def diagnostics(app):
    """The counts as JSON, for the page's JavaScript to read."""
    import pyodide_js  # when called, as it was in app.py: the snapshot holds this module with no JS reference

    return json.dumps(
        {
            "python_objects": len(gc.get_objects()),
            "event_proxies": len(app.proxies),
            "wasm_bytes": pyodide_js._module.HEAP8.length,
            "frames": app.frames,
        }
    )
