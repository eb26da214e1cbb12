"""Benchmarks that can still fail: the core's hot paths timed with pytest-benchmark, each checked for a correct
result, and the quick page benchmark run end to end, checked for having measured everything (never for speed)."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import artifacts
import decoder
import digit_input
import latent_plot
import state

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
FOUR = [  # a hand-drawn 4 in drawing-canvas units, three strokes of raw pointer samples (as tests/bench.py)
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
def test_quick_page_benchmark_measures_everything(tmp_path):
    """`python -m tests.bench --quick` runs end to end; every figure is measured (timings are never judged)."""
    out = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench", "--quick", "--runs", "1", "--json", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["mode"] == "quick"
    metrics = {m["key"] + ("/" + m["cache"] if m["cache"] else ""): m for m in report["metrics"]}
    required = [
        "useful_paint/cold",
        "useful_paint/warm",
        "ready/cold",
        "ready/warm",
        "hover",
        "draw",
        "bytes_cold/cold",
        "js_heap_growth",
        "core_preprocess",
        "core_scatter",
        "core_grayscale",
        "core_encode_hash",
        "core_decode_hash",
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
        elif m["kind"] == "count":
            assert min(m["samples"]) >= 0, (key, m["samples"])
    assert metrics["hover"]["n"] >= 20 and metrics["draw"]["n"] >= 20
    assert "VAE Explainer benchmark (quick)" in proc.stdout and "[core (CPython)]" in proc.stdout
