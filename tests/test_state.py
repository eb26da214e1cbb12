"""App state: the drawing actions and Undo, the URL hash round trip, and decoding that trusts nothing: whatever a
hash holds, decode_hash gives a valid AppState or a StateError, never another exception, and never runs code."""

import base64
import builtins
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

from page.state import (
    CANVAS,
    EDITABLE_MODULES,
    KL_MODES,
    MAX_BETA,
    MAX_CODE,
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
    canvas_point,
    decode_hash,
    encode_hash,
)

FAST = settings(max_examples=60, deadline=None)


def pack(raw, level=9):
    """Bytes as a hash exactly as encode_hash packs them: v1. + unpadded base64url(zlib(raw))."""
    return PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, level)).decode().rstrip("=")


def pack_json(obj):
    return pack(json.dumps(obj, separators=(",", ":")).encode())


def decode_or_error(text):
    """decode_hash's only two outcomes: a valid AppState, or StateError (returned as None). Anything else raises."""
    try:
        state = decode_hash(text)
    except StateError as error:
        assert str(error)  # a message for the learner
        return None
    assert_valid(state)
    return state


def assert_valid(state):
    """Every invariant the page relies on after decoding."""
    assert isinstance(state, AppState)
    assert type(state.seed) is int and 0 <= state.seed <= MAX_SEED
    assert state.preset is None or (type(state.preset) is int and 0 <= state.preset <= 9)
    assert isinstance(state.strokes, list) and len(state.strokes) <= MAX_STROKES
    assert sum(len(s) for s in state.strokes) <= MAX_POINTS
    for stroke in state.strokes:
        assert stroke
        for x, y in stroke:
            assert type(x) is float and type(y) is float
            assert -CANVAS <= x <= 2 * CANVAS and -CANVAS <= y <= 2 * CANVAS
    for vector in [state.pinned_z, *(state.interpolate or [])]:
        if vector is not None:
            assert len(vector) == 2
            assert all(type(v) is float and math.isfinite(v) and abs(v) <= Z_LIMIT for v in vector)
    assert state.interpolate is None or len(state.interpolate) == 2
    assert isinstance(state.panels, set) and state.panels <= set(PANELS)
    assert isinstance(state.code, dict) and set(state.code) <= set(EDITABLE_MODULES)
    assert all(isinstance(src, str) and len(src) <= MAX_CODE for src in state.code.values())


# ---- actions and Undo ----


def blank():
    """An empty drawing (a fresh AppState may start on a preset digit: the page's first view)."""
    return AppState(preset=None)


def test_a_fresh_state_is_valid_and_round_trips():
    state = AppState()
    assert_valid(state)
    assert decode_hash(encode_hash(state)) == state
    assert blank().is_blank


def draw(state, *points):
    state.begin_stroke(points[0])
    for p in points[1:]:
        state.extend_stroke(p)


def test_strokes_are_built_point_by_point():
    state = blank()
    assert state.is_blank
    draw(state, (1, 2), (3, 4), (5, 6))
    draw(state, (10, 10))
    assert state.strokes == [[(1, 2), (3, 4), (5, 6)], [(10, 10)]]
    assert not state.is_blank


def test_undo_sequences_restore_the_right_drawing():
    state = blank()
    assert state.undo() is False  # nothing to undo
    draw(state, (1, 1), (2, 2))
    draw(state, (5, 5), (6, 6), (7, 7))
    state.choose_preset(3)
    assert state.preset == 3 and state.strokes == [] and not state.is_blank
    draw(state, (9, 9))  # drawing over a preset replaces it
    assert state.preset is None and state.strokes == [[(9, 9)]]
    state.clear()
    assert state.is_blank

    assert state.undo() is True  # undo the clear
    assert state.preset is None and state.strokes == [[(9, 9)]]
    assert state.undo() is True  # undo the stroke drawn over the preset: the preset comes back
    assert state.preset == 3 and state.strokes == []
    assert state.undo() is True  # undo the preset: both strokes come back, whole
    assert state.preset is None and state.strokes == [[(1, 1), (2, 2)], [(5, 5), (6, 6), (7, 7)]]
    assert state.undo() is True
    assert state.strokes == [[(1, 1), (2, 2)]]
    assert state.undo() is True
    assert state.is_blank
    assert state.undo() is False
    assert state.undo() is False
    assert state.is_blank


def test_undo_snapshots_are_not_changed_by_later_drawing():
    state = blank()
    draw(state, (1, 1))
    draw(state, (2, 2))
    state.extend_stroke((3, 3))
    state.strokes[0].append((99, 99))  # even a direct edit of a live stroke leaves the snapshot alone
    state.undo()
    assert state.strokes == [[(1, 1)]]
    state.undo()
    assert state.strokes == []


def test_clearing_a_blank_drawing_is_undoable_and_harmless():
    state = blank()
    state.clear()
    assert state.undo() is True and state.is_blank
    assert state.undo() is False


def test_undo_remembers_the_last_hundred_changes():
    state = blank()
    for i in range(150):
        draw(state, (i, i))
    assert len(state.undo_stack) == 100
    for _ in range(100):
        assert state.undo() is True
    assert len(state.strokes) == 50
    assert state.undo() is False


@pytest.mark.parametrize(
    "action",
    [
        lambda s: s.begin_stroke((4, 4)),
        lambda s: s.choose_preset(7),
        lambda s: s.clear(),
        lambda s: s.undo(),
    ],
    ids=["begin_stroke", "choose_preset", "clear", "undo"],
)
def test_changing_the_drawing_unpins_z(action):
    state = blank()
    draw(state, (1, 1), (2, 2))
    state.pinned_z = [0.5, -1.0]
    action(state)
    assert state.pinned_z is None


def test_extending_keeps_the_pinned_z_and_needs_a_stroke():
    state = blank()
    state.extend_stroke((1, 1))  # no stroke begun: nothing happens
    assert state.strokes == [] and state.undo_stack == []
    draw(state, (1, 1))
    state.pinned_z = [1.0, 1.0]
    state.extend_stroke((2, 2))
    assert state.pinned_z == [1.0, 1.0]
    assert len(state.undo_stack) == 1  # extending is part of the stroke, not a separate Undo step


def test_extend_stops_at_max_points():
    state = blank()
    draw(state, (0, 0))
    for i in range(MAX_POINTS + 50):
        state.extend_stroke((i % 200, 1))
    assert sum(len(s) for s in state.strokes) == MAX_POINTS


def test_input_before_python_is_replayed_as_if_given_then():
    """boot.mjs hands over what the learner did, in order; each place becomes the point a handler would make."""
    state = AppState()  # the first view: a preset
    first = state.preset
    actions = [
        ["preset", 7],
        ["stroke", [0.5, 0.25, 0.5, 0.25, 0.50001, 0.25, 0.75, 1.2]],
        ["clear"],
        ["undo"],
        ["stroke", [-0.1, 0.1]],
    ]
    assert state.replay(actions) is True
    # A place that rounds to the last point is no new point; a place off the canvas is clamped to its edge.
    assert state.preset is None and state.strokes == [[(140.0, 70.0), (210.0, 280.0)], [(0.0, 28.0)]]
    # The same Undo history as the same input given after Python started.
    assert [state.undo(), state.strokes] == [True, [[(140.0, 70.0), (210.0, 280.0)]]]
    assert [state.undo(), state.preset, state.strokes] == [True, 7, []]
    assert [state.undo(), state.preset, state.undo()] == [True, first, False]
    with pytest.raises(ValueError, match="'shake'"):
        state.replay([["shake"]])


def test_input_handed_over_stops_at_the_link_limit():
    state = blank()
    assert state.replay([["stroke", [0.1, 0.1]]] * MAX_STROKES) is True
    assert state.replay([["stroke", [0.2, 0.2]], ["clear"]]) is False
    assert len(state.strokes) == MAX_STROKES  # and the clear after the refused stroke was dropped


@given(st.floats(-2, 3), st.floats(-2, 3))
def test_canvas_point_is_the_clamped_place_in_tenths(fx, fy):
    x, y = canvas_point(fx, fy)
    assert 0 <= x <= CANVAS and 0 <= y <= CANVAS
    assert x == round(x, 1) and abs(x - min(CANVAS, max(0, fx * CANVAS))) <= 0.05 + 1e-9
    assert abs(y - min(CANVAS, max(0, fy * CANVAS))) <= 0.05 + 1e-9


def test_toggle_panels():
    state = blank()
    assert state.toggle("loss") is True and state.panels == {"loss"}
    assert state.toggle("loss") is False and state.panels == set()
    assert state.toggle("prior", on=True) is True and state.toggle("prior", on=True) is True
    assert state.panels == {"prior"}
    assert state.toggle("prior", on=False) is False and state.toggle("prior", on=False) is False
    assert state.panels == set()


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


# ---- garbage and hostile hashes ----


def test_wrong_format_and_size_are_refused():
    for text in ["", "#", "v2.eJyrVkpVslIqSS0uUaoFAB8dBFk", "V1.abc", "hello", "#v1", "v1", "{}"]:
        with pytest.raises(StateError):
            decode_hash(text)
    with pytest.raises(StateError, match="too long"):
        decode_hash(PREFIX + "A" * MAX_HASH)


@FAST
@given(st.text(max_size=300))
@example("v1.")
@example("v1.====")
@example("v1.é")
@example("v1.\x00\x00")
def test_random_text_is_state_or_state_error(text):
    decode_or_error(text)
    decode_or_error(PREFIX + text)


@FAST
@given(st.binary(max_size=400))
def test_random_bytes_are_state_or_state_error(data):
    decode_or_error(PREFIX + base64.urlsafe_b64encode(data).decode().rstrip("="))
    decode_or_error(PREFIX + base64.urlsafe_b64encode(data).decode())  # padded too
    decode_or_error(pack(data))  # valid zlib around garbage


# JSON values of every shape, with the nasty ones made likely. Integers stay within float range: a huge integer
# inside a vector is covered by test_huge_integers_in_vectors_are_a_state_error below.
nasty_numbers = st.sampled_from(
    [0, -1, 1, 9, 10, 2**31 - 1, 2**31, -(2**31), 10**300, -(10**300), 1e308, -1e308, 0.5, -0.0, 1e-320, 50, 51]
)
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | nasty_numbers
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=10)
    | st.sampled_from([*PANELS, *EDITABLE_MODULES, "main", "state", "__init__"])
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=30,
)
keys = st.sampled_from(["e", "s", "p", "z", "o", "c", "i", "k", "x", ""])
shaped = st.dictionaries(keys, json_values, max_size=7)


def near_valid():
    """Valid-looking hashes with one field wrong in a plausible way."""
    int_lists = st.lists(st.integers(-600, 600) | nasty_numbers | st.booleans() | st.floats(), max_size=12)
    return st.fixed_dictionaries(
        {},
        optional={
            "e": st.integers(-5, 2**32) | st.booleans() | st.floats() | st.text(max_size=3),
            "s": st.lists(int_lists | json_values, max_size=5),
            "p": st.integers(-3, 12) | st.booleans() | st.floats() | st.text(max_size=2),
            "z": st.lists(st.floats() | nasty_numbers | st.booleans() | st.none(), max_size=3),
            "o": st.lists(st.sampled_from(PANELS) | st.text(max_size=8) | json_values, max_size=8),
            "c": st.dictionaries(
                st.sampled_from(EDITABLE_MODULES) | st.text(max_size=8), st.text(max_size=20) | json_values
            ),
            "i": st.lists(st.lists(st.floats() | nasty_numbers, max_size=3) | json_values, max_size=3),
        },
    )


@settings(max_examples=150, deadline=None)
@given(json_values | shaped | near_valid())
def test_json_of_wrong_shapes_and_types_is_state_or_state_error(value):
    # json.dumps writes NaN and Infinity as bare tokens, which json.loads accepts back
    decode_or_error(pack(json.dumps(value).encode()))


@pytest.mark.parametrize(
    "obj",
    [
        [],
        [1, 2],
        "text",
        3,
        None,
        {"e": "1"},
        {"e": -1},
        {"e": MAX_SEED + 1},
        {"e": True},
        {"e": 1.0},
        {"e": 10**300},
        {"s": "abc"},
        {"s": [[1]]},
        {"s": [[1, 2, 3]]},
        {"s": [[1.5, 2]]},
        {"s": [[True, 1]]},
        {"s": [[]]},
        {"s": [{}]},
        {"s": [None]},
        {"s": [[30 * CANVAS, 0]]},  # coordinates are in tenths of a pixel
        {"s": [[0, -20 * CANVAS]]},
        {"s": [[100, 100, 6000, 0]]},  # the second point, a delta away, lies outside
        {"s": [[0, 0]] * (MAX_STROKES + 1)},
        {"s": [[1, 1] * (MAX_POINTS + 1)]},
        {"s": [[1, 1] * 10_001, [1, 1] * 10_000]},
        {"p": 10},
        {"p": -1},
        {"p": True},
        {"p": "3"},
        {"p": 3.0},
        {"z": [1]},
        {"z": [1, 2, 3]},
        {"z": "ab"},
        {"z": {"x": 1}},
        {"z": [True, 0]},
        {"z": [Z_LIMIT + 0.001, 0]},
        {"z": [0, -1e308]},
        {"z": [None, 0]},
        {"o": ["nope"]},
        {"o": "details"},
        {"o": [["details"]]},
        {"o": [{"details": 1}]},
        {"o": {"details": True}},
        {"c": {"main": "x = 1"}},
        {"c": {"state": "x = 1"}},
        {"c": {"loss": 5}},
        {"c": {"loss": None}},
        {"c": ["loss"]},
        {"c": "loss"},
        {"c": {"loss": "x" * (MAX_CODE + 1)}},
        {"i": [[0, 0]]},
        {"i": [[0, 0], [0, 0], [0, 0]]},
        {"i": [[0, "a"], [0, 0]]},
        {"i": [[0, 0], [0, 99]]},
        {"i": "xx"},
        {"i": {"a": 1}},
    ],
)
def test_wrong_fields_are_a_state_error(obj):
    with pytest.raises(StateError):
        decode_hash(pack_json(obj))


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("template", ['{"z":[%s,0]}', '{"i":[[0,0],[%s,1]]}', '{"e":%s}', '{"s":[[%s,1]]}', '{"p":%s}'])
def test_nan_and_infinity_are_a_state_error(template, token):
    with pytest.raises(StateError):
        decode_hash(pack((template % token).encode()))


def test_lenient_but_valid_fields_are_accepted():
    state = decode_hash(pack_json({"z": [1, -2], "i": [[0, 0], [1, 2]], "o": [], "c": {}, "s": [], "q": "ignored"}))
    assert state.pinned_z == [1.0, -2.0] and all(type(v) is float for v in state.pinned_z)
    assert state.interpolate == [[0.0, 0.0], [1.0, 2.0]]
    assert state.seed == 1 and state.strokes == [] and state.panels == set() and state.code == {}
    assert decode_hash(pack_json({"p": None, "z": None, "i": None})) == blank()


def test_zip_bomb_is_refused_without_inflating_it():
    bomb = pack(b" " * 10_000_000)
    assert len(bomb) < MAX_HASH  # small enough to get past the length check
    with pytest.raises(StateError, match="more data"):
        decode_hash(bomb)
    # the same with valid JSON in front, and a bomb of nested whitespace inside a string
    with pytest.raises(StateError):
        decode_hash(pack(b'{"e":1' + b" " * 5_000_000 + b"}"))
    with pytest.raises(StateError):
        decode_hash(pack(b'{"c":{"loss":"' + b"x" * 5_000_000 + b'"}}'))


def test_damaged_streams_are_a_state_error():
    good = encode_hash(AppState(strokes=[[(1, 2), (3, 4)]], seed=42, panels={"loss"}))
    compressed = zlib.compress(json.dumps({"e": 5}).encode())
    for raw in [
        compressed[:-4] + b"\x00\x00\x00\x00",  # wrong checksum
        b"\x78\x9c" + b"\xff" * 20,
        "é".encode("latin-1") * 10,
        zlib.compress(b"\xff\xfe\xfa{}"),  # not UTF-8
    ]:
        decode_or_error(PREFIX + base64.urlsafe_b64encode(raw).decode())
    # a hash cut short anywhere when copied: refused, or (if only the checksum went) the same state
    original = decode_hash(good)
    for end in range(len(good)):
        back = decode_or_error(good[:end])
        assert back is None or back == original
    # and one changed character anywhere: refused or some valid state, never a crash
    alphabet = "AZaz09-_=+/."
    for i in range(len(PREFIX), len(good)):
        for ch in alphabet:
            decode_or_error(good[:i] + ch + good[i + 1 :])


def test_deeply_nested_json_is_a_state_error():
    with pytest.raises(StateError):
        decode_hash(pack(b"[" * 100_000))


@pytest.mark.parametrize("obj", [{"z": [10**400, 0]}, {"i": [[0, 0], [0, -(10**400)]]}])
def test_huge_integers_in_vectors_are_a_state_error(obj):
    with pytest.raises(StateError):
        decode_hash(pack_json(obj))


def test_huge_integers_elsewhere_are_a_state_error():
    for obj in [{"e": 10**400}, {"p": 10**400}, {"s": [[10**400, 0]]}, {"s": [[0, 0, -(10**400), 0]]}]:
        with pytest.raises(StateError):
            decode_hash(pack_json(obj))
    with pytest.raises(StateError):  # more digits than Python will parse
        decode_hash(pack(b'{"e":' + b"9" * 5000 + b"}"))


HOSTILE = {
    "vae.distribution": "open({path!r}, 'w').write('pwned')\nraise SystemExit(3)\n",
    "vae.sample": "import os\nos.remove({path!r})\nos._exit(1)\n",
    "vae.loss": "__import__('builtins').exec = None\nraise RuntimeError('ran')\n",
}


def test_hostile_code_is_only_stored_as_text(tmp_path, monkeypatch):
    target = tmp_path / "pwned.txt"
    sentinel = tmp_path / "keep.txt"
    sentinel.write_text("still here")
    code = {
        "vae.distribution": HOSTILE["vae.distribution"].format(path=str(target)),
        "vae.sample": HOSTILE["vae.sample"].format(path=str(sentinel)),
        "vae.loss": HOSTILE["vae.loss"],
    }
    calls = []

    def refuse(name):
        def spy(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"decode_hash called {name}")

        return spy

    for name in ("exec", "eval", "compile", "__import__"):
        original = getattr(builtins, name)
        monkeypatch.setattr(builtins, name, refuse(name) if name != "__import__" else _guarded_import(original, calls))

    state = decode_hash(pack_json({"c": code, "o": ["source"]}))
    monkeypatch.undo()

    assert calls == []
    assert state.code == code
    assert all(type(src) is str for src in state.code.values())
    assert not target.exists()
    assert sentinel.read_text() == "still here"
    assert builtins.exec is not None
    # and it survives a round trip unchanged
    assert decode_hash(encode_hash(state)).code == code


def _guarded_import(original, calls):
    def guarded(name, *args, **kwargs):
        if name in ("os", "subprocess", "shutil"):
            calls.append(f"import {name}")
        return original(name, *args, **kwargs)

    return guarded
