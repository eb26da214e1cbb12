"""--baseline's comparisons: ratios of this checkout's figures to the baseline's and to the floor page's, and
their tables (the pure helpers are unit-tested in tests/test_bench.py)."""

from tests.bench.results import columns, fmt, ratio
from tests.bench.settings import COMPARED, ENGINE_COMPARED, ENGINE_PREFIXES, FLOOR_COMPARED, STROKES_BAR_MS


def row_of(results, key, cache=""):
    return next((m for m in results.metrics if m["key"] == key and m["cache"] == cache and not m["unavailable"]), None)


def comparisons(results, targets):
    """The figures issue 13 judges, side by side: {"baseline": rows, "floor": rows}, each row a dict."""
    names = {t.name for t in targets}
    out = {}
    if "baseline" in names:
        rows = []
        for key, cache, stat, label, unit in COMPARED:
            a, b = row_of(results, key, cache), row_of(results, "baseline:" + key, cache)
            cur, base = a and a[stat], b and b[stat]
            rows.append({"key": key, "cache": cache, "stat": stat, "label": label, "unit": unit,
                         "baseline": base, "current": cur, "ratio": ratio(cur, base)})  # fmt: skip
        out["baseline"] = rows
    if "floor" in names:
        rows = []
        for key, floor_key, label, bar, bar_text in FLOOR_COMPARED:
            entry = {"key": key, "label": label, "bar_ms": bar, "bar_text": bar_text}
            for t in targets:
                m = row_of(results, t.prefix + (floor_key if t.name == "floor" else key))
                entry[t.name] = {"p50": m and m["median"], "p95": m and m["p95"]}
            mine = entry["current"]["p95"]
            if bar is not None:
                for name in ("current", "baseline"):
                    if name in entry:
                        p95, floor = entry[name]["p95"], entry["floor"]["p95"]
                        entry[f"{name}_minus_floor_p95"] = None if p95 is None or floor is None else p95 - floor
                d = entry["current_minus_floor_p95"]
                entry["current_meets_bar"] = None if d is None else d <= bar
            else:
                entry["current_meets_bar"] = None if mine is None else mine <= STROKES_BAR_MS
            rows.append(entry)
        out["floor"] = rows
    return out


def engine_rows(results, engines):
    """This checkout in each engine, side by side (ENGINE_COMPARED), then each one's hover p95 above its own floor's."""
    rows = []
    for key, cache, stat, label, unit in ENGINE_COMPARED:
        values = {}
        for engine in engines:
            m = row_of(results, ENGINE_PREFIXES[engine] + key, cache)
            values[engine] = m and m[stat]
        rows.append({"key": key, "cache": cache, "stat": stat, "label": label, "unit": unit, **values})
    p95 = {(r["key"], r["stat"]): r for r in rows}
    above = {"key": "mouse_hover-floor", "cache": "", "stat": "p95", "label": "latent hover, p95 − floor p95",
             "unit": "ms"}  # fmt: skip
    for engine in engines:
        a, b = p95["mouse_hover", "p95"][engine], p95["floor:mouse_hover", "p95"][engine]
        above[engine] = None if a is None or b is None else a - b
    return [*rows, above]


def engine_text(rows, engines):
    header = ["metric (driver's mouse for hovers)", "stat", *engines]
    cells = [[r["label"], "p50" if r["stat"] == "median" else "p95", *(fmt(r[e], r["unit"]) for e in engines)]
             for r in rows]  # fmt: skip
    return columns(header, cells, right=set(range(2, len(header))))


def comparison_text(comp, labels):
    """The comparison tables as text (see comparisons())."""
    parts = []
    if "baseline" in comp:
        header = ["metric", "stat", labels["baseline"], labels["current"], "current/baseline"]
        rows = [[r["label"] + (f", {r['cache']}" if r["cache"] else ""), "p50" if r["stat"] == "median" else "p95",
                 fmt(r["baseline"], r["unit"]), fmt(r["current"], r["unit"]),
                 "n/a" if r["ratio"] is None else f"{r['ratio']:.2f}"] for r in comp["baseline"]]  # fmt: skip
        parts.append(columns(header, rows, right={2, 3, 4}))
    if "floor" in comp:
        names = [n for n in ("floor", "current", "baseline") if n in comp["floor"][0]]
        header = ["interaction (ms)", *(f"{labels[n]} p50 / p95" for n in names)]
        header += [f"{n} − floor, p95" for n in names if n != "floor"] + ["bar"]
        rows = []
        for r in comp["floor"]:
            cells = [r["label"]]
            for n in names:
                v = r[n]
                cells.append(f"{fmt(v['p50'], 'ms')} / {fmt(v['p95'], 'ms')}")
            for n in names:
                if n == "floor":
                    continue
                d = r.get(f"{n}_minus_floor_p95")
                cells.append("" if r["bar_ms"] is None else "n/a" if d is None else f"{d:+.1f} ms")
            verdict = {None: "", True: "ok", False: "OVER"}[r["current_meets_bar"]]
            cells.append(f"current {r['bar_text']}: {verdict}" if verdict else r["bar_text"])
            rows.append(cells)
        parts.append(columns(header, rows, right=set(range(1, len(header) - 1))))
    return "\n\n".join(parts)
