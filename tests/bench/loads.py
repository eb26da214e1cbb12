"""Page loads: cold and warm loads in fresh browser contexts, their milestones, bytes on the wire and long
frames, and the cold load's breakdown by segment."""

import re
import statistics
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.bench.page_js import JS_LOAD_INIT, JS_LOAD_RESULT
from tests.bench.results import columns, ratio
from tests.bench.settings import MB, READY_TIMEOUT_MS, VIEWPORT, VQ_FILES
from tests.bench.targets import sitemap_module
from tests.conftest import REPO

# The cold load's milestones in page order: (point, performance mark or None, segment label that ends there).
BREAKDOWN = (
    ("wasm-start", None, "before the Pyodide wasm request (HTML, scripts)"),
    ("wasm-ready", "vae:wasm-ready", "Pyodide wasm fetch + compile"),
    ("interpreter-ready", "vae:interpreter-ready", "interpreter start"),
    ("pyscript-ready", "vae:pyscript-ready", "PyScript's own start"),
    ("python-started", "vae:python-started", "importing our modules"),
    ("models-ready", "vae:models-ready", "models ready (after Python started; 0 if earlier)"),
    ("first-frame", "vae:first-frame", "first frame"),
    ("data-ready", "data-ready", "first frame → data-ready"),
)
WASM_PATH = "/vendor/pyodide/pyodide.asm.wasm"


def load_segments(marks, resources):
    """One cold load's breakdown: [{key, label, ms, missing, fallback}] per segment (ms None and `missing` naming
    the mark when a mark is missing; `fallback` saying what stood in for one), then one merged row per run of
    missing marks (from the last point seen to the next: "not split"), then the end to end.

    Points come from the page's performance marks (vae:*), except: the wasm request's start from resource
    timing, and vae:wasm-ready falls back to the wasm's responseEnd (download only, not compile) when missing.
    models-ready counts from python-started (0 if the models were ready first)."""
    wasm = next((r for r in resources if r["name"] == WASM_PATH), None)
    points, labels, fallback = {}, {}, None
    for point, mark, label in BREAKDOWN:
        labels[point] = label
        if point == "wasm-start":  # navigation start when the wasm was not fetched (then the segment is 0)
            points[point] = wasm["start"] if wasm else 0.0
        elif mark in marks:
            points[point] = marks[mark]
        elif point == "wasm-ready" and wasm and wasm.get("end"):
            points[point] = wasm["end"]
            fallback = "download only: no vae:wasm-ready mark"
        else:
            points[point] = None
    if points["models-ready"] is not None and points["python-started"] is not None:
        points["models-ready"] = max(points["models-ready"], points["python-started"])
    rows, merged, gap, previous = [], [], 0, ("navigation", 0.0)
    for point, mark, _ in BREAKDOWN:
        t = points[point]
        missing = mark if t is None else "an earlier mark" if gap else None
        rows.append({"key": point, "label": labels[point], "ms": None if missing else t - previous[1],
                     "missing": missing, "fallback": fallback if point == "wasm-ready" else None})  # fmt: skip
        if t is None:
            gap += 1
            continue
        if gap:
            label = f"  not split: {previous[0]} → {point} ({gap + 1} segments above)"
            merged.append({"key": f"{previous[0]}..{point}", "label": label, "ms": t - previous[1], "missing": None,
                           "fallback": None})  # fmt: skip
            gap = 0
        previous = (point, t)
    rows.extend(merged)
    rows.append({"key": "total", "label": "end to end: navigation → data-ready", "ms": marks.get("data-ready"),
                 "missing": None if "data-ready" in marks else "data-ready", "fallback": None})  # fmt: skip
    return rows


class Errors:
    """Console errors and page errors of every page the benchmark opens: a broken page is worth saying."""

    def __init__(self):
        self.items = []

    def watch(self, page):
        page.on("console", lambda m: m.type == "error" and self.items.append(m.text[:300]))
        page.on("pageerror", lambda e: self.items.append(f"pageerror: {str(e)[:300]}"))


def prime_server(base_url, root=REPO):
    """Ask serve.py for every compressible file once, gzipped, so its per-process gzip cache is warm.

    Returns (seconds it took, files): the one-off cost the first visitor after a server start pays on top.
    """
    sitemap = sitemap_module(root)  # the checkout's own site map
    urls = [url for url, path in sitemap.site_map(Path(root)).files.items() if path.suffix in sitemap.COMPRESSIBLE]

    def get(url):
        request = urllib.request.Request(base_url.rstrip("/") + url, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return len(response.read())

    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(get, urls))
    return time.perf_counter() - t, len(urls)


def wire_bytes(requests):
    """Bytes on the wire for finished requests: response body (as sent, so gzipped) + response headers.

    Returns (total, {path: bytes}, {path: times fetched}).
    """
    total, per_url, fetched = 0, {}, {}
    for request in requests:
        sizes = request.sizes()
        n = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        total += n
        path = re.sub(r"^https?://[^/]+", "", request.url)
        per_url[path] = per_url.get(path, 0) + n
        fetched[path] = fetched.get(path, 0) + 1
    return total, per_url, fetched


def load(page, navigate, errors_seen):
    """Navigate, then collect what the init script observed from the document's creation."""
    navigate()
    for attempt in range(3):
        try:
            record = page.evaluate(JS_LOAD_RESULT, READY_TIMEOUT_MS)
            break
        except Exception as error:  # evaluate can land in the previous document just as it is replaced
            if attempt == 2 or "context was destroyed" not in str(error):
                raise
            page.wait_for_timeout(50)
    return checked(record, errors_seen)


def checked(record, errors_seen):
    """A load record from JS_LOAD_RESULT (in any engine), its useful paint made the one seen on screen; raises if
    the page did not become useful and interactive."""
    marks = record.get("marks", {})
    if "useful paint" in marks:
        # Nothing is on screen before the first contentful paint (a presentation time), which can come after
        # the end of the frame the page rendered first: useful paint is the later of the two.
        marks["useful frame rendered"] = marks["useful paint"]
        marks["useful paint"] = max(marks["useful paint"], marks.get("first-contentful-paint", 0.0))
    if record["error"]:
        raise RuntimeError(
            f"the page did not become useful and interactive: {record['error']}; stages {record.get('stages')}; "
            f"message {record.get('message')!r}; console errors {errors_seen.items[-5:]}"
        )
    return record


# Resources whose download end is worth a milestone row: the big runtime files and the models.
KEY_RESOURCES = (
    "/vendor/pyodide/pyodide.asm.wasm",
    "/vendor/pyodide/python_stdlib.zip",
    "/vendor/ort/ort-wasm-simd-threaded.wasm",
    "/models/decoder.onnx",
)


def long_frames(record):
    """(ms of long animation frames before data-ready, [(script, ms), …] longest first), or None."""
    frames = record.get("frames") or []
    if not frames:
        return None
    ready = record["marks"]["data-ready"]
    frames = [f for f in frames if f["start"] < ready]
    by_script = {}
    for f in frames:
        for x in f["scripts"]:
            source = x["source"].rsplit("/", 1)[-1] or "(inline)"
            name = f"{x['invoker'] or '?'} [{source}{':' + x['fn'] if x['fn'] else ''}]"
            by_script[name] = by_script.get(name, 0.0) + x["duration"]
    return sum(f["duration"] for f in frames), sorted(by_script.items(), key=lambda kv: -kv[1])


def load_run(browser, target, settings, errors):
    """One cold load of `target` in a fresh context, then its warm reloads. Returns (cold record, warm records,
    cold bytes, warm bytes, requests, per-URL bytes, paths fetched twice, (context, page))."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(script=JS_LOAD_INIT)
    page = context.new_page()
    errors.watch(page)
    finished = []
    page.on("requestfinished", lambda request, into=finished: into.append(request))
    cold = load(page, lambda p=page: p.goto(target.url, wait_until="commit"), errors)
    page.wait_for_timeout(300)  # stragglers (late requests) finish and are counted
    total, per_url, fetched = wire_bytes(finished)
    requests = len(finished)
    warm, warm_bytes = [], []
    for _ in range(settings["warm"]):
        finished.clear()
        warm.append(load(page, lambda p=page: p.reload(wait_until="commit"), errors))
        page.wait_for_timeout(300)
        warm_bytes.append(wire_bytes(finished)[0])
    twice = {path for path, n in fetched.items() if n > 1}
    return cold, warm, total, warm_bytes, requests, per_url, twice, (context, page)


def bench_loads(results, browser, targets, settings, errors):
    """Cold loads (fresh context each) and warm reloads (same context) of each target, interleaved run by run
    (baseline, current, baseline, current, …) so that drift on the machine hits both alike. Each target's last
    context stays open for the interaction phases. Returns {target name: cold records}."""
    runs = {t.name: {"cold": [], "warm": [], "cold_bytes": [], "warm_bytes": [], "requests": [], "per_url": None,
                     "twice": set(), "vq_cold": []} for t in targets}  # fmt: skip
    for run in range(settings["runs"]):
        for target in targets:
            r = runs[target.name]
            if target.context:
                target.context.close()
            cold, warm, total, warm_bytes, requests, per_url, twice, (target.context, target.page) = load_run(
                browser, target, settings, errors
            )
            r["cold"].append(cold)
            r["warm"].extend(warm)
            r["cold_bytes"].append(total)
            r["warm_bytes"].extend(warm_bytes)
            r["requests"].append(requests)
            r["per_url"] = r["per_url"] or per_url
            r["vq_cold"].append(sorted(path for path in per_url if VQ_FILES.search(path)))
            r["twice"] |= twice
            marks = cold["marks"]
            print(
                f"  load {run + 1}/{settings['runs']} {target.name}: cold useful {marks['useful paint'] / 1e3:.2f} s, "
                f"ready {marks['data-ready'] / 1e3:.2f} s"
                + (f"; warm ready {warm[-1]['marks']['data-ready'] / 1e3:.2f} s" if warm else ""),
                flush=True,
            )
    for target in targets:
        report_loads(results, target, runs[target.name])
    return {t.name: runs[t.name]["cold"] for t in targets}


def report_loads(results, target, r):
    cold, warm, p = r["cold"], r["warm"], target.prefix
    section = target.section("load (headless Chromium, serve.py on loopback)")
    for key, label, mark in (
        ("useful_paint", "first useful paint (map + preset + reconstruction)", "useful paint"),
        ("ready", "load → interactive (data-ready)", "data-ready"),
    ):
        for records, cache in ((cold, "cold"), (warm, "warm")):
            if records:
                results.add(section, p + key, label, "s", [x["marks"][mark] for x in records], cache, scale=1e-3)
    if cold and all("vae:early-input" in x["marks"] for x in cold):  # older checkouts (a baseline) lack it
        label = "input answered from (strokes, presets; kept for Python)"
        marks = [x["marks"]["vae:early-input"] for x in cold]
        results.add(section, p + "input_answered", label, "s", marks, "cold", scale=1e-3)
    label = "bytes on the wire (body + headers)"
    results.add(section, p + "bytes_cold", label, "MB", r["cold_bytes"], "cold", "size", 1 / MB)
    if r["warm_bytes"]:
        results.add(section, p + "bytes_warm", label, "MB", r["warm_bytes"], "warm", "size", 1 / MB)
    results.add(section, p + "requests_cold", "requests", "count", r["requests"], "cold", "count")
    if target.name != "floor":
        label = "  of which VQ-VAE files (they load when the view opens)"
        results.add(section, p + "vq_files_cold", label, "count", [len(v) for v in r["vq_cold"]], "cold", "count")
        early = sorted({path for paths in r["vq_cold"] for path in paths})
        if early:
            results.note(f"{target.name}: VQ-VAE files fetched in a cold load, before the view was opened: {early}")

    # Where a load's time goes: every milestone seen in all its runs, plus when the big files arrived (a warm
    # reload takes them from the HTTP cache).
    for records, cache in ((cold, "cold"), (warm, "warm")):
        if not records:
            continue
        ms = target.section(f"load milestones (ms after navigation start, {cache})")
        rows = {}
        for name in records[0]["marks"]:
            if name not in ("useful paint", "data-ready") and all(name in x["marks"] for x in records):
                rows[name] = [x["marks"][name] for x in records]
        for path in KEY_RESOURCES:
            ends = [next((e["end"] for e in x["resources"] if e["name"] == path), None) for x in records]
            if all(v is not None for v in ends):
                rows[f"{path.rsplit('/', 1)[-1]} {'downloaded' if cache == 'cold' else 'from the cache'}"] = ends
        key = "mark:" if cache == "cold" else "warm-mark:"
        for name, values in sorted(rows.items(), key=lambda kv: statistics.median(kv[1])):
            results.add(ms, f"{p}{key}{name}", name, "ms", values, cache)
    ms = target.section("load milestones (ms after navigation start, cold)")

    blocked = [long_frames(x) for x in cold]
    if all(b is not None for b in blocked):
        label = "main thread in long animation frames (sum)"
        kind = "time" if target.busy_signal else "span"  # a page that does no work may have no long frame
        results.add(ms, p + "long_frames", label, "ms", [b[0] for b in blocked], "cold", kind)
        top = ", ".join(f"{name} {t:.0f} ms" for name, t in blocked[0][1][:4])
        who = "" if target.name == "current" else f" ({target.short})"
        results.note(f"cold load{who}, longest script work in long animation frames before data-ready: {top}")

    for records, cache in ((cold, "cold"), (warm, "warm")):
        for x in records:
            lost = [f for f in x["flips"] if not f["useful"] and f["t"] > x["marks"].get("useful (in the DOM)", 1e18)]
            if lost:
                f = lost[0]
                missing = [k for k in ("map", "digit", "recon") if not f[k]]
                back = next((g["t"] for g in x["flips"] if g["useful"] and g["t"] > f["t"]), None)
                results.note(
                    f"{target.name} {cache} load: the useful first view disappeared at {f['t']:.0f} ms (missing: "
                    f"{', '.join(missing)}) and came back at {back:.0f} ms"
                    if back
                    else f"{target.name} {cache} load: the useful first view disappeared at {f['t']:.0f} ms and "
                    "never came back"
                )
                break
    if r["twice"]:
        results.note(f"{target.name}: fetched more than once in one cold load: {', '.join(sorted(r['twice']))}")
    if target.name == "current":
        top = sorted(r["per_url"].items(), key=lambda kv: -kv[1])[:5]
        results.note("largest cold transfers: " + ", ".join(f"{path} {n / MB:.2f} MB" for path, n in top))
        results.details["bytes_per_url_cold"] = dict(sorted(r["per_url"].items(), key=lambda kv: -kv[1]))
    results.details[f"{p}loads"] = {"cold": cold, "warm": warm}


def breakdown(cold):
    """A load's breakdown, median over the loads (cold ones, or warm reloads): [{key, label, ms, samples, missing}]."""
    per_run = [load_segments(x["marks"], x["resources"]) for x in cold]
    out = []
    for i, row in enumerate(per_run[0]):
        samples = [run[i]["ms"] for run in per_run if i < len(run) and run[i]["key"] == row["key"]]
        ok = len(samples) == len(per_run) and all(v is not None for v in samples)
        out.append({**row, "ms": statistics.median(samples) if ok else None, "samples": samples if ok else []})
    return out


def breakdown_table(breakdowns, labels, cache="cold"):
    """Side by side: one column per checkout (`breakdowns` {name: rows}, `labels` {name: column title}), plus
    current/baseline when both are there. Rows are matched by key; merged 'not split' rows appear as they come."""
    names = list(breakdowns)
    keys, label_of = [], {}
    for name in names:
        for row in breakdowns[name]:
            if row["key"] not in label_of:
                keys.append(row["key"])
                label_of[row["key"]] = row["label"]
    total = [k for k in keys if k == "total"]
    keys = [k for k in keys if k != "total"] + total  # merged rows of any checkout before the end to end
    both = "current" in breakdowns and "baseline" in breakdowns
    header = [f"segment (ms, median of {cache} loads)", *(labels[n] for n in names)] + (["ratio"] if both else [])
    rows = []
    for key in keys:
        values = {n: next((r for r in breakdowns[n] if r["key"] == key), None) for n in names}
        cells = [label_of[key]]
        for n in names:
            row = values[n]
            if row is None:
                cells.append("")
            elif row["ms"] is None:
                cells.append(f"n/a ({row['missing']} missing)" if row.get("missing") else "n/a")
            else:
                cells.append(f"{row['ms']:.0f}" + (f" ({row['fallback']})" if row.get("fallback") else ""))
        if both:
            a, b = values["current"], values["baseline"]
            x = ratio(a and a["ms"], b and b["ms"])
            if (a and a.get("fallback")) != (b and b.get("fallback")):
                x = None  # a download against a download + compile: no ratio
            cells.append("" if x is None else f"{x:.2f}")
        rows.append(cells)
    return columns(header, rows, right=set(range(1, len(header))))
