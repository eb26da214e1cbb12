"""`python -m tests.bench`: the command line, and the run it drives from start to finish."""

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

from tests.bench.compare import comparison_text, comparisons, engine_rows, engine_text
from tests.bench.core import bench_core
from tests.bench.engines import ENGINES, FIREFOX, bench_firefox, firefox_targets
from tests.bench.interactions import bench_interactions, bench_mouse_hovers, bench_strokes
from tests.bench.loads import Errors, bench_loads, breakdown, breakdown_table, prime_server
from tests.bench.memory import bench_memory
from tests.bench.results import Results, machine, table
from tests.bench.settings import BENCH_ARGS, MODES, MOUSE_SECTION, STROKE_PERIOD_MS, VQ_SECTION, strokes_section
from tests.bench.targets import Target, baseline_worktree, checkout_label, describe, floor_server, start_checkout_server
from tests.bench.train import SECTION, bench_train
from tests.bench.views import bench_in_page, bench_kl_view, bench_vq_view
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, REPO, stop_server


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench", description="Benchmark the VAE Explainer page and its pure core."
    )
    parser.add_argument("--quick", action="store_true", help="fewer runs and interactions (well under 2 minutes)")
    parser.add_argument("--check", action="store_true", help="every phase with a few inputs, figures not to be read")
    parser.add_argument("--runs", type=int, help="cold loads (each followed by warm reloads)")
    parser.add_argument(
        "--inputs", type=int, help="hovers and drawing moves each (a p95 of the quick mode's 30 moves a lot)"
    )
    parser.add_argument("--json", type=Path, default=REPO / "build" / "bench.json", help="where to write the JSON")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also bench REV (a git worktree under build/, served by its own serve.py) in the same run: loads "
        "interleaved with this checkout's, and each figure as a ratio current/baseline",
    )
    parser.add_argument(
        "--engines",
        default="chromium,firefox",
        help="comma-separated, chromium first: chromium (every phase) and firefox (Firefox ESR's cold loads and "
        "latent hovers, beside Chromium's; default: both)",
    )
    args = parser.parse_args(argv)
    engines = args.engines.split(",")
    if engines[0] != "chromium" or not set(engines) <= set(ENGINES) or len(set(engines)) != len(engines):
        parser.error(f"--engines must be chromium, then any of {', '.join(ENGINES[1:])}: not {args.engines!r}")
    mode = "check" if args.check else "quick" if args.quick else "full"
    settings = dict(MODES[mode])
    if args.runs is not None:
        if args.runs < 1:
            parser.error("--runs must be at least 1")
        settings["runs"] = args.runs
    if args.inputs is not None:
        if args.inputs < 1:
            parser.error("--inputs must be at least 1")
        settings["hover"] = settings["draw"] = args.inputs
    info = machine()
    header = (
        f"VAE Explainer benchmark ({mode}) · {info['cpu']}, {info['cores']} cores · {info['chromium']} · "
        f"Python {info['python']} · {info['date']}"
        + (f" · load avg {info['loadavg'][0]:.2f}" if info["loadavg"] else "")
    )
    print(header, flush=True)
    checkouts = {"current": {"root": str(REPO), **dict(zip(("sha", "subject", "dirty"), describe(), strict=True))}}
    current = Target("current", "", checkout_label("current", checkouts["current"]["sha"],
                     checkouts["current"]["subject"], checkouts["current"]["dirty"]))  # fmt: skip
    targets = [current]
    if args.baseline:
        root, sha = baseline_worktree(args.baseline)
        sha, subject, dirty = describe(root)
        checkouts["baseline"] = {"root": str(root), "rev": args.baseline, "sha": sha, "subject": subject,
                                 "dirty": dirty}  # fmt: skip
        targets.insert(0, Target("baseline", "baseline:", checkout_label("baseline", sha, subject, dirty)))
    floor = Target("floor", "floor:", "floor (tests/floor)", busy_signal=False)
    for target in targets:
        print(f"  {target.label}", flush=True)
    results = Results()
    started = time.perf_counter()

    print("core (CPython)…", flush=True)
    bench_core(results, settings["core_repeat"], settings["autorange"])

    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is missing: run `make setup` (it installs Debian's chromium)", file=sys.stderr)
        return 2
    if "firefox" in engines and not Path(FIREFOX).exists():
        print(f"error: {FIREFOX} is missing: run `make setup` (it installs Debian's firefox-esr), or bench "
              "--engines chromium", file=sys.stderr)  # fmt: skip
        return 2
    errors = Errors()
    failures = []
    breakdowns, warm_breakdowns = {}, {}

    def phase(name, section, rows, fn, *fn_args):
        """Run one phase; if the page blocks it, say exactly how in the table (n/a rows) and carry on."""
        print(f"{name}…", flush=True)
        try:
            return fn(*fn_args)
        except Exception as error:
            why = f"{name} failed: {' '.join(str(error).split())[:400]}"
            failures.append(why)
            measured = {m["key"] for m in results.metrics}
            for key, label, unit in rows:
                if key not in measured:
                    results.add(section, key, label, unit, [], why=why)
            return None

    with contextlib.ExitStack() as stack:
        for target in targets:
            proc, target.url = start_checkout_server(checkouts[target.name]["root"])
            stack.callback(stop_server, proc)
        floor.url = stack.enter_context(floor_server())
        for target in targets:
            seconds, files = prime_server(target.url, checkouts[target.name]["root"])
            label = f"serve.py first requests: gzip {files} files once"
            results.add(target.section("server"), target.prefix + "server_gzip", label, "s", [seconds])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *BENCH_ARGS])
            try:
                colds = phase(
                    "loads" + (" (interleaved: " + ", ".join(t.name for t in targets) + ")" if len(targets) > 1
                               else ""),
                    "load (headless Chromium, serve.py on loopback)",
                    [(t.prefix + key, label, unit) for t in targets for key, label, unit in (
                        ("useful_paint", "first useful paint", "s"), ("ready", "load → interactive (data-ready)", "s"),
                        ("bytes_cold", "bytes on the wire (body + headers)", "MB"))],
                    bench_loads, results, browser, targets, settings, errors,
                )  # fmt: skip
                if colds:
                    for target in targets:
                        breakdowns[target.name] = breakdown(colds[target.name])
                        warm = results.details[target.prefix + "loads"]["warm"]
                        if warm:
                            warm_breakdowns[target.name] = breakdown(warm)
                floor_loaded = phase(
                    "floor page",
                    floor.section("load"),
                    [("floor:ready", "load → interactive (data-ready)", "s")],
                    bench_loads, results, browser, [floor], {**settings, "runs": 1, "warm": 0}, errors,
                )  # fmt: skip
                ready = [t for t in targets if t.page] + ([floor] if floor_loaded else [])
                for target in ready:
                    phase(
                        f"interactions ({target.name})",
                        target.section("interaction: input → reconstruction repainted"),
                        [(target.prefix + "hover", "latent hover (pointermove): total", "ms"),
                         (target.prefix + "draw", "drawing (pointerdown/move): total", "ms")],
                        bench_interactions, results, target, settings,
                    )  # fmt: skip
                if "firefox" in engines:  # the hovers Firefox gets, from the driver's mouse, to read beside them
                    for target in ready:
                        if target.name in ("current", "floor"):
                            phase(
                                f"hovers by the mouse ({target.name})",
                                target.section(MOUSE_SECTION),
                                [(target.prefix + "mouse_hover", "latent hover (pointermove): total", "ms")],
                                bench_mouse_hovers, results, target, settings,
                            )  # fmt: skip
                for target in ready:
                    phase(
                        f"strokes ({target.name})",
                        target.section(strokes_section(settings["stroke_points"])),
                        [(target.prefix + "strokes_work", "per-frame work: handlers + work until idle", "ms")],
                        bench_strokes, results, target, settings,
                    )  # fmt: skip
                for target in ready:
                    if target is floor:
                        continue
                    phase(
                        f"VQ-VAE view ({target.name})",
                        target.section(VQ_SECTION),
                        [(target.prefix + "vq_draw", "drawing (pointerdown/move): total", "ms"),
                         (target.prefix + "vq_paint", "painting codes on the grid (pointerdown/move): total", "ms")],
                        bench_vq_view, results, target, settings,
                    )  # fmt: skip
                for target in ready:
                    if target is not current and target.context:
                        target.context.close()
                if current.page:
                    phase(
                        "memory",
                        f"memory over {settings['soak']:,} mixed interactions (after forced GC)",
                        [("js_heap_growth", "JS heap growth (usedJSHeapSize)", "MB")],
                        bench_memory, results, current.page, current.context, settings,
                    )  # fmt: skip
                    bench_in_page(results, current.page, settings)
                    phase(
                        "KL view",
                        "KL view: switch → repainted (loaded entries)",
                        [("kl_switch_epoch", "switch epoch (loaded)", "ms")],
                        bench_kl_view, results, current.page, settings,
                    )  # fmt: skip
                    current.context.close()
                    phase(
                        "train it yourself (ours, then TensorFlow.js)",
                        SECTION,
                        [("train_page_rate", "ours, the page training", "steps/s")],
                        bench_train, results, browser, current.url, settings,
                    )  # fmt: skip
            finally:
                browser.close()
        if "firefox" in engines:  # after Chromium has closed, so that the two do not share the CPU
            firefox, firefox_floor = firefox_targets()
            info["firefox"] = phase(
                "Firefox ESR (cold loads, then hovers by the mouse)",
                firefox.section("Firefox ESR"),
                [(t.prefix + key, label, unit) for t in (firefox, firefox_floor) for key, label, unit in (
                    ("ready", "load → interactive (data-ready)", "s"),
                    ("mouse_hover", "latent hover (pointermove): total", "ms"))],
                bench_firefox, results, current.url, floor.url, settings, errors,
            )  # fmt: skip
    if errors.items:
        results.note(f"{len(errors.items)} console/page errors, first: {errors.items[0]}")
    results.note(
        "interaction latency: PointerEvents dispatched from page.evaluate at a random phase of the frame; 'total' "
        "ends after the first frame painted once data-busy is false (rAF, then a posted task)"
    )
    if "firefox" in engines:
        results.note(
            "hovers by the driver's mouse (Playwright's in Chromium, puppeteer's over WebDriver BiDi in Firefox): a "
            "real pointer; 'total' from the event's dispatch (a capturing listener on window), the page's work inside "
            "it; the event's wait before dispatch on its own row"
        )
    results.note(
        f"strokes: {settings['stroke_points']} positions per stroke, one event due every {STROKE_PERIOD_MS:g} ms, "
        "those due dispatched together at each frame's rAF; per-frame work = their handlers + the work until "
        "data-busy=false"
    )
    results.note(f"finished in {time.perf_counter() - started:.0f} s")
    labels = {t.name: t.short for t in targets} | {"floor": "floor"}
    comp = comparisons(results, [*targets, floor] if floor.page else targets)
    print()
    print(table(results, header))
    print()
    print("checkouts:")
    for target in targets:
        print(f"  {target.label}")
    for cache, rows in (("cold", breakdowns), ("warm", warm_breakdowns)):
        if rows:
            print()
            print(breakdown_table(rows, labels, cache))
    text = comparison_text(comp, labels)
    if text:
        print()
        print(text)
    if len(engines) > 1:
        comp["engines"] = engine_rows(results, engines)
        print()
        print(f"engines: {info['chromium']}; {info.get('firefox') or 'Firefox (not measured)'}")
        print(engine_text(comp["engines"], engines))
    payload = {
        "machine": info,
        "mode": mode,
        "engines": engines,
        "settings": settings,
        "checkouts": checkouts,
        "metrics": results.metrics,
        "breakdown": breakdowns,
        "breakdown_warm": warm_breakdowns,
        "comparison": comp,
        "notes": results.notes,
        "details": results.details,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {args.json}")
    for why in failures:
        print(f"error: {why}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
