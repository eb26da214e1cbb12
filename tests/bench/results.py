"""The benchmark's figures: the statistics, the results a run collects and the tables they print (ratios and
aligned columns too), and the machine they were measured on."""

import contextlib
import datetime
import math
import os
import platform
import statistics
import subprocess
from pathlib import Path

from tests.bench.settings import TARGETS
from tests.conftest import CHROMIUM


def percentile(values, q):
    """Nearest-rank percentile: an observed value, never an interpolation (p95 of 2 runs is the worse one)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


class Results:
    """Every figure the run produced, in print order, plus notes and raw details for the JSON."""

    def __init__(self):
        self.metrics = []
        self.notes = []
        self.details = {}

    def add(self, section, key, label, unit, samples, cache="", kind="time", scale=1.0, why=None):
        """One row. `samples` are in `unit` after `scale`; an empty list with `why` is an explicit n/a."""
        samples = [v * scale for v in samples]
        row = {
            "section": section,
            "key": key,
            "label": label,
            "cache": cache,
            "unit": unit,
            "kind": kind,  # time | size | count | delta | span (a time that may be 0)
            "n": len(samples),
            "median": statistics.median(samples) if samples else None,
            "p95": percentile(samples, 95) if samples else None,
            "max": max(samples) if samples else None,
            "samples": samples,
            "target": None,
            "meets_target": None,
            "unavailable": why if not samples else None,
        }
        target = TARGETS.get(key)  # the page's targets judge this checkout only, not a baseline or the floor
        if target and samples:
            text, op, value = target
            figure = row["p95"] if op.startswith("p95") else row["median"]
            row["target"] = text
            row["meets_target"] = figure < value if op == "lt" else figure <= value
        elif target:
            row["target"] = target[0]
        self.metrics.append(row)
        return row

    def note(self, text):
        self.notes.append(text)


def fmt(value, unit):
    if value is None:
        return "n/a"
    if unit == "count":
        return f"{value:.0f}"
    if unit == "ratio":
        return f"{value:.2f}"
    if unit in ("µs", "ms") and abs(value) < 10:
        return f"{value:.2f} {unit}"
    if unit in ("µs", "ms"):
        return f"{value:.1f} {unit}"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:+.2f} MB" if value < 0 else f"{value:.2f} MB"
    return f"{value:g} {unit}"


def table(results, header):
    """The one plain-text table: sections as separator rows, columns aligned."""
    columns = ("metric", "cache", "n", "median", "p95", "max", "target", "")
    rows, section = [], None
    for m in results.metrics:
        if m["section"] != section:
            section = m["section"]
            rows.append(("section", f"[{section}]"))
        verdict = "" if m["meets_target"] is None else ("ok" if m["meets_target"] else "OVER")
        if m["unavailable"]:
            cells = (m["label"], m["cache"], "0", "n/a", "n/a", "n/a", m["target"] or "", "")
            rows.append(("row", cells))
            rows.append(("why", f"    n/a: {m['unavailable']}"))
            continue
        cells = (
            m["label"],
            m["cache"],
            str(m["n"]),
            fmt(m["median"], m["unit"]),
            fmt(m["p95"], m["unit"]),
            fmt(m["max"], m["unit"]),
            m["target"] or "",
            verdict,
        )
        rows.append(("row", cells))
    widths = [len(c) for c in columns]
    for kind, cells in rows:
        if kind == "row":
            widths = [max(w, len(c)) for w, c in zip(widths, cells, strict=True)]

    def line(cells):
        parts = []
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            parts.append(cell.ljust(width) if i in (0, 1, 6, 7) else cell.rjust(width))
        return "  ".join(parts).rstrip()

    out = [header, "", line(columns), line(["-" * w for w in widths])]
    for kind, cells in rows:
        out.append(line(cells) if kind == "row" else cells)
    if results.notes:
        out.append("")
        out.extend(f"note: {n}" for n in results.notes)
    return "\n".join(out)


def machine():
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    try:
        chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        chromium = "Chromium (version unknown)"
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "chromium": chromium,
        "python": platform.python_version(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "loadavg": list(load) if load else None,
    }


# Pure helpers for the comparisons and tables (unit-tested in tests/test_bench.py)


def ratio(current, baseline):
    """current / baseline, or None when either is missing or the baseline is 0."""
    if current is None or baseline is None or baseline == 0:
        return None
    return current / baseline


def columns(header, rows, right=()):
    """Plain aligned columns: `header` and each row are lists of strings; indices in `right` are right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])
