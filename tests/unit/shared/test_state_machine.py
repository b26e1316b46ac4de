"""The one mechanism every service's state machine uses (their tables are tested beside them)."""

from __future__ import annotations

from typing import Literal

import pytest

from shared.errors import Conflict
from shared.state_machine import StateMachine

Light = Literal["red", "green"]
Change = Literal["go", "stop", "tick"]

EDGES: dict[tuple[Light, Change], Light] = {("red", "go"): "green", ("green", "stop"): "red"}


def test_an_edge_of_the_table_is_taken() -> None:
    lights: StateMachine[Light, Change] = StateMachine(EDGES, refusal="{state} cannot {event}")
    assert lights.step("red", "go") == "green"
    assert lights.can("green", "stop")
    assert not lights.can("green", "go")


def test_a_move_outside_the_table_is_a_conflict_naming_the_state() -> None:
    lights: StateMachine[Light, Change] = StateMachine(EDGES, refusal="{state} cannot {event}")
    with pytest.raises(Conflict) as refused:
        lights.step("green", "go")
    assert refused.value.message == "green cannot go"
    assert refused.value.details == {"state": "green"}


def test_ignored_news_changes_nothing_and_other_moves_are_still_refused() -> None:
    lights: StateMachine[Light, Change] = StateMachine(
        EDGES, refusal="{state} cannot {event}", ignored=frozenset({("green", "go")})
    )
    assert lights.step_unless_ignored("green", "go") is None
    assert lights.step_unless_ignored("red", "go") == "green"
    with pytest.raises(Conflict):
        lights.step_unless_ignored("red", "tick")
    with pytest.raises(Conflict):
        lights.step("green", "go")  # `step` knows no ignored news


def test_an_edge_that_is_also_ignored_is_refused_when_the_table_is_made() -> None:
    with pytest.raises(ValueError, match="also ignored"):
        StateMachine(EDGES, refusal="", ignored=frozenset({("red", "go")}))
