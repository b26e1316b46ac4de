"""What each operation of a service takes and replies: `ServiceContract`.

Each service's `handlers.py` declares its table, operation -> (request type, reply type):

    CONTRACT = ServiceContract("booking", {"hold": (HoldRequest, HoldReply), ...})

and binds its handlers to it (`CONTRACT.bind({"hold": bookings.hold, ...})`). Binding fails at
start-up, naming the operation, when a handler is missing or extra, or when a handler's type
annotations do not take the declared request or do not return the declared reply: the table is
what the service really sends. The table needs no database or NATS, so the gateway's contract
test compares it with the types each HTTP route declares (tests/unit/gateway).
"""

from __future__ import annotations

import typing
from collections.abc import Collection, Mapping
from typing import Any

from shared.messaging import Handler, Operation, subject_for


class ContractError(TypeError):
    """A service's handlers do not match its declared contract."""


class ServiceContract:
    """The operations of `service`: name -> (request type, reply type)."""

    def __init__(self, service: str, operations: Mapping[str, tuple[type[Any], type[Any]]]) -> None:
        self.service = service
        self.operations = dict(operations)

    def subject(self, name: str) -> str:
        return subject_for(self.service, name)

    def by_subject(self) -> dict[str, tuple[type[Any], type[Any]]]:
        """subject -> (request type, reply type), for comparing with the gateway's routes."""
        return {self.subject(name): types for name, types in self.operations.items()}

    def bind(
        self, handlers: Mapping[str, Handler[Any]], *, reads: Collection[str] = ()
    ) -> list[Operation[Any]]:
        """The service's operations: each declared one with its handler, checked. `reads`:
        the operations that change nothing (a lost connection under one is tried again)."""
        missing = sorted(self.operations.keys() - handlers.keys())
        extra = sorted(handlers.keys() - self.operations.keys())
        unknown_reads = sorted(set(reads) - self.operations.keys())
        if missing or extra or unknown_reads:
            raise ContractError(
                f"{self.service}: operations without a handler {missing}, handlers without "
                f"an operation {extra}, unknown reads {unknown_reads}"
            )
        operations: list[Operation[Any]] = []
        for name, (request, reply) in self.operations.items():
            handler = handlers[name]
            check_handler(self.subject(name), handler, request, reply)
            operations.append(Operation(name, request, handler, read_only=name in reads))
        return operations


def check_handler(subject: str, handler: Any, request: type[Any], reply: type[Any]) -> None:
    """`handler` takes `request` and is annotated to return `reply`, or `ContractError`."""
    try:
        hints = typing.get_type_hints(handler)
    except (NameError, TypeError) as exc:
        raise ContractError(f"{subject}: the handler's annotations do not resolve: {exc}") from exc
    name = getattr(handler, "__qualname__", repr(handler))
    returned = hints.get("return")
    if returned is not reply:
        raise ContractError(
            f"{subject} replies {_name(reply)}, but its handler {name} returns {_name(returned)}"
        )
    taken = [hint for key, hint in hints.items() if key != "return"]
    if request not in taken:
        raise ContractError(
            f"{subject} takes {_name(request)}, but its handler {name} takes "
            f"{', '.join(_name(t) for t in taken) or 'nothing'}"
        )


def _name(type_: Any) -> str:
    return getattr(type_, "__name__", None) or repr(type_)
