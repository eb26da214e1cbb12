"""The shipped data files parse and agree with their manifests; every kind of mismatch is an ArtifactError that
names the file. Plus the decoder's pure helpers: image → RGBA, batch splitting, the manifold grid, the lerp path."""

import copy
import json
import math
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pysrc"))

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from page.artifacts import ArtifactError, parse_latent_map, parse_presets
from vae.decoder import PIXELS, grayscale_rgba, grid_points, lerp_path, split_images, tile_rgba

MODELS = Path(__file__).resolve().parents[1] / "models"
MAP_JSON = (MODELS / "latent_map.json").read_text()
MAP_BIN = (MODELS / "latent_map.bin").read_bytes()
PRESETS_JSON = (MODELS / "presets.json").read_text()
PRESETS_BIN = (MODELS / "presets.bin").read_bytes()
FAST = settings(max_examples=60, deadline=None)


def manifest(**changes):
    """The real latent-map manifest with some fields replaced; a value of ... deletes the field."""
    m = json.loads(MAP_JSON)
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = m
        for key in parents:
            target = target[key]
        if value is ...:
            del target[last]
        else:
            target[last] = value
    return json.dumps(m)


def small_map(mu, labels):
    """A self-consistent manifest and .bin for the given points."""
    count = len(labels)
    data = struct.pack(f"<{2 * count}f", *(v for p in mu for v in p)) + bytes(labels)
    m = json.loads(MAP_JSON)
    m["count"] = count
    m["mu"]["shape"] = [count, 2]
    m["labels"]["shape"] = [count]
    m["labels"]["offset"] = 8 * count
    m["byte_length"] = 9 * count
    return json.dumps(m), data


# ---- the real files ----


def test_real_latent_map_parses():
    mu, labels, (mu_min, mu_max) = parse_latent_map(MAP_JSON, MAP_BIN)
    assert len(mu) == len(labels) == 10_000
    assert set(labels) == set(range(10))
    assert all(len(p) == 2 and all(math.isfinite(v) for v in p) for p in mu)
    # the manifest's ranges are the min and max of the parsed μ (float32, so exactly representable)
    assert list(mu_min) == [min(p[0] for p in mu), min(p[1] for p in mu)]
    assert list(mu_max) == [max(p[0] for p in mu), max(p[1] for p in mu)]
    # and the values are the little-endian float32 of the file, in order
    reference = np.frombuffer(MAP_BIN[:80_000], dtype="<f4").reshape(-1, 2)
    np.testing.assert_array_equal(np.array(mu, dtype=np.float64), reference.astype(np.float64))
    assert labels == list(MAP_BIN[80_000:])


def test_real_latent_map_is_plausible():
    """A trained VAE's μ: every digit present in numbers, centred near the prior, spread over a few units."""
    mu, labels, _ = parse_latent_map(MAP_JSON, MAP_BIN)
    counts = np.bincount(labels, minlength=10)
    assert counts.min() > 700 and counts.sum() == 10_000
    arr = np.array(mu)
    assert np.all(np.abs(arr.mean(axis=0)) < 1.0)
    assert np.all((arr.std(axis=0) > 0.3) & (arr.std(axis=0) < 3.0))


def test_real_presets_parse():
    presets = parse_presets(PRESETS_JSON, PRESETS_BIN)
    assert len(presets) == 10
    for digit, image in enumerate(presets):
        assert isinstance(image, bytes) and len(image) == 784
        assert image == PRESETS_BIN[digit * 784 : (digit + 1) * 784]
        assert max(image) > 200 and sum(1 for b in image if b > 128) > 30  # a real digit, not a blank
        assert image[0] == 0  # MNIST's empty border


def test_bytearray_and_memoryview_inputs_work():
    mu, labels, _ = parse_latent_map(MAP_JSON, bytearray(MAP_BIN))
    assert len(mu) == len(labels) == 10_000
    assert parse_presets(PRESETS_JSON, memoryview(PRESETS_BIN)) == parse_presets(PRESETS_JSON, PRESETS_BIN)


def test_a_small_consistent_map_round_trips():
    points = [(0.5, -1.25), (3.0, 2.0), (-0.0, 1e-3)]
    text, data = small_map(points, [0, 9, 4])
    mu, labels, _ = parse_latent_map(text, data)
    assert labels == [0, 9, 4]
    assert mu == [pytest.approx(p, rel=1e-6) for p in points]


# ---- broken latent maps ----


def _fails(text, data, file):
    with pytest.raises(ArtifactError) as info:
        parse_latent_map(text, data)
    assert f"models/{file}" in str(info.value)
    return str(info.value)


@pytest.mark.parametrize(
    "data",
    [MAP_BIN[:-1], MAP_BIN[:80_000], MAP_BIN[:45_000], b"", MAP_BIN + b"\x00", MAP_BIN + MAP_BIN],
    ids=["one byte short", "no labels", "half", "empty", "one byte extra", "doubled"],
)
def test_wrong_size_bin_names_the_file(data):
    message = _fails(MAP_JSON, data, "latent_map.bin")
    assert str(len(data)) in message and "90000" in message


@pytest.mark.parametrize(
    "changes",
    [
        {"count": 9999},
        {"count": 10_001},
        {"count": 0},
        {"byte_length": 89_999},
        {"labels__offset": 80_001},
        {"labels__offset": 0},
        {"count": 9999, "mu__shape": [9999, 2]},
        {"count": 9999, "mu__shape": [9999, 2], "byte_length": 89_991, "labels__offset": 79_992},
    ],
)
def test_manifest_that_disagrees_with_the_bin(changes):
    with pytest.raises(ArtifactError) as info:
        parse_latent_map(manifest(**changes), MAP_BIN)
    assert "models/latent_map." in str(info.value)


@pytest.mark.parametrize(
    "changes",
    [
        {"mu__dtype": "float64"},
        {"mu__dtype": "float16"},
        {"mu__dtype": ...},
        {"labels__dtype": "int8"},
        {"labels__dtype": "uint16"},
        {"mu__shape": [10_000, 3]},
        {"mu__shape": [2, 10_000]},
        {"mu__shape": ...},
    ],
)
def test_wrong_dtype_or_shape_names_the_manifest(changes):
    _fails(manifest(**changes), MAP_BIN, "latent_map.json")


@pytest.mark.parametrize(
    "changes",
    [
        {"count": ...},
        {"count": "many"},
        {"count": None},
        {"mu": ...},
        {"mu": [0, 1]},
        {"mu__offset": ...},
        {"mu__offset": "start"},
        {"labels": ...},
        {"labels": "uint8"},
        {"byte_length": ...},
        {"byte_length": [90_000]},
        {"ranges": ...},
        {"ranges": [1, 2]},
        {"ranges__mu_min": ...},
    ],
)
def test_missing_or_mistyped_fields_name_the_manifest(changes):
    _fails(manifest(**changes), MAP_BIN, "latent_map.json")


@pytest.mark.parametrize("text", ["", "not json", "{", "<html>404</html>", "[1, 2]", '"text"', "null", "42"])
def test_non_json_or_non_object_manifest(text):
    _fails(text, MAP_BIN, "latent_map.json")


@pytest.mark.parametrize("label", [10, 12, 255])
def test_a_label_that_is_not_a_digit(label):
    data = bytearray(MAP_BIN)
    data[80_000 + 1234] = label
    message = _fails(MAP_JSON, bytes(data), "latent_map.bin")
    assert "label" in message


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("index", [0, 7, 19_999])
def test_a_non_finite_mu(value, index):
    data = bytearray(MAP_BIN)
    data[index * 4 : index * 4 + 4] = struct.pack("<f", value)
    message = _fails(MAP_JSON, bytes(data), "latent_map.bin")
    assert "non-finite" in message


@pytest.mark.parametrize("mu_offset", [4, 8, 10_001])
def test_shifted_offsets_are_an_artifact_error(mu_offset):
    text = manifest(mu__offset=mu_offset, labels__offset=mu_offset + 80_000)
    try:
        mu, labels, _ = parse_latent_map(text, MAP_BIN)
    except ArtifactError:
        return
    pytest.fail(f"accepted: {len(mu)} μ and {len(labels)} labels")


def test_random_corruption_never_escapes_as_another_error():
    """Flip bytes of the manifest text: the result is a parse or an ArtifactError, nothing else."""
    rng = np.random.default_rng(7)
    base = json.loads(MAP_JSON)
    mutations = [
        lambda m: m.update(count=rng.integers(-5, 20_000).item()),
        lambda m: m["mu"].update(offset=0.5),
        lambda m: m["labels"].update(offset=-1),
        lambda m: m.update(byte_length=True),
        lambda m: m["ranges"].update(mu_min=None),
        lambda m: m["mu"].update(shape=None),
        lambda m: m.update(mu={"dtype": "float32"}),
        lambda m: m.update(labels=[]),
    ]
    for mutate in mutations:
        m = copy.deepcopy(base)
        mutate(m)
        try:
            parse_latent_map(json.dumps(m), MAP_BIN)
        except ArtifactError as error:
            assert "models/latent_map." in str(error)


# ---- presets ----


@pytest.mark.parametrize("size", [0, 7839, 7841, 784, 78_400])
def test_presets_of_the_wrong_length(size):
    data = (PRESETS_BIN * 10)[:size]
    with pytest.raises(ArtifactError, match=r"models/presets\.bin") as info:
        parse_presets(PRESETS_JSON, data)
    assert str(size) in str(info.value)


@pytest.mark.parametrize(
    "change",
    [
        {"dtype": "float32"},
        {"dtype": None},
        {"shape": [10, 784]},
        {"shape": [9, 28, 28]},
        {"labels": [1, 0, 2, 3, 4, 5, 6, 7, 8, 9]},
        {"labels": list(range(9))},
    ],
)
def test_presets_manifest_that_is_not_ten_digits(change):
    m = json.loads(PRESETS_JSON)
    m.update(change)
    with pytest.raises(ArtifactError, match=r"models/presets\.json"):
        parse_presets(json.dumps(m), PRESETS_BIN)


@pytest.mark.parametrize("text", ["", "nope", "[]", "null"])
def test_presets_manifest_not_json(text):
    with pytest.raises(ArtifactError, match=r"models/presets\.json"):
        parse_presets(text, PRESETS_BIN)


# ---- decoder helpers ----


def test_grayscale_rgba_ends_and_alpha():
    image = [0.0, 1.0, math.nan, 0.5, -3.0, 7.0, math.inf, -math.inf]
    out = grayscale_rgba(image)
    assert isinstance(out, bytearray) and len(out) == 4 * len(image)
    pixels = [tuple(out[i : i + 4]) for i in range(0, len(out), 4)]
    assert pixels[0] == (255, 255, 255, 255)  # 0 → paper white
    assert pixels[1] == (17, 17, 17, 255)  # 1 → ink
    assert pixels[2] == pixels[0]  # NaN → treated as 0
    assert pixels[3][0] in (135, 136) and len(set(pixels[3][:3])) == 1  # halfway, gray
    assert pixels[4] == pixels[0] and pixels[7] == pixels[0]  # below 0 → paper
    assert pixels[5] == pixels[1] and pixels[6] == pixels[1]  # above 1 → ink
    assert grayscale_rgba([1.0], ink=0, paper=200) == bytearray([0, 0, 0, 255])


@FAST
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=100))
def test_grayscale_rgba_any_values(image):
    out = grayscale_rgba(image)
    assert len(out) == 4 * len(image)
    assert all(out[i + 3] == 255 for i in range(0, len(out), 4))
    for i, v in enumerate(image):
        r, g, b = out[4 * i : 4 * i + 3]
        assert r == g == b and 17 <= r <= 255
        clipped = 0.0 if not v >= 0.0 else min(v, 1.0)
        assert abs(r - (255 - 238 * clipped)) <= 1  # linear from paper to ink


def test_grayscale_rgba_is_monotonic_over_a_full_image():
    image = [i / (PIXELS - 1) for i in range(PIXELS)]
    out = grayscale_rgba(image)
    assert len(out) == PIXELS * 4
    reds = list(out[0::4])
    assert reds[0] == 255 and reds[-1] == 17
    assert all(b <= a for a, b in itertools.pairwise(reds))
    assert set(out[3::4]) == {255}


def test_tile_rgba_places_each_image_in_its_cell():
    n = 3
    images = [[k / 8] * PIXELS for k in range(n * n)]
    out = tile_rgba(images, n)
    width = n * 28
    assert len(out) == width * width * 4
    for k, image in enumerate(images):
        x, y = (k % n) * 28 + 13, (k // n) * 28 + 27
        i = (y * width + x) * 4
        assert tuple(out[i : i + 4]) == tuple(grayscale_rgba(image[:1]))


def test_split_images():
    flat = list(range(3 * PIXELS))
    parts = split_images(flat, 3)
    assert len(parts) == 3 and all(len(p) == PIXELS for p in parts)
    assert parts[1][0] == PIXELS and parts[2][-1] == 3 * PIXELS - 1
    assert split_images([], 0) == []
    for bad, count in [(flat, 2), (flat, 4), (flat[:-1], 3), ([0.0] * 10, 1)]:
        with pytest.raises(ValueError, match="expected"):
            split_images(bad, count)


@FAST
@given(st.floats(0.5, 60), st.integers(1, 25))
def test_grid_points_are_cell_centres_from_the_top_left(half, n):
    domain = (-half, half)
    points = grid_points(domain, n)
    assert len(points) == n * n
    step = 2 * half / n
    assert points[0] == pytest.approx([-half + step / 2, half - step / 2])  # top-left first
    assert points[-1] == pytest.approx([half - step / 2, -half + step / 2])  # bottom-right last
    for k, (x, y) in enumerate(points):
        row, col = divmod(k, n)
        assert -half < x < half and -half < y < half
        assert x == pytest.approx(-half + (col + 0.5) * step)
        assert y == pytest.approx(half - (row + 0.5) * step)
    # row by row: x grows along a row, y falls from row to row
    for row in range(n):
        xs = [points[row * n + c][0] for c in range(n)]
        assert xs == sorted(xs) and len(set(xs)) == n
    assert all(points[(r + 1) * n][1] < points[r * n][1] for r in range(n - 1))


def test_grid_points_example():
    assert grid_points((-2.0, 2.0), 2) == [[-1.0, 1.0], [1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]]


coord = st.floats(-50, 50, allow_nan=False)


@FAST
@given(st.tuples(coord, coord), st.tuples(coord, coord), st.integers(2, 40))
def test_lerp_path_runs_evenly_from_a_to_b(a, b, n):
    path = lerp_path(a, b, n)
    assert len(path) == n
    assert path[0] == list(a)
    assert path[-1] == pytest.approx(list(b), abs=1e-12)
    for i, (x, y) in enumerate(path):
        t = i / (n - 1)
        assert x == pytest.approx(a[0] + (b[0] - a[0]) * t, abs=1e-12)
        assert y == pytest.approx(a[1] + (b[1] - a[1]) * t, abs=1e-12)
    gaps = [math.dist(p, q) for p, q in itertools.pairwise(path)]
    assert max(gaps) - min(gaps) <= 1e-9


def test_lerp_path_example():
    assert lerp_path([0.0, 0.0], [1.0, -2.0], 5) == [[0.0, 0.0], [0.25, -0.5], [0.5, -1.0], [0.75, -1.5], [1.0, -2.0]]
