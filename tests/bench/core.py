"""The pure core's hot paths in CPython, on realistic inputs, timed with timeit."""

import statistics
import timeit

from page import artifacts, state
from tests.bench.settings import FOUR
from tests.conftest import REPO
from vae import decoder, digit_input, latent_plot


def core_cases():
    """(key, label, function) for each hot path, on realistic inputs; each function returns its result."""
    manifest = (REPO / "models" / "latent_map.json").read_text()
    mu, labels, (lo, hi) = artifacts.parse_latent_map(manifest, (REPO / "models" / "latent_map.bin").read_bytes())
    plot = latent_plot.LatentPlot(latent_plot.square_domain(lo, hi))
    smooth = [digit_input.catmull_rom(s) for s in FOUR]
    image = digit_input.preprocess(smooth)
    app_state = state.AppState(strokes=[list(s) for s in FOUR], seed=123456789, pinned_z=[0.5, -1.25])
    app_state.panels = {"details", "loss"}
    hashed = state.encode_hash(app_state)
    return [
        ("core_preprocess", "digit_input.preprocess (3 strokes, smoothed)", lambda: digit_input.preprocess(smooth)),
        ("core_catmull_rom", "digit_input.catmull_rom (3 strokes)", lambda: [digit_input.catmull_rom(s) for s in FOUR]),
        (
            "core_scatter",
            f"latent_plot.scatter_markup ({len(mu):,} points)",
            lambda: latent_plot.scatter_markup(plot, mu, labels),
        ),
        ("core_grayscale", "decoder.grayscale_rgba (784 px)", lambda: decoder.grayscale_rgba(image)),
        ("core_encode_hash", "state.encode_hash (3 strokes)", lambda: state.encode_hash(app_state)),
        ("core_decode_hash", "state.decode_hash (3 strokes)", lambda: state.decode_hash(hashed)),
    ]


def bench_core(results, repeat, autorange=True):
    for key, label, fn in core_cases():
        timer = timeit.Timer(fn)
        number = 1
        if autorange:
            number, _ = timer.autorange()  # loops per sample: enough for ≥ 0.2 s
            number = max(1, number // 4)  # ≥ 50 ms per sample keeps --quick quick
        per_call = [t / number for t in timer.repeat(repeat=repeat, number=number)]
        unit, scale = ("µs", 1e6) if statistics.median(per_call) < 1e-3 else ("ms", 1e3)
        results.add("core (CPython)", key, label, unit, per_call, scale=scale)
