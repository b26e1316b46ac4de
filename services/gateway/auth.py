"""Who is calling: OpenID Connect tokens (Bearer or session cookie; validation in oidc.py), API
keys, and route guards.

For the web pages (`services/gateway/web`):
- `request.scope["state"]["principal"]` (or `principal_of(request)`) is the verified
  `Principal` or None; the middleware resolves it before any route runs.
- `allow(*roles, scopes=..., public=False)` is the guard list for a route:
  `@get("/x", guards=allow("resident", "admin"))`; 401 when nobody is signed in, 403 otherwise.
- `context_of(request)` is the `RequestContext` (principal, request id, traceparent) to pass to
  `services.call(...)` (clients.py).
- The session cookie holds the OIDC token itself (HttpOnly, SameSite=Lax, Secure outside
  development); `set_session(response, token, settings, secure)` / `clear_session(...)`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from litestar import Response
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from services.gateway.oidc import (  # re-exported: the tokens side lives in oidc.py
    KNOWN_ROLES,
    JwksCache,
    TokenVerifier,
    http_jwks_fetcher,
    principal_from_claims,
)
from services.gateway.settings import ApiKey, GatewaySettings
from shared.contracts.common import Principal, RequestContext, Role
from shared.errors import Forbidden, Unauthenticated

log = logging.getLogger(__name__)

__all__ = [
    "KNOWN_ROLES",
    "ApiKeys",
    "Authenticator",
    "JwksCache",
    "TokenVerifier",
    "access_of",
    "allow",
    "clear_session",
    "context_of",
    "http_jwks_fetcher",
    "principal_from_claims",
    "principal_of",
    "set_session",
]


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """Integration clients: `X-API-Key: <id>.<secret>` checked against configured hashes."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._by_id = {k.id: k for k in keys}

    def verify(self, presented: str) -> Principal:
        key_id = presented.split(".", 1)[0]
        known = self._by_id.get(key_id)
        if known is None or not hmac.compare_digest(hash_api_key(presented), known.sha256):
            raise Unauthenticated("the API key is not valid")
        if known.revoked:
            log.info("refusing revoked API key %s", known.id)
            raise Unauthenticated("the API key has been revoked")
        return Principal(
            subject=f"api_key:{known.id}",
            kind="api_key",
            roles=known.roles,
            scopes=known.scopes,
            departments=known.departments,
        )


class Authenticator:
    """Resolves the principal of a request from its headers and cookies (None: anonymous)."""

    def __init__(
        self, settings: GatewaySettings, verifier: TokenVerifier | None, api_keys: ApiKeys
    ) -> None:
        self.settings = settings
        self.verifier = verifier
        self.api_keys = api_keys

    async def principal(
        self, headers: Mapping[str, str], cookies: Mapping[str, str]
    ) -> Principal | None:
        return (await self.resolve(headers, cookies))[0]

    async def resolve(
        self, headers: Mapping[str, str], cookies: Mapping[str, str]
    ) -> tuple[Principal | None, bool]:
        """(principal, stale_cookie): a bad API key or Bearer token is 401; a bad session
        cookie (expired, or signed by a key from before a restart) is anonymous, and
        `stale_cookie` tells the middleware to clear it."""
        api_key = headers.get("x-api-key")
        if api_key:
            return self.api_keys.verify(api_key), False
        authorization = headers.get("authorization", "")
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise Unauthenticated("use 'Authorization: Bearer <token>'")
            if self.verifier is None:
                raise Unauthenticated("sign-in is not configured on this gateway")
            return await self.verifier.verify(value.strip()), False
        token = cookies.get(self.settings.session_cookie, "")
        if not token:
            return None, False
        if self.verifier is None:
            return None, True
        try:
            return await self.verifier.verify(token), False
        except Unauthenticated as exc:
            log.info("ignoring a stale session cookie: %s", exc.message)
            return None, True


def set_session(
    response: Response[Any], token: str, settings: GatewaySettings, secure: bool
) -> None:
    response.set_cookie(
        settings.session_cookie,
        token,
        max_age=settings.session_max_age_s,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def clear_session(response: Response[Any], settings: GatewaySettings) -> None:
    response.delete_cookie(settings.session_cookie, path="/")


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    return connection.scope.get("state", {}).get("principal")


def context_of(connection: ASGIConnection[Any, Any, Any, Any]) -> RequestContext:
    state = connection.scope.get("state", {})
    return RequestContext(
        principal=state.get("principal"),
        request_id=state.get("request_id", ""),
        traceparent=state.get("traceparent"),
    )


def allow(
    *roles: Role, scopes: Iterable[str] = (), public: bool = False
) -> list[Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]]:
    """Guards of a route: who may call it. Users need one of `roles`; API keys one of `scopes`.

    The route's `opt["access"]` records the rule (for the OpenAPI description and the tests).
    Object-level rules (own reservations, own department) are the services' job.
    """
    wanted_scopes = tuple(scopes)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if public:
            return
        principal = principal_of(connection)
        if principal is None:
            raise Unauthenticated("sign in first")
        if principal.kind == "api_key":
            if not any(s in principal.scopes for s in wanted_scopes):
                raise Forbidden("the API key lacks the scope for this operation")
            return
        if not principal.has(*roles):
            raise Forbidden("your role does not allow this operation")

    guard.access = {"roles": roles, "scopes": wanted_scopes, "public": public}  # type: ignore[attr-defined]
    return [guard]


def access_of(guards: Iterable[Any]) -> dict[str, Any] | None:
    for guard in guards or ():
        rule = getattr(guard, "access", None)
        if rule is not None:
            return rule
    return None
