"""App state: the drawing actions and Undo (the URL hash round trip: test_state_hash.py; decoding that trusts
nothing: test_state_hostile.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pysrc"))

import pytest
from hypothesis import given
from hypothesis import strategies as st
from state_helpers import assert_valid, blank, draw

from page.state import (
    CANVAS,
    MAX_POINTS,
    MAX_STROKES,
    AppState,
    canvas_point,
    decode_hash,
    encode_hash,
)

# ---- actions and Undo ----


def test_a_fresh_state_is_valid_and_round_trips():
    state = AppState()
    assert_valid(state)
    assert decode_hash(encode_hash(state)) == state
    assert blank().is_blank


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
