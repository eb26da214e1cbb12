"""Every engine: the smoke scenario (tests/engines/steps.json) in Firefox ESR and WebKitGTK (Safari's engine) gives
Chromium's numbers, draws what Chromium draws, and logs no error.

The drivers are in tests/engines/drivers.py (why each one). Only the smoke scenario runs in the extra engines, not
the whole browser suite: CI stays within a few minutes of the Chromium-only run.
"""

import itertools
import shutil

import numpy as np
import pytest

from tests.engines import drivers

pytestmark = pytest.mark.browser

ENGINES = {"firefox": drivers.FIREFOX, "webkit": drivers.WEBKIT_DRIVER}
# A drawing region is compared as 32×32 RGB means of its crop: fonts blur away at that size, the drawing does not. The
# crop is also tried a pixel either way, and the closest counts: an engine snaps a box at a fractional position to
# another pixel, and a grid of 1 px gaps shifted by one pixel measured 9.0 (the VQ-VAE's encoder grid in Firefox),
# 3.9 once aligned. Measured against Chromium (mean |Δ| per channel, 0–255): Firefox 0.2–4.8, WebKitGTK 0.06–2.0.
# The magnifier drawn with vector-effect: non-scaling-stroke measured 100–102 in WebKit (a solid tan block).
REGION_TOLERANCE = 8.0
REGION_SIZE = 32


@pytest.fixture(scope="module")
def runs(browser, server_url, tmp_path_factory):
    """The scenario once in each engine (and Chromium, the reference), with its screenshots."""
    out = tmp_path_factory.mktemp("engines")
    results = {"chromium": drivers.chromium(browser, server_url, out)}
    for engine, binary in ENGINES.items():
        if shutil.which(binary) is None:
            pytest.fail(
                f"{binary} is missing: run `make setup` (it installs Debian's firefox-esr and webkit2gtk-driver)"
            )
        results[engine] = getattr(drivers, engine)(server_url, out)
    return results


def readings(run):
    return {step["name"]: step["reading"] for step in run["steps"]}


def floats(text):
    return np.array([float(v) for v in text.split(",")])


@pytest.mark.parametrize("engine", list(ENGINES))
def test_every_step_gives_chromiums_numbers(runs, engine):
    ours, theirs = readings(runs["chromium"]), readings(runs[engine])
    assert list(theirs) == [step["name"] for step in drivers.STEPS]
    for name in ("first view", "preset 5"):
        for key in ("mu", "sigma", "z"):
            np.testing.assert_allclose(floats(theirs[name][key]), floats(ours[name][key]), rtol=0, atol=1e-5)
    shown, expected = np.array(theirs["preset 5"]["pixels"]), np.array(ours["preset 5"]["pixels"])
    assert shown.shape == (784,) and np.abs(shown - expected).max() <= 2
    assert theirs["first view"]["nearest"] == ours["first view"]["nearest"]
    assert theirs["magnifier"] == ours["magnifier"]
    for name in ("details", "KL", "VQ-VAE", "Source"):
        assert theirs[name] == ours[name], name


@pytest.mark.parametrize("engine", list(ENGINES))
def test_a_drawn_stroke_is_encoded(runs, engine):
    drawn, preset = readings(runs[engine])["drawn stroke"], readings(runs[engine])["preset 5"]
    mu = floats(drawn["mu"])
    assert mu.shape == (2,) and np.isfinite(mu).all() and not np.allclose(mu, floats(preset["mu"]))


@pytest.mark.parametrize("engine", list(ENGINES))
def test_no_console_error(runs, engine):
    assert runs[engine]["errors"] == []
    assert runs["chromium"]["errors"] == []


def region_means(path, box, dx=0, dy=0):
    """The region's crop of a screenshot (moved by dx, dy pixels), as REGION_SIZE² RGB means."""
    from PIL import Image

    _, x, y, width, height = box
    x, y = x + dx, y + dy
    with Image.open(path) as image:
        crop = image.convert("RGB").crop((round(x), round(y), round(x + width), round(y + height)))
        return np.asarray(crop.resize((REGION_SIZE, REGION_SIZE), Image.Resampling.BOX), np.float64)


@pytest.mark.parametrize("engine", list(ENGINES))
def test_each_view_draws_what_chromium_draws(runs, engine):
    """Region by region, for every step: each drawing in view in both engines, at about one size, looks the same."""
    compared, far = 0, []
    for ours, theirs, ours_shot, theirs_shot in zip(
        runs["chromium"]["steps"],
        runs[engine]["steps"],
        runs["chromium"]["screenshots"],
        runs[engine]["screenshots"],
        strict=True,
    ):
        boxes = {box[0]: box for box in theirs["regions"]}
        for box in ours["regions"]:
            other = boxes.get(box[0])
            if other is None or abs(other[3] / box[3] - 1) > 0.05 or abs(other[4] / box[4] - 1) > 0.05:
                continue  # not in view in both, or laid out at another size (a scrollbar's width less)
            ours_means = region_means(ours_shot, box)
            difference = min(  # the best of the crops a pixel either way: engines snap a fractional box differently
                np.abs(ours_means - region_means(theirs_shot, other, dx, dy)).mean()
                for dx, dy in itertools.product((-1, 0, 1), repeat=2)
            )
            compared += 1
            if difference > REGION_TOLERANCE:
                far.append((ours["name"], box[0], round(float(difference), 1)))
    assert compared >= 8, f"only {compared} regions were in view in both engines"
    assert far == [], far
