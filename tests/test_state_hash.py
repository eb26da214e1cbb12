"""App state in the URL hash: every state the page can reach round-trips through encode_hash and decode_hash,
within the link's limits, the views' states included (sparsely: defaults stay out of the link)."""

import base64
import json
import math
import re
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pysrc"))

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from state_helpers import FAST, assert_valid, blank, draw, pack, pack_json

from page.state import (
    CANVAS,
    EDITABLE_MODULES,
    KL_MODES,
    MAX_BETA,
    MAX_EPOCH,
    MAX_HASH,
    MAX_POINTS,
    MAX_SEED,
    MAX_STROKES,
    PANELS,
    PREFIX,
    VQ_MAX_CODES,
    Z_LIMIT,
    AppState,
    StateError,
    decode_hash,
    encode_hash,
)

# ---- the hash round trip ----

points = st.tuples(st.integers(-CANVAS, 2 * CANVAS), st.integers(-CANVAS, 2 * CANVAS))
canvas_points = st.tuples(st.integers(0, CANVAS), st.integers(0, CANVAS))
strokes = st.lists(st.lists(canvas_points | points, min_size=1, max_size=40), max_size=6)
latent = st.floats(-Z_LIMIT, Z_LIMIT, allow_nan=False).map(lambda v: round(v, 5))
vectors = st.lists(latent, min_size=2, max_size=2)
states = st.builds(
    AppState,
    strokes=strokes,
    preset=st.none() | st.integers(0, 9),
    seed=st.integers(0, MAX_SEED),
    pinned_z=st.none() | vectors,
    panels=st.sets(st.sampled_from(PANELS)),
    code=st.dictionaries(st.sampled_from(EDITABLE_MODULES), st.text(max_size=300)),
    interpolate=st.none() | st.lists(vectors, min_size=2, max_size=2),
    plot_view=st.none() | st.tuples(latent, latent, st.floats(1, 64).map(lambda v: round(v, 5))).map(list),
    kl_mode=st.sampled_from(KL_MODES),
    kl_epoch=st.none() | st.integers(0, MAX_EPOCH),
    kl_beta=st.sampled_from([0.0, 1.0, 3.0]) | st.floats(0, MAX_BETA, allow_nan=False),
    vq_edits=st.none()
    | st.lists(st.none() | st.integers(0, VQ_MAX_CODES - 1), min_size=49, max_size=49).filter(
        lambda edits: any(k is not None for k in edits)  # a grid with no edit is None, as the view keeps it
    ),
    vq_brush=st.integers(0, VQ_MAX_CODES - 1),
    vq_details=st.booleans(),
    vq_seed=st.integers(0, MAX_SEED),
)


@settings(max_examples=100, deadline=None)
@given(states)
@example(AppState())
@example(AppState(seed=0, strokes=[[(0, 0)]], preset=0, pinned_z=[-50.0, 50.0], panels=set(PANELS)))
@example(AppState(code={m: "def f():\n    return 'é ✓ \\u0000 \"quoted\"'\n" for m in EDITABLE_MODULES}))
def test_encode_decode_round_trip(state):
    text = encode_hash(state)
    assert text.startswith(PREFIX)
    assert re.fullmatch(r"v1\.[A-Za-z0-9_-]*", text), "the hash must be URL-safe, unpadded"
    back = decode_hash(text)
    assert back == state
    assert_valid(back)
    assert decode_hash("#" + text) == state  # location.hash keeps its '#'
    assert encode_hash(back) == text  # encoding is canonical


@FAST
@given(st.lists(st.lists(st.tuples(st.floats(0, CANVAS), st.floats(0, CANVAS)), min_size=1, max_size=20), max_size=4))
def test_fractional_points_round_to_tenths_of_a_pixel(drawing):
    back = decode_hash(encode_hash(AppState(strokes=drawing)))
    assert back.strokes == [[(round(x * 10) / 10, round(y * 10) / 10) for x, y in s] for s in drawing]


def test_a_long_realistic_drawing_round_trips_within_the_limits():
    state = blank()
    x = y = 140.0
    draw(state, (x, y))
    for i in range(MAX_POINTS - 1):
        if i % 2000 == 1999:
            draw(state, (x, y))
            continue
        x = min(CANVAS, max(0.0, x + math.sin(i * 0.37) * 3))
        y = min(CANVAS, max(0.0, y + math.cos(i * 0.23) * 3))
        state.extend_stroke((round(x, 1), round(y, 1)))
    assert sum(len(s) for s in state.strokes) == MAX_POINTS
    text = encode_hash(state)
    assert len(text) < MAX_HASH
    tenths = [[(round(x * 10) / 10, round(y * 10) / 10) for x, y in s] for s in state.strokes]
    assert decode_hash(text).strokes == tenths


@pytest.mark.parametrize("case", ["strokes", "points"])
def test_every_drawing_the_actions_allow_round_trips(case):
    state = blank()
    if case == "strokes":
        for i in range(MAX_STROKES + 1):  # 501 taps
            draw(state, (i % CANVAS, 10))
    else:
        draw(state, (0, 0))
        for i in range(MAX_POINTS):
            state.extend_stroke((i % 200, 1))
        draw(state, (5, 5))  # one more tap after the cap
    decode_hash(encode_hash(state))


@pytest.mark.parametrize(
    ("kl", "why"),
    [
        ([], "wrong shape"),
        ({"m": "replay", "q": 1}, "wrong shape"),
        ({"m": "vq"}, "does not have"),
        ({"e": -1}, "epoch"),
        ({"e": 2.5}, "epoch"),
        ({"e": MAX_EPOCH + 1}, "epoch"),
        ({"b": -0.5}, "β"),
        ({"b": "3"}, "β"),
        ({"b": MAX_BETA * 2}, "β"),
    ],
)
def test_a_bad_kl_view_state_is_named(kl, why):
    with pytest.raises(StateError, match=why):
        decode_hash(pack(json.dumps({"k": kl}).encode()))


def test_the_kl_view_state_round_trips_and_defaults_stay_out_of_the_link():
    state = AppState(kl_mode="beta", kl_epoch=5, kl_beta=3.0)
    assert decode_hash(encode_hash(state)) == state
    assert "k" not in json.loads(zlib.decompress(base64.urlsafe_b64decode(encode_hash(AppState())[3:] + "==")))


@pytest.mark.parametrize(
    ("vq", "why"),
    [
        ([], "wrong shape"),
        ({"x": 1}, "wrong shape"),
        ({"b": -1}, "paint code"),
        ({"b": 256}, "paint code"),
        ({"b": True}, "paint code"),
        ({"e": {"0": 1}}, "wrong shape"),
        ({"e": [[0, 1, 2]]}, "wrong shape"),
        ({"e": [[0, 1.0]]}, "wrong shape"),
        ({"e": [[49, 1]]}, "outside the 7×7 grid"),
        ({"e": [[-1, 1]]}, "outside the 7×7 grid"),
        ({"e": [[3, 1], [3, 2]]}, "a cell twice"),
        ({"e": [[3, 256]]}, "code number"),
        ({"e": [[i % 49, 0] for i in range(50)]}, "wrong shape"),
        ({"d": 2}, "details flag"),
        ({"d": True}, "details flag"),
        ({"d": "1"}, "details flag"),
        ({"s": -1}, "prior seed"),
        ({"s": 2**31}, "prior seed"),
        ({"s": 3.0}, "prior seed"),
        ({"s": True}, "prior seed"),
    ],
)
def test_a_bad_vq_view_state_is_named(vq, why):
    with pytest.raises(StateError, match=why):
        decode_hash(pack_json({"v": vq}))


def test_the_vq_view_state_round_trips_sparsely_and_defaults_stay_out_of_the_link():
    edits = [None] * 49
    edits[0], edits[24], edits[48] = 3, 15, 0
    state = AppState(panels={"vq"}, vq_edits=edits, vq_brush=7, vq_details=True, vq_seed=4)
    assert decode_hash(encode_hash(state)) == state
    raw = json.loads(zlib.decompress(base64.urlsafe_b64decode(encode_hash(state)[3:] + "==")))
    assert raw["v"] == {"e": [[0, 3], [24, 15], [48, 0]], "b": 7, "d": 1, "s": 4}
    assert decode_hash(encode_hash(AppState(vq_details=True))).vq_details is True
    # No edits (or a grid whose edits were all reset) and brush 0 add nothing to the link.
    for quiet in (AppState(), AppState(vq_edits=[None] * 49)):
        assert "v" not in json.loads(zlib.decompress(base64.urlsafe_b64decode(encode_hash(quiet)[3:] + "==")))
    assert decode_hash(encode_hash(AppState(vq_edits=[None] * 49))).vq_edits is None
