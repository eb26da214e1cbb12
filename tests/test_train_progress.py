"""The pure parts of "Train it yourself" under CPython: its settings in the link, and what pysrc/train/progress.py
computes for the view from a real run of the loop (models/train/ in onnxruntime)."""

import base64
import json
import math
import re
import zlib

import numpy as np
import pytest

from page.state import AppState, StateError, decode_hash, encode_hash
from train import loop, progress
from training.live_runtime import held_out_codes, run, trainer
from vae.latent_plot import LatentPlot


@pytest.fixture(scope="module")
def trained():
    """A run of 60 steps at β = 1, and its held-out codes."""
    t = trainer(loop.Settings(seed=2, beta=1.0, learning_rate=3e-3))
    start = held_out_codes(t)[0]
    run(t.train(60))
    return t, start, held_out_codes(t)[0], list(t.data.test_labels)


def test_the_map_fits_the_codes_and_keeps_its_axes_while_they_fit(trained):
    _, _, codes, labels = trained
    xs, ys = codes[:, 0].tolist(), codes[:, 1].tolist()
    domain = progress.map_domain(None, xs, ys)
    assert domain[0] == -domain[1] and domain[1] >= 3.5
    inside = np.mean(np.abs(codes).max(axis=1) <= domain[1])
    assert inside >= 0.995
    assert progress.map_domain(domain, [x * 0.8 for x in xs], [y * 0.8 for y in ys]) == domain  # kept
    assert progress.map_domain(domain, [x * 3 for x in xs], [y * 3 for y in ys])[1] > domain[1]  # wider at once
    assert progress.map_domain((-40.0, 40.0), xs, ys) == domain  # narrower once they fill less than half
    axes, scatter, prior = progress.map_markup(LatentPlot(domain), xs, ys, labels)
    assert f'id="{progress.CLIP_ID}"' in axes
    assert scatter.count("<path") == 10 and scatter.count("h0") == len(xs)
    assert prior.count("<circle") == 3


def test_the_figures_and_the_sentence_come_from_the_run(trained):
    t, start, codes, labels = trained
    radius, inside, separation = progress.code_figures(codes[:, 0].tolist(), codes[:, 1].tolist(), labels)
    assert radius == pytest.approx(np.hypot(codes[:, 0], codes[:, 1]).mean(), rel=1e-9)
    assert inside == pytest.approx(np.mean(np.square(codes).sum(axis=1) <= 4.0))
    untrained = progress.code_figures(start[:, 0].tolist(), start[:, 1].tolist(), labels)
    assert separation > untrained[2]  # 60 steps pull the digits apart
    words = progress.sentence(t.step, t.epochs_done, 1.0, t.losses, (radius, inside, separation))
    recent = t.losses[-progress.RECENT :]
    elbo = sum(s.negative_elbo for s in recent) / len(recent)
    assert words.startswith(f"After 60 steps ({t.epochs_done:.2f}".rstrip("0"))
    assert f"negative ELBO of {elbo:.1f}".rstrip("0").rstrip(".") in words
    assert f"{round(100 * inside)}% inside" in words and "β = 1" in words
    assert "nothing pulls" in progress.sentence(t.step, t.epochs_done, 0.0, t.losses, (radius, inside, separation))
    assert progress.sentence(0, 0.0, 1.0, [], untrained).startswith("Untrained")


def test_the_chart_draws_each_curve_and_marks_the_epochs(trained):
    t, *_ = trained
    chart = progress.chart_markup(t.losses, t.steps_per_epoch)
    assert len(re.findall(r'<polyline points="[^"]+" class="curve (bce|kl|elbo)"', chart)) == 3
    assert chart.count('class="epoch-mark"') == 1  # 60 steps: the axis runs to the first epoch's end, marked
    long_run = t.losses * 10  # 600 steps: three epochs marked, each curve drawn as MAX_POINTS bucket means at most
    chart = progress.chart_markup(long_run, t.steps_per_epoch)
    assert chart.count('class="epoch-mark"') == 600 // t.steps_per_epoch
    points = re.search(r'points="([^"]+)" class="curve bce"', chart).group(1).split()
    assert len(points) <= progress.MAX_POINTS


def test_steps_per_second_and_when_the_map_is_due():
    assert progress.steps_per_second([]) is None and progress.steps_per_second([5.0]) is None
    assert progress.steps_per_second([0.0, 50.0, 100.0]) == pytest.approx(20.0)
    times = [25.0 * k for k in range(100)]  # the last RATE_WINDOW only
    assert progress.steps_per_second(times) == pytest.approx(40.0)
    assert progress.map_due(0.0, None)
    assert not progress.map_due(1000.0 * progress.MAP_EVERY_S - 1, 0.0)
    assert progress.map_due(1000.0 * progress.MAP_EVERY_S, 0.0)
    assert progress.MAP_EVERY_S <= 0.5 and math.isfinite(progress.MAP_CHUNK)


def test_the_settings_round_trip_through_the_hash():
    state = AppState(train_beta=4.0, train_rate=1e-3, train_seed=99)
    back = decode_hash(encode_hash(state))
    assert (back.train_beta, back.train_rate, back.train_seed) == (4.0, 1e-3, 99)
    assert "t" not in json.loads(zlib.decompress(base64.urlsafe_b64decode(encode_hash(AppState())[3:] + "==")))


@pytest.mark.parametrize(
    ("train", "message"),
    [
        ({"b": 3}, "training β is not one the page offers"),
        ({"b": float("nan")}, "training β is not one the page offers"),
        ({"l": 0.5}, "learning rate is not one the page offers"),
        ({"l": True}, "learning rate is not one the page offers"),
        ({"s": -1}, "training seed is not a whole number"),
        ({"s": 1.5}, "training seed is not a whole number"),
        ({"x": 1}, "training settings have the wrong shape"),
        ([1], "training settings have the wrong shape"),
    ],
)
def test_a_link_with_settings_the_view_does_not_offer_is_refused(train, message):
    raw = json.dumps({"e": 1, "t": train}).encode()
    text = "v1." + base64.urlsafe_b64encode(zlib.compress(raw)).decode().rstrip("=")
    with pytest.raises(StateError, match=message):
        decode_hash(text)
