"""Which failures mean "the database is down or restarting" (503 unavailable), not a bug."""

from __future__ import annotations

import asyncpg
import pytest

from shared.db import DatabaseUnavailable, unavailable_from
from shared.errors import Unavailable


@pytest.mark.parametrize(
    "failure",
    [
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
        asyncpg.exceptions.CrashShutdownError("crash"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle"),
        asyncpg.exceptions.ConnectionFailureError("lost"),
        asyncpg.exceptions.TooManyConnectionsError("too many clients already"),
        asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"),
        # an idle pooled session that received the server's FATAL before its end
        asyncpg.exceptions.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        ),
    ],
)
def test_a_lost_or_refused_database_connection_is_unavailable(failure: Exception) -> None:
    error = unavailable_from(failure)
    assert isinstance(error, DatabaseUnavailable)
    assert (error.code, error.status, error.details["reason"]) == ("unavailable", 503, "database")


@pytest.mark.parametrize(
    "failure",
    [
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.UndefinedTableError("no such table"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        asyncpg.exceptions.InternalClientError("unexpected data type"),
        ValueError("a bug"),
    ],
)
def test_other_failures_are_not_unavailable(failure: Exception) -> None:
    assert unavailable_from(failure) is None


def test_database_unavailable_is_a_connection_error_for_loops_that_wait_out_an_outage() -> None:
    error = DatabaseUnavailable("down", reason="database")
    assert isinstance(error, Unavailable)
    assert isinstance(error, ConnectionError)
