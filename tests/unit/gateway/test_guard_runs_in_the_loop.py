"""Route guards run on the event loop: Litestar hands a plain-function guard to a thread."""

from __future__ import annotations

import inspect

from services.gateway.auth import allow


def test_route_guards_are_coroutines() -> None:
    for guards in (allow("resident"), allow(public=True), allow("finance", scopes=["refunds"])):
        assert guards
        assert all(inspect.iscoroutinefunction(guard) for guard in guards)
