"""Who is calling: OpenID Connect tokens (Bearer or session cookie; validation in oidc.py), API
keys, and route guards.

For the web pages (`services/gateway/web`):
- `request.scope["state"]["principal"]` (or `principal_of(request)`) is the verified
  `Principal` or None; the middleware resolves it before any route runs.
- `allow(*roles, scopes=..., public=False)` is the guard list for a route:
  `@get("/x", guards=allow("resident", "admin"))`; 401 when nobody is signed in, 403 otherwise.
- `require_principal(request)` is the principal, or 401 (nobody signed in) / 503 (a session
  cookie could not be checked because the sign-in service is down: not the same as signed out).
- `context_of(request)` is the `RequestContext` (principal, request id, traceparent, client
  address) to pass to `services.call(...)` (clients.py).
- The session cookie holds the OIDC token itself (HttpOnly, SameSite=Lax, Secure outside
  development); `set_session(response, token, settings, secure)` / `clear_session(...)`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, NamedTuple

from litestar import Response
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from services.gateway.oidc import CredentialRejected, TokenVerifier, token_credential
from services.gateway.settings import ApiKey, GatewaySettings
from shared.access import signed_in
from shared.contracts.common import Principal, RequestContext, Role
from shared.errors import Forbidden, Unauthenticated, Unavailable

log = logging.getLogger(__name__)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """Integration clients: `X-API-Key: <id>.<secret>` checked against configured hashes."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._by_id = {k.id: k for k in keys}

    def credential(self, presented: str) -> str | None:
        """Which configured key `presented` claims to be (`api_key:<id>`), for counting
        failures per key; None for an id nobody configured (nothing there to guess)."""
        key_id = presented.split(".", 1)[0]
        return f"api_key:{key_id}" if key_id in self._by_id else None

    def verify(self, presented: str) -> Principal:
        key_id = presented.split(".", 1)[0]
        known = self._by_id.get(key_id)
        if known is None or not hmac.compare_digest(hash_api_key(presented), known.sha256):
            raise CredentialRejected("the API key is not valid", self.credential(presented))
        if known.revoked:
            log.info("refusing revoked API key %s", known.id)
            raise CredentialRejected("the API key has been revoked", self.credential(presented))
        return Principal(
            subject=f"api_key:{known.id}",
            kind="api_key",
            roles=known.roles,
            scopes=known.scopes,
            departments=known.departments,
        )


class Resolved(NamedTuple):
    """Who is calling, as far as the gateway can tell."""

    principal: Principal | None
    stale_cookie: bool = False  # a session cookie that will never verify: clear it
    unverified: bool = False  # a session cookie not checked: the sign-in service is down
    via_cookie: bool = False  # the principal came from the session cookie (a browser sends it
    # by itself, also on another site's request: such writes need a same-origin proof)


# Scope state key: the session cookie could not be checked (see `Resolved.unverified`).
SIGN_IN_UNAVAILABLE = "sign_in_unavailable"


class Authenticator:
    """Resolves the principal of a request from its headers and cookies (None: anonymous)."""

    def __init__(
        self, settings: GatewaySettings, verifier: TokenVerifier | None, api_keys: ApiKeys
    ) -> None:
        self.settings = settings
        self.verifier = verifier
        self.api_keys = api_keys

    def credential_of(self, headers: Mapping[str, str]) -> str | None:
        """The API key id or token subject a request claims, before any verification: the
        gateway refuses a credential that failed too often without verifying it again."""
        api_key = headers.get("x-api-key")
        if api_key:
            return self.api_keys.credential(api_key)
        scheme, _, value = headers.get("authorization", "").partition(" ")
        return token_credential(value.strip()) if scheme.lower() == "bearer" else None

    async def resolve(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> Resolved:
        """A bad API key or Bearer token is 401 (and 503 while the issuer's keys cannot be
        had); a bad session cookie (expired, or signed by a key from before a restart) is
        anonymous with `stale_cookie`, so the middleware clears it; a session cookie that
        cannot be checked because the issuer is down is anonymous with `unverified` (kept:
        public pages still work, routes needing sign-in answer 503, not 401)."""
        api_key = headers.get("x-api-key")
        if api_key:
            return Resolved(self.api_keys.verify(api_key))
        authorization = headers.get("authorization", "")
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise Unauthenticated("use 'Authorization: Bearer <token>'")
            if self.verifier is None:
                raise Unauthenticated("sign-in is not configured on this gateway")
            return Resolved(await self.verifier.verify(value.strip()))
        token = cookies.get(self.settings.session_cookie, "")
        if not token:
            return Resolved(None)
        if self.verifier is None:
            return Resolved(None, stale_cookie=True)
        try:
            return Resolved(await self.verifier.verify(token), via_cookie=True)
        except Unauthenticated as exc:
            log.info("ignoring a stale session cookie: %s", exc.message)
            return Resolved(None, stale_cookie=True)
        except Unavailable as exc:
            log.info("session cookie not checked (%s); anonymous for now", exc.message)
            return Resolved(None, unverified=True)


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


def require_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The caller, or 401 when nobody is signed in, or 503 (`Retry-After`) when a session
    cookie could not be checked because the sign-in service is down."""
    principal = principal_of(connection)
    if principal is None and connection.scope.get("state", {}).get(SIGN_IN_UNAVAILABLE):
        raise Unavailable("the sign-in service cannot be reached; try again shortly")
    return signed_in(principal)


def context_of(connection: ASGIConnection[Any, Any, Any, Any]) -> RequestContext:
    state = connection.scope.get("state", {})
    return RequestContext(
        principal=state.get("principal"),
        request_id=state.get("request_id", ""),
        traceparent=state.get("traceparent"),
        client_address=state.get("client_ip"),
    )


def allow(
    *roles: Role, scopes: Iterable[str] = (), public: bool = False
) -> list[Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]]:
    """Guards of a route: who may call it. Users need one of `roles`; API keys one of `scopes`.

    Object-level rules (own reservations, own department) are the services' job.
    """
    wanted_scopes = tuple(scopes)

    # async: Litestar runs a plain function guard in a worker thread, a thread hop per
    # request (a sixth of the gateway's CPU under bench-gateway's holds, by py-spy)
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if public:
            return
        principal = require_principal(connection)
        if principal.kind == "api_key":
            if not any(s in principal.scopes for s in wanted_scopes):
                raise Forbidden("the API key lacks the scope for this operation")
            return
        if not principal.has(*roles):
            raise Forbidden("your role does not allow this operation")

    return [guard]
