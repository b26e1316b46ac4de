"""Who may call a route: user roles, API-key scopes, or anyone; the guards that enforce it
(auth.allow) and the sentence the OpenAPI description gives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from services.gateway.auth import allow
from shared.contracts.common import Role

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


@dataclass(frozen=True)
class Who:
    """Who may call a route: user roles, API-key scopes, or anyone."""

    roles: tuple[Role, ...] = ()
    scopes: tuple[str, ...] = ()
    public: bool = False

    def describe(self) -> str:
        if self.public:
            return "Who may call: anyone."
        parts = []
        if self.roles:
            parts.append("roles " + ", ".join(self.roles))
        if self.scopes:
            parts.append("API keys with scope " + " or ".join(self.scopes))
        return "Who may call: " + "; ".join(parts) + "."

    def guards(self) -> list[Guard]:
        return allow(*self.roles, scopes=self.scopes, public=self.public)


ANYONE = Who(public=True)
RESIDENT = Who(roles=("resident",))
SIGNED_IN = Who(roles=("resident", "staff", "library_clerk", "gis_clerk", "finance", "admin"))
STAFF = Who(roles=("staff", "admin"))
LIBRARY = Who(roles=("library_clerk", "admin"), scopes=("library",))
GIS = Who(roles=("gis_clerk", "admin"), scopes=("gis",))
FINANCE = Who(roles=("finance", "admin"), scopes=("finance",))
ADMIN = Who(roles=("admin",))
