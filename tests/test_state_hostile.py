"""App state from hashes that were not made by the page: whatever a hash holds, decode_hash gives a valid AppState
or a StateError, never another exception, and never runs code."""

import base64
import builtins
import json
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pysrc"))

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from state_helpers import FAST, blank, decode_or_error, pack, pack_json

from page.state import (
    CANVAS,
    EDITABLE_MODULES,
    MAX_CODE,
    MAX_HASH,
    MAX_POINTS,
    MAX_SEED,
    MAX_STROKES,
    PANELS,
    PREFIX,
    Z_LIMIT,
    AppState,
    StateError,
    decode_hash,
    encode_hash,
)

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
        {"w": [0, 0]},
        {"w": [0, 0, 0.5]},
        {"w": [0, 0, 65]},
        {"w": [0, 99, 2]},
        {"w": [0, "a", 2]},
        {"w": [0, 0, True]},
        {"w": "x"},
    ],
)
def test_wrong_fields_are_a_state_error(obj):
    with pytest.raises(StateError):
        decode_hash(pack_json(obj))


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize(
    "template", ['{"z":[%s,0]}', '{"w":[0,0,%s]}', '{"i":[[0,0],[%s,1]]}', '{"e":%s}', '{"s":[[%s,1]]}', '{"p":%s}']
)
def test_nan_and_infinity_are_a_state_error(template, token):
    with pytest.raises(StateError):
        decode_hash(pack((template % token).encode()))


def test_lenient_but_valid_fields_are_accepted():
    state = decode_hash(pack_json({"z": [1, -2], "i": [[0, 0], [1, 2]], "o": [], "c": {}, "s": [], "q": "ignored"}))
    assert state.pinned_z == [1.0, -2.0] and all(type(v) is float for v in state.pinned_z)
    assert state.interpolate == [[0.0, 0.0], [1.0, 2.0]]
    assert state.seed == 1 and state.strokes == [] and state.panels == set() and state.code == {}
    assert decode_hash(pack_json({"p": None, "z": None, "i": None, "w": None})) == blank()
    assert decode_hash(pack_json({"w": [1, -2, 4]})).plot_view == [1.0, -2.0, 4.0]  # the plot zoomed ×4 at (1, −2)


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
