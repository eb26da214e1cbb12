"""The pure core of the "Why the KL term?" view (pysrc/kl_evidence.py), under CPython, on the real models/kl/ files:
the page reads the same index, maps and figures that training/kl.py wrote and tests/test_kl_models.py recomputes."""

import itertools
import json
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from kl import charts
from kl import evidence as kl
from training import kl as training_kl
from training.mnist import REPO
from vae.latent_plot import LatentPlot

KL_DIR = REPO / "models" / "kl"
SVG = "{http://www.w3.org/2000/svg}"


def read(url):
    return (REPO / url).read_bytes()


@pytest.fixture(scope="module")
def index():
    return kl.Index((KL_DIR / "index.json").read_text())


@pytest.fixture(scope="module")
def maps(index):
    return {name: kl.parse_map(index.layout, read(e.files["latent_map"][0]), "m") for name, e in index.entries.items()}


def test_the_index_is_the_one_training_wrote(index):
    written = training_kl.read_index(KL_DIR)
    assert index.epochs == sorted(int(e) for e in written["checkpoints"])
    assert index.beta_values == sorted(float(b) for b in written["betas"])
    for name, entry in written["entries"].items():
        ours = index.entries[name]
        assert (ours.beta, ours.epoch) == (entry["beta"], entry["epoch"])
        assert ours.metrics == {k: entry["metrics"][k] for k in kl.METRICS}
        for key, record in entry["files"].items():
            url, size, digest = ours.files[key]
            assert (REPO / url).resolve() == (KL_DIR / record["path"]).resolve()
            assert (size, digest) == (record["bytes"], record["sha256"])
    assert index.entry("replay", 0, 1.0) is index.entries["epoch-00"]
    assert index.entry("beta", 30, 1.0) is index.checkpoints[index.epochs[-1]]


def test_every_file_passes_its_check_and_a_damaged_one_is_named(index):
    for entry in index.entries.values():
        for record in entry.files.values():
            assert kl.check_file(record, read(record[0])) == read(record[0])
    record = index.checkpoints[5].files["encoder"]
    data = read(record[0])
    with pytest.raises(kl.KlError, match=re.escape(record[0]) + ".*truncated"):
        kl.check_file(record, data[:-10])
    with pytest.raises(kl.KlError, match=re.escape(record[0]) + " is corrupt"):
        kl.check_file(record, data[:100] + bytes([data[100] ^ 1]) + data[101:])


def test_maps_are_the_files_float16_values(index, maps):
    """The page's stdlib float16 reader gives exactly what numpy reads from the same files."""
    for name, entry in training_kl.read_index(KL_DIR)["entries"].items():
        mu, sigma, labels = training_kl.read_latent_map(KL_DIR, entry)
        ours = maps[name]
        assert np.array_equal(np.array([ours.xs, ours.ys]).T, mu)
        assert np.array_equal(np.array([ours.sigma_x, ours.sigma_y]).T, sigma)
        assert ours.labels == labels.tobytes()


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda d: d.pop("entries"), "not a KL evidence index"),
        (lambda d: d["entries"]["epoch-05"]["files"]["encoder"].update(path="../../../etc/passwd.onnx"), "path"),
        (lambda d: d["entries"]["epoch-05"]["files"]["encoder"].update(sha256="abc"), "sha256"),
        (lambda d: d["entries"]["epoch-05"]["metrics"].update(test_kl=float("nan")), "non-finite"),
        (lambda d: d["latent_map"].update(byte_length=10), "byte length"),
        (lambda d: d["checkpoints"].update({"7": "epoch-07"}), "epoch-07"),
        (lambda d: d.update(betas={"3": "beta-3"}), "no β = 1"),
    ],
)
def test_a_broken_index_is_named(change, why):
    data = json.loads((KL_DIR / "index.json").read_text())
    change(data)
    with pytest.raises(kl.KlError, match=re.escape(kl.INDEX_URL) + ".*" + why):
        kl.Index(json.dumps(data))
    with pytest.raises(kl.KlError, match="not a KL evidence index"):
        kl.Index("{not json")


def test_a_map_of_the_wrong_length_is_named(index):
    with pytest.raises(kl.KlError, match=r"models/kl/x\.bin has 5 bytes"):
        kl.parse_map(index.layout, b"12345", "models/kl/x.bin")


def test_paths_of_two_maps_differ_only_in_their_numbers(index, maps):
    """So the browser can morph one into the other: the same commands, one per code, in the same order."""
    plot = LatentPlot(kl.domain_of([maps[e.name] for e in index.checkpoints.values()]))
    shapes = set()
    for name in ("epoch-00", "epoch-05", "epoch-30"):
        paths = kl.digit_paths(plot, maps[name])
        assert sum(p.count("M") for p in paths) == index.layout["count"]
        shapes.add(tuple(re.sub(r"-?\d+\.\d", "#", p) for p in paths))
    assert len(shapes) == 1
    # Every code lies inside the plot area: the replay's axes hold all its checkpoints.
    left, top, size, _ = plot.area
    for p in kl.digit_paths(plot, maps["epoch-01"]):
        for x, y in re.findall(r"M(-?[\d.]+) (-?[\d.]+)h0", p):
            assert left - 0.05 <= float(x) <= left + size + 0.05 and top - 0.05 <= float(y) <= top + size + 0.05


def test_untrained_codes_sit_on_the_prior_and_trained_ones_spread(index, maps):
    untrained, trained = maps["epoch-00"], maps[index.checkpoints[index.epochs[-1]].name]
    assert untrained.reach < 0.5 < 2.0 < trained.reach < 5.0
    assert all(0.9 < s < 1.1 for s in untrained.mean_sigma)
    assert all(s < 0.2 for s in trained.mean_sigma)
    # Without the KL term most codes leave the prior's 3σ circle; with it, almost none do.
    autoencoder = maps[index.betas[0.0].name]
    assert autoencoder.outside_prior > 0.5 > 0.05 > trained.outside_prior
    assert autoencoder.reach > 3 * trained.reach


def test_the_prior_draws_are_the_same_for_every_call():
    zs = kl.prior_zs()
    assert len(zs) == kl.PRIOR_COUNT and all(len(z) == 2 for z in zs)
    assert zs == kl.prior_zs() and len({tuple(z) for z in zs}) == kl.PRIOR_COUNT
    assert abs(np.mean(zs)) < 0.6 and 0.5 < np.std(zs) < 1.6  # draws of N(0, I), not a fixed pattern


def parse(markup):
    return ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg">{markup}</svg>')


def test_loss_curves_mark_the_epoch_at_its_figures(index):
    for epoch in (index.epochs[0], 5, index.epochs[-1]):
        root = parse(charts.curves_markup(index, epoch))
        lines = [n for n in root.iter(f"{SVG}polyline")]
        assert len(lines) == 3 and all(len(n.get("points").split()) == len(index.epochs) for n in lines)
        marks = [n for n in root.iter(f"{SVG}line") if n.get("class") == "epoch-mark"]
        assert len(marks) == 2 and marks[0].get("x1") == marks[1].get("x1")
        dots = [n for n in root.iter(f"{SVG}circle") if n.get("class") == "curve-dot"]
        # Each dot sits on its curve at the epoch: its point is one of the polylines' points.
        points = {p for n in lines for p in n.get("points").split()}
        assert {f"{d.get('cx')},{d.get('cy')}" for d in dots} <= points
        assert len(dots) == 3
    assert "epoch-mark" not in charts.curves_markup(index, None)


def test_rate_distortion_puts_each_model_at_its_figures(index):
    root = parse(charts.rate_distortion_markup(index, 3.0))
    models = {n.get("data-beta"): n for n in root.iter(f"{SVG}circle") if "rd-model" in (n.get("class") or "")}
    assert sorted(models) == sorted(f"{b:g}" for b in index.beta_values)
    assert [b for b, n in models.items() if "chosen" in n.get("class")] == ["3"]
    # Lower KL is further left, higher BCE further down the chart (y grows downward).
    by_kl = sorted(index.beta_values, key=lambda b: index.betas[b].metrics["test_kl"])
    assert sorted(models, key=lambda b: float(models[b].get("cx"))) == [f"{b:g}" for b in by_kl]
    by_bce = sorted(index.beta_values, key=lambda b: index.betas[b].metrics["test_reconstruction_bce"])
    assert sorted(models, key=lambda b: -float(models[b].get("cy"))) == [f"{b:g}" for b in by_bce]


def test_rate_distortion_rings_the_replays_epoch_on_the_path(index):
    root = parse(charts.rate_distortion_markup(index, None, 5))
    (ring,) = [n for n in root.iter(f"{SVG}circle") if n.get("class") == "rd-epoch"]
    (dot,) = [
        d
        for d in root.iter(f"{SVG}circle")
        if d.get("class") == "curve-dot path" and (d.get("cx"), d.get("cy")) == (ring.get("cx"), ring.get("cy"))
    ]
    assert ring.get("data-epoch") == "5" and dot is not None
    assert "rd-epoch" not in charts.rate_distortion_markup(index, 3.0)
    assert "rd-epoch" not in charts.rate_distortion_markup(index, None, 0)  # epoch 0 is off the chart


def test_rate_distortion_labels_sit_apart_off_the_path_and_inside_the_chart(index):
    """Each β model's label and the path's "epoch 1" are placed beside their points: no two on each other, none on
    the path's line, all inside the plotting area (test_layout measures the drawn text; this checks the placement
    for every β chosen, with the estimated sizes the chart places them by)."""
    for beta in (None, *index.beta_values):
        root = parse(charts.rate_distortion_markup(index, beta, 5))
        labels = [n for n in root.iter(f"{SVG}text") if n.get("class") == "rd-label" or n.text.startswith("epoch ")]
        assert sorted(n.text for n in labels) == sorted(["epoch 1", *(f"β = {b:g}" for b in index.beta_values)])
        boxes = []
        for n in labels:
            x, y, w = float(n.get("x")), float(n.get("y")), charts._text_width(n.text)
            boxes.append((x - w / 2, y - 0.8 * charts.FONT, x + w / 2, y + 0.25 * charts.FONT))
        width, _, left, right, bottom, top = charts.CHART
        assert all(
            left <= b[0] and top <= b[1] and b[2] <= width - right and b[3] <= charts.RD_HEIGHT - bottom for b in boxes
        )
        assert not any(charts._boxes_meet(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
        (path,) = [n for n in root.iter(f"{SVG}polyline")]
        line = [tuple(map(float, p.split(","))) for p in path.get("points").split()]
        assert not any(charts._crosses(b, s) for b in boxes for s in itertools.pairwise(line))


def test_crowded_tick_labels_are_thinned_keeping_both_ends():
    axis = charts.Axis(1.0, 1000.0, 0.0, 120.0, "log")
    ticks = [1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000]
    kept = charts._apart(ticks, axis, lambda t: charts._text_width(str(t)))
    assert kept[0] == 1 and kept[-1] == 1000 and len(kept) < len(ticks)
    centres = [axis(t) for t in kept]
    widths = [charts._text_width(str(t)) for t in kept]
    assert all(b - a >= (wa + wb) / 2 for a, b, wa, wb in zip(centres, centres[1:], widths, widths[1:], strict=False))
    assert charts._apart([1, 10, 100], axis, lambda t: charts._text_width(str(t))) == [1, 10, 100]


def test_the_words_carry_the_index_figures_not_typed_ones(index, maps):
    """Change a figure in the index and the sentence changes with it."""
    entry = index.checkpoints[5]
    words = " ".join(kl.replay_words(index, 5, maps[entry.name]))
    assert f"{entry.metrics['test_reconstruction_bce']:.1f}" in words and f"{entry.metrics['test_kl']:.2f}" in words
    data = json.loads((KL_DIR / "index.json").read_text())
    data["entries"][entry.name]["metrics"]["test_reconstruction_bce"] = 123.456
    data["entries"]["beta-3"]["metrics"]["test_kl"] = 1.234
    changed = kl.Index(json.dumps(data))
    assert "123.5" in " ".join(kl.replay_words(changed, 5, maps[entry.name]))
    assert "1.23" in " ".join(kl.beta_words(changed, 3.0, maps["beta-3"]))
    for beta in index.beta_values:
        text = " ".join(kl.beta_words(index, beta, maps[index.betas[beta].name]))
        assert f"{index.betas[beta].metrics['test_kl']:.2f}".rstrip("0").rstrip(".") in text


def test_beta_1_is_named_a_rerun_when_it_is_not_the_pages_model(index, maps):
    """The index says whether its final checkpoint is the shipped model; the words say which it is."""
    data = json.loads((KL_DIR / "index.json").read_text())
    words = " ".join(kl.beta_words(index, 1.0, maps[index.betas[1.0].name]))
    if data["final_checkpoint_is_the_shipped_model"]:
        assert "is the VAE this page runs" in words
    else:
        shipped = data["shipped_model_metrics"]
        assert "rerun" in words and "this page runs" not in words
        assert f"{shipped['test_reconstruction_bce']:.1f} and {shipped['test_kl']:.2f}" in words
    data["final_checkpoint_is_the_shipped_model"] = True
    same = kl.Index(json.dumps(data))
    assert "is the VAE this page runs" in " ".join(kl.beta_words(same, 1.0, maps[same.betas[1.0].name]))


def test_the_rate_is_called_a_bound_not_the_information(index, maps):
    """At β = 0 the KL exceeds ln(test images), the most a code can say about which test image it came from."""
    words = " ".join(kl.beta_words(index, 0.0, maps[index.betas[0.0].name]))
    assert f"ln {index.test_images:,} = {math.log(index.test_images):.2f} nats" in words
    assert index.betas[0.0].metrics["test_kl"] > math.log(index.test_images)
    assert "upper bound" in " ".join(kl.beta_words(index, 1.0, maps[index.betas[1.0].name]))
