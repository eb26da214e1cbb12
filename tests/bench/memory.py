"""Memory: the wasm heap, JS heap and DOM after forced garbage collection, over a soak of mixed interactions, and
the PyProxy leak check."""

import time

from tests.bench.page_js import JS_MEMORY, JS_SOAK, JS_TRACE
from tests.bench.settings import MB, SETTLE_TIMEOUT_MS


def bench_memory(results, page, context, settings):
    section = f"memory over {settings['soak']:,} mixed interactions (after forced GC)"
    before = page.evaluate(JS_MEMORY)
    dom_before = dom_counters(page, context)
    t = time.perf_counter()
    counts, soak_ms, remaining, batch = {}, 0.0, settings["soak"], 0
    while remaining > 0:
        n = min(250, remaining)
        part = page.evaluate(JS_SOAK, {"count": n, "seed": 7 + batch, "timeoutMs": SETTLE_TIMEOUT_MS})
        for k, v in part["counts"].items():
            counts[k] = counts.get(k, 0) + v
        soak_ms += part["ms"]
        remaining -= n
        batch += 1
        if settings["soak"] >= 1000 and batch % 4 == 0:
            print(f"  soak: {settings['soak'] - remaining:,}/{settings['soak']:,}", flush=True)
    elapsed = time.perf_counter() - t
    page.wait_for_selector("html[data-busy=false]", state="attached", timeout=SETTLE_TIMEOUT_MS)
    after = page.evaluate(JS_MEMORY)
    dom_after = dom_counters(page, context)
    interactions = sum(counts.values())
    results.details["soak"] = {
        "before": before,
        "after": after,
        "dom_before": dom_before,
        "dom_after": dom_after,
        "counts": counts,
        "seconds": elapsed,
    }

    def delta(key, label, unit, a, b, scale=1.0):
        results.add(section, key, label, unit, [(b - a) * scale], kind="delta")

    delta("js_heap_growth", "JS heap growth (usedJSHeapSize)", "MB", before["js_heap"], after["js_heap"], 1 / MB)
    results.add(section, "js_heap_after", "  JS heap after", "MB", [after["js_heap"] / MB], kind="size")
    if before["wasm"] is not None and after["wasm"] is not None:
        delta("wasm_growth", "Pyodide wasm memory growth", "MB", before["wasm"], after["wasm"], 1 / MB)
        results.add(section, "wasm_after", "  Pyodide wasm memory after", "MB", [after["wasm"] / MB], kind="size")
        delta("hiwire_growth", "JS values held by Python (hiwire) growth", "count", before["hiwire"], after["hiwire"])
    else:
        results.add(section, "wasm_growth", "Pyodide wasm memory growth", "MB", [], why=before["why"] or after["why"])
    d0, d1 = before["diagnostics"], after["diagnostics"]
    if d0 and d1:
        delta("py_objects_growth", "Python objects growth", "count", d0["python_objects"], d1["python_objects"])
        delta("event_proxies_growth", "event-handler proxies growth", "count", d0["event_proxies"], d1["event_proxies"])
        frames = (d1["frames"] - d0["frames"]) / max(1, interactions)
        results.add(section, "frames_per_interaction", "frames run per interaction", "ratio", [frames], kind="count")
    else:
        results.note("window.vaeDiagnostics() is missing: Python object and frame counts were not measured")
    if dom_before and dom_after:
        for name, label in (("nodes", "DOM nodes growth"), ("jsEventListeners", "JS event listeners growth")):
            delta(f"dom_{name}_growth", label, "count", dom_before[name], dom_after[name])
    results.add(section, "soak_rate", "mixed interaction until idle, mean", "ms", [soak_ms / max(1, interactions)])

    try:
        page.evaluate(JS_TRACE, True)
        page.evaluate(JS_SOAK, {"count": settings["trace"], "seed": 99, "timeoutMs": SETTLE_TIMEOUT_MS})
        page.wait_for_selector("html[data-busy=false]", state="attached", timeout=SETTLE_TIMEOUT_MS)
        traced = page.evaluate(JS_TRACE, False)
    except Exception as error:  # an internal API that moved: report it, measure the rest
        why = f"Pyodide's PyProxy allocation tracing was unreachable: {str(error).splitlines()[0][:200]}"
        results.add(section, "pyproxies_left", "PyProxies never destroyed", "count", [], why=why)
    else:
        label = f"PyProxies never destroyed ({settings['trace']} more, traced)"
        results.add(section, "pyproxies_left", label, "count", [traced["left"]], kind="count")
        results.details["pyproxy_sites"] = traced["sites"]
        if traced["left"]:
            top = sorted(traced["sites"].items(), key=lambda kv: -kv[1])[:3]
            results.note("PyProxies left undestroyed, by creation site: " + "; ".join(f"{n}× {s}" for s, n in top))


def dom_counters(page, context):
    """Documents, DOM nodes and JS event listeners, from the DevTools protocol (Memory.getDOMCounters); None if
    the protocol refuses. (Runtime.queryObjects, which could list every WebAssembly.Memory, hangs on this page.)"""
    try:
        cdp = context.new_cdp_session(page)
        try:
            return cdp.send("Memory.getDOMCounters")
        finally:
            cdp.detach()
    except Exception:
        return None
