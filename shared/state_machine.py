"""A state machine kept as data: a table of edges `(state, event) -> state`, and one function
that takes an edge or raises `Conflict` naming the state.

Each service keeps its own table (booking's reservations, cart's orders and order lines,
payment's payments) in its domain; this module holds only the mechanism.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from shared.errors import Conflict

S = TypeVar("S", bound=str)
E = TypeVar("E", bound=str)


@dataclass(frozen=True)
class StateMachine(Generic[S, E]):
    """`edges`: every move allowed, and no other. `refusal`: the Conflict's message for a
    move not in the table, with `{state}` and `{event}`. `ignored`: news that may arrive late
    or twice and changes nothing (`step_unless_ignored` answers None for it)."""

    edges: Mapping[tuple[S, E], S]
    refusal: str
    ignored: frozenset[tuple[S, E]] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        both = self.ignored & self.edges.keys()
        if both:
            raise ValueError(f"edges that are also ignored: {sorted(both)}")

    def can(self, state: S, event: E) -> bool:
        return (state, event) in self.edges

    def step(self, state: S, event: E) -> S:
        """The state after `event`, or `Conflict` (with `state`) when there is no such edge."""
        try:
            return self.edges[(state, event)]
        except KeyError:
            raise Conflict(self.refusal.format(state=state, event=event), state=state) from None

    def step_unless_ignored(self, state: S, event: E) -> S | None:
        """Like `step`, but None for news that changes nothing."""
        if (state, event) in self.ignored:
            return None
        return self.step(state, event)
