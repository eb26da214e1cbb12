"""Benchmarks that can still fail: the core's hot paths timed with pytest-benchmark, each checked for a correct
result, and the quick page benchmark run end to end, checked for having measured everything (never for speed)."""

import ast
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for the tests.bench package, however pytest started
from page import artifacts, state
from tests.bench.__main__ import main
from tests.bench.compare import comparison_text, comparisons, engine_rows, engine_text
from tests.bench.interactions import bench_interactions, stroke_paths
from tests.bench.loads import Errors, bench_loads, breakdown, breakdown_table, load_segments
from tests.bench.results import Results, columns, ratio
from tests.bench.settings import MODES, STROKE_POINTS
from tests.bench.targets import Target, checkout_label, floor_server
from vae import decoder, digit_input, latent_plot

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
FOUR = [  # a hand-drawn 4 in drawing-canvas units, three strokes of raw pointer samples (as tests/bench/settings.py)
    [(95 - i * 1.6, 40 + i * 4.2) for i in range(33)],
    [(42 + i * 5.0, 178 - (i % 3) * 0.6) for i in range(37)],
    [(178 + (i % 2) * 0.8, 30 + i * 5.2) for i in range(45)],
]


@pytest.fixture(scope="module")
def latent_map():
    mu, labels, (lo, hi) = artifacts.parse_latent_map(
        (MODELS / "latent_map.json").read_text(), (MODELS / "latent_map.bin").read_bytes()
    )
    return latent_plot.LatentPlot(latent_plot.square_domain(lo, hi)), mu, labels


def test_preprocess(benchmark):
    smooth = [digit_input.catmull_rom(s) for s in FOUR]
    image = benchmark(digit_input.preprocess, smooth)
    assert len(image) == 784
    assert all(0.0 <= v <= 1.0 for v in image)
    assert max(image) == 1.0  # the pen's core is full ink
    cx, cy = digit_input.center_of_mass(image)
    assert cx == pytest.approx(14, abs=0.75) and cy == pytest.approx(14, abs=0.75)  # centred like MNIST
    rows = [r for r in range(28) if any(image[r * 28 : r * 28 + 28])]
    assert 18 <= len(rows) <= 24  # fitted into the 20×20 box (plus anti-aliasing)


def test_catmull_rom(benchmark):
    smooth = benchmark(lambda: [digit_input.catmull_rom(s) for s in FOUR])
    for raw, curve in zip(FOUR, smooth, strict=True):
        assert curve[0] == raw[0]
        assert curve[-1] == pytest.approx(raw[-1])
        assert len(curve) >= len(raw)


def test_scatter_markup(benchmark, latent_map):
    plot, mu, labels = latent_map
    assert len(mu) == 10_000
    markup = benchmark(latent_plot.scatter_markup, plot, mu, labels)
    assert markup.count("<path") == 10
    assert markup.count("h0") == len(mu)  # every point drawn once, as a zero-length segment
    assert "NaN" not in markup and "inf" not in markup


def test_grayscale_rgba(benchmark):
    image = [i / 783 for i in range(784)]
    image[5] = math.nan  # non-finite input is clamped, never propagated
    rgba = benchmark(decoder.grayscale_rgba, image)
    assert len(rgba) == 784 * 4
    assert rgba[3::4] == bytes([255]) * 784
    assert tuple(rgba[0:3]) == (255, 255, 255)  # 0 is paper
    assert tuple(rgba[-4:-1]) == (17, 17, 17)  # 1 is ink
    assert tuple(rgba[20:23]) == (255, 255, 255)  # NaN drawn as paper


def test_encode_hash(benchmark):
    app_state = state.AppState(strokes=[list(s) for s in FOUR], seed=123456789, pinned_z=[0.5, -1.25])
    text = benchmark(state.encode_hash, app_state)
    assert text.startswith("v1.")
    back = state.decode_hash(text)
    assert back.seed == 123456789 and back.pinned_z == [0.5, -1.25]
    assert [len(s) for s in back.strokes] == [len(s) for s in FOUR]


def test_decode_hash(benchmark):
    app_state = state.AppState(strokes=[list(s) for s in FOUR], seed=42, preset=None, pinned_z=[1.0, 2.0])
    text = state.encode_hash(app_state)
    back = benchmark(state.decode_hash, "#" + text)
    assert back.seed == 42 and back.preset is None and back.pinned_z == [1.0, 2.0]
    assert back.strokes[0][0] == (round(FOUR[0][0][0]), round(FOUR[0][0][1]))
    assert state.encode_hash(back) == text  # the round trip is stable


@pytest.mark.browser
def test_the_page_benchmark_measures_everything(tmp_path):
    """`python -m tests.bench` runs end to end, Firefox ESR beside Chromium (the default); every figure is measured
    (timings are never judged). `--check` is each phase with a handful of inputs: the same code as `--quick`, in a
    third of the time."""
    out = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench", "--check", "--json", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=360,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["mode"] == "check"
    metrics = {m["key"] + ("/" + m["cache"] if m["cache"] else ""): m for m in report["metrics"]}
    required = [
        "useful_paint/cold",
        "useful_paint/warm",
        "ready/cold",
        "ready/warm",
        "input_answered/cold",
        "hover",
        "draw",
        "bytes_cold/cold",
        "js_heap_growth",
        "core_preprocess",
        "core_scatter",
        "core_grayscale",
        "core_encode_hash",
        "core_decode_hash",
        "vq_files_cold/cold",
        "vq_open",
        "vq_bytes_open",
        "vq_files_open",
        "vq_draw",
        "vq_paint",
        "vq_strokes_work",
        "mouse_hover",
        "floor:mouse_hover",
        "firefox:useful_paint/cold",
        "firefox:ready/cold",
        "firefox:input_answered/cold",
        "firefox:first_hover",
        "firefox:mouse_hover",
        "firefox:floor:ready/cold",
        "firefox:floor:mouse_hover",
    ]
    missing = [key for key in required if key not in metrics]
    assert missing == [], f"not measured: {missing}"
    for key, m in metrics.items():
        if m["unavailable"]:  # only internals of Pyodide may be out of reach, and then the reason is given
            assert key not in required and m["unavailable"].strip(), key
            continue
        assert m["n"] >= 1 and len(m["samples"]) == m["n"], key
        for value in (m["median"], m["p95"], m["max"], *m["samples"]):
            assert isinstance(value, int | float) and math.isfinite(value), (key, value)
        if m["kind"] in ("time", "size"):
            assert m["median"] > 0 and min(m["samples"]) > 0, (key, m["samples"])
        elif m["kind"] in ("count", "span"):
            assert min(m["samples"]) >= 0, (key, m["samples"])
    settings = report["settings"]  # a pointerup ends each drawn stroke and is not a measured repaint
    assert metrics["hover"]["n"] == settings["hover"] and metrics["draw"]["n"] >= settings["draw"] * 2 // 3
    # Input is answered (strokes inked, presets shown) before Python answers.
    assert metrics["input_answered/cold"]["max"] < min(metrics["ready/cold"]["samples"])
    # The VQ-VAE view: none of its files in the cold load, all of them when opened (its Python modules, the codebook
    # and its manifest, the two networks), every drawing and paint event measured until its picture was repainted,
    # and its rows judged against the floor's.
    app = ast.parse((REPO / "pysrc" / "page" / "browser" / "app.py").read_text(encoding="utf-8"))
    on_demand = next(
        ast.literal_eval(n.value)
        for n in app.body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) == "ON_DEMAND"
    )
    # Each module with its packages (their __init__.py), as views.import_on_demand fetches them.
    vq_modules = {".".join(name.split(".")[:i]) for name in on_demand["vq"][0] for i in range(1, name.count(".") + 2)}
    assert metrics["vq_files_cold/cold"]["max"] == 0 and metrics["vq_files_open"]["median"] == len(vq_modules) + 4
    assert metrics["vq_draw"]["n"] >= settings["vq_draw"] * 2 // 3 and metrics["vq_paint"]["n"] == settings["vq_paint"]
    assert metrics["vq_strokes_work"]["n"] >= 10
    floor = {r["key"]: r for r in report["comparison"]["floor"]}
    assert floor["vq_paint"]["floor"]["p95"] == floor["draw"]["floor"]["p95"] > 0
    assert floor["vq_draw"]["current_minus_floor_p95"] is not None
    assert "VAE Explainer benchmark (check)" in proc.stdout and "[core (CPython)]" in proc.stdout
    # Firefox: a cold load per run, each in a fresh profile, then every hover by the mouse measured until repainted,
    # on the page and on the floor page, as Chromium's hovers by the mouse; the engines side by side.
    assert report["engines"] == ["chromium", "firefox"] and report["machine"]["firefox"]
    assert metrics["firefox:ready/cold"]["n"] == metrics["firefox:useful_paint/cold"]["n"] == settings["runs"]
    assert metrics["firefox:input_answered/cold"]["max"] < min(metrics["firefox:ready/cold"]["samples"])
    for key in ("mouse_hover", "floor:mouse_hover", "firefox:mouse_hover", "firefox:floor:mouse_hover"):
        assert metrics[key]["n"] == settings["hover"], key
    engines = report["comparison"]["engines"]
    assert len(engines) == 11
    for row in engines:
        for engine in ("chromium", "firefox"):
            assert isinstance(row[engine], float) and math.isfinite(row[engine]), (row, engine)
            if row["key"] == "mouse_hover_queued":  # the wait before dispatch may round to 0
                assert row[engine] >= 0, (row, engine)
            elif row["key"] != "mouse_hover-floor":  # a difference: either sign
                assert row[engine] > 0, (row, engine)
    assert "Firefox" in proc.stdout.split("engines:")[-1]


# ---------------------------------------------------------------------------------------------------------
# tests/bench's own helpers: --baseline's ratios and tables, the cold-load breakdown, the floor page


def test_ratio():
    assert ratio(2.0, 4.0) == 0.5
    assert ratio(None, 4.0) is None and ratio(1.0, None) is None
    assert ratio(1.0, 0.0) is None  # never a division by zero


def test_columns_align():
    text = columns(["name", "value"], [["a", "1.00"], ["longer", "12.5"]], right={1})
    lines = text.splitlines()
    assert lines[0].startswith("name  ") and set(lines[1]) <= {"-", " "}
    assert lines[2] == "a        1.00" and lines[3] == "longer   12.5"


@pytest.mark.parametrize("flag", ["--runs", "--inputs"])
def test_a_count_below_one_is_refused_by_name(capsys, flag):
    with pytest.raises(SystemExit) as exit_info:
        main(["--quick", flag, "0"])
    assert exit_info.value.code == 2 and f"{flag} must be at least 1" in capsys.readouterr().err


def test_checkout_label():
    assert checkout_label("current", "abc1234", "Short", True) == "current abc1234+ (Short)"
    label = checkout_label("baseline", "abc1234", "x" * 100, False, width=20)
    assert label.startswith("baseline abc1234 (") and label.endswith("…)") and len(label) < 45


WASM = {"name": "/vendor/pyodide/pyodide.asm.wasm", "start": 100.0, "end": 700.0}


def test_load_segments_with_every_mark():
    marks = {"vae:wasm-ready": 900.0, "vae:interpreter-ready": 1400.0, "vae:pyscript-ready": 1500.0,
             "vae:python-started": 1600.0, "vae:models-ready": 1550.0, "vae:first-frame": 1700.0,
             "data-ready": 1710.0}  # fmt: skip
    rows = {r["key"]: r for r in load_segments(marks, [WASM])}
    ms = {k: r["ms"] for k, r in rows.items()}
    assert ms == {"wasm-start": 100.0, "wasm-ready": 800.0, "interpreter-ready": 500.0, "pyscript-ready": 100.0,
                  "python-started": 100.0, "models-ready": 0.0, "first-frame": 100.0, "data-ready": 10.0,
                  "total": 1710.0}  # fmt: skip  # models ready before Python: 0; the segments add up to the total
    assert rows["wasm-ready"]["label"] == "Pyodide wasm fetch + compile"
    assert all(r["missing"] is None for r in rows.values())


def test_load_segments_without_the_new_marks():
    """Today's main: no wasm-ready/interpreter-ready/pyscript-ready marks. The wasm download stands in for the
    first, the rest is n/a with the mark named, and one merged row spans the gap."""
    marks = {"vae:python-started": 3000.0, "vae:models-ready": 3100.0, "vae:first-frame": 3300.0,
             "data-ready": 3310.0}  # fmt: skip
    rows = load_segments(marks, [WASM])
    by_key = {r["key"]: r for r in rows}
    assert by_key["wasm-ready"]["ms"] == 600.0 and "download only" in by_key["wasm-ready"]["fallback"]
    assert (
        by_key["interpreter-ready"]["ms"] is None and by_key["interpreter-ready"]["missing"] == "vae:interpreter-ready"
    )
    assert by_key["pyscript-ready"]["missing"] == "vae:pyscript-ready"
    assert by_key["python-started"]["ms"] is None and by_key["python-started"]["missing"] == "an earlier mark"
    merged = by_key["wasm-ready..python-started"]
    assert merged["ms"] == 2300.0 and "not split" in merged["label"]
    assert by_key["models-ready"]["ms"] == 100.0 and by_key["first-frame"]["ms"] == 200.0
    assert rows[-1]["key"] == "total" and rows[-1]["ms"] == 3310.0
    # no wasm fetched at all: the fetch + compile segment counts from navigation start
    rows = {r["key"]: r for r in load_segments({"vae:wasm-ready": 50.0, "data-ready": 60.0}, [])}
    assert rows["wasm-start"]["ms"] == 0.0 and rows["wasm-ready"]["ms"] == 50.0


def test_breakdown_table_side_by_side():
    full = {"vae:wasm-ready": 900.0, "vae:interpreter-ready": 1400.0, "vae:pyscript-ready": 1500.0,
            "vae:python-started": 1600.0, "vae:models-ready": 1650.0, "vae:first-frame": 1700.0,
            "data-ready": 1710.0}  # fmt: skip
    old = {"vae:python-started": 3000.0, "vae:models-ready": 3100.0, "vae:first-frame": 3300.0, "data-ready": 3420.0}
    cold = lambda marks: [{"marks": marks, "resources": [WASM]}] * 3  # noqa: E731
    text = breakdown_table(
        {"baseline": breakdown(cold(old)), "current": breakdown(cold(full))},
        {"baseline": "baseline abc", "current": "current def"},
    )
    lines = text.splitlines()
    assert lines[0].split()[-4:-1] == ["abc", "current", "def"] and lines[0].endswith("ratio")
    total = next(line for line in lines if line.startswith("end to end"))
    assert total.split()[-3:] == ["3420", "1710", "0.50"]
    assert any("n/a (vae:interpreter-ready missing)" in line for line in lines)
    wasm = next(line for line in lines if line.startswith("Pyodide wasm fetch + compile"))
    assert "600 (download only" in wasm and wasm.split()[-1] == "800"  # no ratio of a download to a compile
    assert any("not split" in line for line in lines)


def test_comparisons_and_their_text():
    results = Results()
    for prefix, scale in (("", 1.0), ("baseline:", 2.0), ("floor:", 0.5)):
        results.add("load", prefix + "ready", "ready", "s", [1.0 * scale, 1.2 * scale], "cold")
        results.add("i", prefix + "hover", "hover", "ms", [10.0 * scale, 20.0 * scale])
        results.add("i", prefix + "draw", "draw", "ms", [12.0 * scale, 30.0 * scale])
        results.add("s", prefix + "strokes_work", "strokes", "ms", [4.0 * scale, 7.0 * scale])
    results.add("vq", "vq_paint", "paint", "ms", [20.0, 40.0])  # measured on this checkout only
    targets = [Target("baseline", "baseline:", "b"), Target("current", "", "c"),
               Target("floor", "floor:", "f", busy_signal=False)]  # fmt: skip
    comp = comparisons(results, targets)
    ready = next(r for r in comp["baseline"] if r["key"] == "ready" and r["stat"] == "median")
    assert ready["ratio"] == pytest.approx(0.5)
    warm = next(r for r in comp["baseline"] if r["key"] == "ready" and r["cache"] == "warm")
    assert warm["ratio"] is None  # not measured: n/a, never an error
    hover = next(r for r in comp["floor"] if r["key"] == "hover")
    assert hover["current_minus_floor_p95"] == pytest.approx(10.0) and hover["current_meets_bar"] is False
    paint = next(r for r in comp["floor"] if r["key"] == "vq_paint")  # against the floor's drawing
    assert paint["floor"]["p95"] == 15.0 and paint["current_minus_floor_p95"] == pytest.approx(25.0)
    assert paint["baseline"]["p95"] is None and paint["current_meets_bar"] is False
    strokes = next(r for r in comp["floor"] if r["key"] == "strokes_work")
    assert strokes["current"]["p95"] == 7.0 and strokes["current_meets_bar"] is True  # an absolute bar: ≤ 8 ms
    text = comparison_text(comp, {"baseline": "baseline b", "current": "current c", "floor": "floor"})
    assert "current/baseline" in text and "+10.0 ms" in text and "OVER" in text and "0.50" in text


def test_engine_rows_side_by_side():
    results = Results()
    for prefix, scale in (("", 1.0), ("firefox:", 2.0)):
        results.add("load", prefix + "ready", "ready", "s", [1.0 * scale, 3.0 * scale], "cold")
        results.add("i", prefix + "mouse_hover", "hover", "ms", [10.0 * scale, 20.0 * scale])
        results.add("i", prefix + "floor:mouse_hover", "hover", "ms", [5.0, 8.0])
    rows = {(r["key"], r["stat"]): r for r in engine_rows(results, ["chromium", "firefox"])}
    assert rows["ready", "median"]["chromium"] == 2.0 and rows["ready", "median"]["firefox"] == 4.0
    assert rows["useful_paint", "median"]["firefox"] is None  # not measured: n/a, never an error
    above = rows["mouse_hover-floor", "p95"]
    assert above["chromium"] == pytest.approx(12.0) and above["firefox"] == pytest.approx(32.0)
    text = engine_text(list(rows.values()), ["chromium", "firefox"])
    assert text.splitlines()[0].split()[-2:] == ["chromium", "firefox"] and "n/a" in text and "32.0 ms" in text


def test_engines_are_refused_unless_chromium_comes_first(capsys):
    for engines in ("firefox", "chromium,webkit", "chromium,firefox,firefox"):
        with pytest.raises(SystemExit) as exit_info:
            main(["--quick", "--engines", engines])
        assert exit_info.value.code == 2 and "--engines must be chromium" in capsys.readouterr().err


def test_stroke_paths():
    strokes = stroke_paths()
    assert len(strokes) == 3 and all(len(s) == STROKE_POINTS >= 201 for s in strokes)
    assert all(0.0 <= v <= 1.0 for s in strokes for p in s for v in p)
    for path, raw in zip(strokes, FOUR, strict=True):  # from the hand-drawn 4's first sample to its last
        assert path[0] == pytest.approx([raw[0][0] / 280, raw[0][1] / 280], abs=1e-4)
        assert path[-1] == pytest.approx([raw[-1][0] / 280, raw[-1][1] / 280], abs=1e-4)


@pytest.mark.browser
def test_floor_page_loads_and_is_measured(browser):
    """The floor page (tests/floor) loads under the bench's observer and its interactions are measured."""
    settings = {**MODES["quick"], "runs": 1, "warm": 0, "hover": 5, "draw": 5}
    results, errors = Results(), Errors()
    floor = Target("floor", "floor:", "floor", busy_signal=False)
    with floor_server() as url:
        floor.url = url
        try:
            bench_loads(results, browser, [floor], settings, errors)
            bench_interactions(results, floor, settings)
        finally:
            floor.context.close()
    assert errors.items == []
    rows = {m["key"]: m for m in results.metrics}
    assert 0 < rows["floor:ready"]["median"] < 10
    assert rows["floor:hover"]["n"] == 5 and rows["floor:draw"]["n"] == 5
    assert rows["floor:hover_frames"]["max"] <= 3 and rows["floor:hover_handler"]["median"] >= 0
