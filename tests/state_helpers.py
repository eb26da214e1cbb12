"""What the app-state tests share: the hash packing as encode_hash does it, decoding that reports its error, and the
check that a state is valid."""

import base64
import json
import math
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pysrc"))

from hypothesis import settings

from page.state import (
    CANVAS,
    EDITABLE_MODULES,
    MAX_CODE,
    MAX_POINTS,
    MAX_SEED,
    MAX_STROKES,
    PANELS,
    PREFIX,
    Z_LIMIT,
    AppState,
    StateError,
    decode_hash,
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


def blank():
    """An empty drawing (a fresh AppState may start on a preset digit: the page's first view)."""
    return AppState(preset=None)


def draw(state, *points):
    state.begin_stroke(points[0])
    for p in points[1:]:
        state.extend_stroke(p)
