"""Firefox beside Chromium (`--engines chromium,firefox`): Debian's Firefox ESR, driven over WebDriver BiDi by
tests/bench/firefox.mjs (Playwright cannot drive a stock Firefox), measured by the bench's own page scripts:

- cold loads, each in a fresh profile: first useful paint, `data-ready`, input answered (JS_LOAD_INIT's marks);
- latent hovers moved by puppeteer's mouse, a real pointer (JS_ARM, JS_ARMED: JS_MEASURE's figures, from the
  event's dispatch to the repaint), on this checkout and on the floor page, so Firefox is read against its own floor.
  Chromium's page and floor get the same hovers from Playwright's mouse (interactions.bench_mouse_hovers).

Bytes on the wire, warm reloads and the other phases stay Chromium's. Figures are keyed "firefox:" and
"firefox:floor:"."""

import json
import os
import subprocess
from pathlib import Path

from tests.bench.interactions import interaction_rows, mouse_hover_lists
from tests.bench.loads import checked
from tests.bench.page_js import JS_ARM, JS_ARMED, JS_LOAD_INIT, JS_LOAD_RESULT, JS_PLACEHOLDERS
from tests.bench.settings import MOUSE_SECTION, READY_TIMEOUT_MS, SETTLE_TIMEOUT_MS, VIEWPORT
from tests.bench.targets import Target

ENGINES = ("chromium", "firefox")
FIREFOX = os.environ.get("FIREFOX", "/usr/bin/firefox-esr")  # as tests/engines/firefox-browser.mjs launches
SCRIPT = Path(__file__).with_name("firefox.mjs")
LOAD_SECTION = "load (headless Firefox ESR, serve.py on loopback, fresh profile each)"


def firefox_targets():
    """(this checkout, the floor page) in Firefox."""
    return (Target("firefox", "firefox:", "firefox: current"),
            Target("firefox floor", "firefox:floor:", "firefox: floor (tests/floor)", busy_signal=False))  # fmt: skip


def bench_firefox(results, current_url, floor_url, settings, errors):
    """This checkout's cold loads (settings["runs"]) and the floor's (one), then each one's latent hovers, as
    Chromium's are measured (a first hover on its own row, five unmeasured, then settings["hover"]).
    Returns Firefox's name and version."""
    current, floor = firefox_targets()
    plan = {
        "scripts": {"loadInit": JS_LOAD_INIT, "loadResult": JS_LOAD_RESULT, "arm": JS_ARM, "armed": JS_ARMED,
                    "placeholders": JS_PLACEHOLDERS},
        "viewport": VIEWPORT,
        "readyTimeoutMs": READY_TIMEOUT_MS,
        "settleTimeoutMs": SETTLE_TIMEOUT_MS,
        "targets": [
            {"name": t.name, "url": url, "runs": runs,
             "hovers": {"targetId": "latent-plot", "lists": mouse_hover_lists(settings["hover"])}}
            for t, url, runs in ((current, current_url, settings["runs"]), (floor, floor_url, 1))
        ],
    }  # fmt: skip
    limit = (settings["runs"] + 1) * (READY_TIMEOUT_MS / 1e3 + 30) + 2 * settings["hover"] * SETTLE_TIMEOUT_MS / 1e3
    done = subprocess.run(["node", str(SCRIPT)], input=json.dumps(plan), stdout=subprocess.PIPE, text=True,
                          timeout=limit)  # fmt: skip  # its progress lines go to stderr, as they come
    if done.returncode != 0:
        raise RuntimeError(f"{SCRIPT.name} exited with {done.returncode}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    errors.items.extend(f"firefox: {e[:300]}" for e in out["errors"])
    for target in (current, floor):
        got = out["targets"][target.name]
        report_loads(results, target, [checked(record, errors) for record in got["loads"]])
        report_hovers(results, target, got["hovers"])
    return f"Firefox {out['version'].split('/')[-1]}"  # BiDi says "firefox/153.8.0"


def report_loads(results, target, cold):
    section, p = target.section(LOAD_SECTION), target.prefix
    for key, label, mark in (
        ("useful_paint", "first useful paint (map + preset + reconstruction)", "useful paint"),
        ("ready", "load → interactive (data-ready)", "data-ready"),
        ("input_answered", "input answered from (strokes, presets; kept for Python)", "vae:early-input"),
    ):
        if all(mark in x["marks"] for x in cold):  # the floor page has no early input
            results.add(section, p + key, label, "s", [x["marks"][mark] for x in cold], "cold", scale=1e-3)
    results.details[f"{p}loads"] = {"cold": cold}


def report_hovers(results, target, hovers):
    section, p = target.section(MOUSE_SECTION), target.prefix
    if hovers["placeholders"]:
        results.note(f"{target.name}: after data-ready the prerendered placeholders still cover "
                     f"{', '.join('#' + c for c in hovers['placeholders'])}")  # fmt: skip
    results.add(section, p + "first_hover", "first hover after data-ready: total", "ms", [hovers["first"][0]["total"]])
    interaction_rows(results, target, section, "mouse_hover", "latent hover (pointermove)", hovers["hover"])
