"""Per-request plumbing: request id + trace context, client address, principal, rate limits,
cross-site checks, security headers and the access log.

`GatewayMiddleware` runs before every route: the client address behind proxies (proxies.py);
the per-address limit, counted for every request before its credentials are checked, and
the stricter limits on failed credentials (per address, per API key id / token subject);
the principal; a cookie-carried write must come from our own origin (cross_site.py); the
per-principal limit; a NUL in the path or query, and query parameters an `/api/v1` route
does not declare, are refused. `before_send` runs on every reply (also 404s that never reach
a route) and adds the ids and security headers, and writes the access log line (method, route
path, status, duration, ids, principal kind: no personal data, no query string).
"""

from __future__ import annotations

import logging
import re
import time
from http.cookies import SimpleCookie
from typing import Any, cast

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from opentelemetry import trace

from services.gateway.auth import SIGN_IN_UNAVAILABLE, Authenticator
from services.gateway.cross_site import refuse_cross_site
from services.gateway.oidc import CredentialRejected
from services.gateway.proxies import client_ip
from services.gateway.ratelimit import SharedRateLimiter
from services.gateway.routes.strict import refuse_nul, refuse_unknown_query
from services.gateway.settings import GatewaySettings
from shared import tracing
from shared.contracts.common import H_REQUEST_ID, H_TRACEPARENT, RequestContext
from shared.errors import RateLimited, Unauthenticated
from shared.messaging import child_traceparent, current_context, new_request_id
from shared.metrics import HTTP_REQUESTS, HTTP_SECONDS

access_log = logging.getLogger("gateway.access")

API_PREFIX = "/api/v1/"  # routes whose query strings hold only declared parameters

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
)
# Only when PUBLIC_URL is https (browsers ignore it over http; a dev setup must stay reachable).
HSTS = ("strict-transport-security", "max-age=31536000; includeSubDomains")


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}


def start_request(scope: Scope, headers: dict[str, str]) -> dict[str, Any]:
    """Give the request its id and trace context (kept from the caller when well-formed)."""
    state: dict[str, Any] = scope.setdefault("state", {})
    if "request_id" not in state:
        incoming = headers.get(H_REQUEST_ID, "")
        state["request_id"] = incoming if _REQUEST_ID.fullmatch(incoming) else new_request_id()
        # Tracing on: the HTTP server span (opentelemetry-instrumentation-asgi, around the
        # app) is the parent of what the request causes; off: a new span id of the caller's
        # trace, or a new trace.
        state["traceparent"] = tracing.current_traceparent() or child_traceparent(
            headers.get(H_TRACEPARENT)
        )
        state["started"] = time.perf_counter()
    return state


class GatewayMiddleware:
    """Ids, client address, principal and rate limits before the route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        state = start_request(scope, headers)
        # Every log line of this request names it (shared.logging.RequestIds).
        token = current_context.set(
            RequestContext(request_id=state["request_id"], traceparent=state["traceparent"])
        )
        try:
            await self._checked(scope, receive, send, headers, state)
        finally:
            current_context.reset(token)

    async def _checked(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], state: Any
    ) -> None:
        http = cast("HTTPScope", scope)  # only HTTP requests come here
        app_state = scope["litestar_app"].state
        state["client_ip"] = client_ip(
            scope,
            headers,
            app_state.trusted_networks,
            app_state.gateway_settings.forwarded_header,
        )
        cookies: dict[str, str] = {}
        if "cookie" in headers:
            jar: SimpleCookie = SimpleCookie()
            jar.load(headers["cookie"])
            cookies = {k: m.value for k, m in jar.items()}
        limiter = (await app_state.services.resources()).limiter
        settings = app_state.gateway_settings
        authenticator: Authenticator = app_state.authenticator
        if limiter is not None:
            await _refuse_over_limits(limiter, settings, state["client_ip"], headers, authenticator)
        try:
            resolved = await authenticator.resolve(headers, cookies)
        except Unauthenticated as exc:
            if limiter is not None:
                await _count_failure(limiter, settings, state["client_ip"], exc)
            raise
        principal = resolved.principal
        state["principal"] = principal
        if resolved.stale_cookie:
            state["clear_session"] = True
        if resolved.unverified:
            state[SIGN_IN_UNAVAILABLE] = True  # guards of sign-in routes answer 503
        if resolved.via_cookie:
            refuse_cross_site(
                http["method"], scope["path"], headers, app_state.own_origins, API_PREFIX
            )
        if limiter is not None and principal is not None:
            _raise_when_limited(
                await limiter.hit(
                    f"principal:{principal.kind}:{principal.subject}",
                    settings.rate_limit_principal_per_minute,
                )
            )
        refuse_nul(scope)
        if scope["path"].startswith(API_PREFIX) and http["method"] != "OPTIONS":
            refuse_unknown_query(scope)
        await self.app(scope, receive, send)


def _raise_when_limited(retry: int | None) -> None:
    if retry is not None:
        raise RateLimited("too many requests; slow down", retry_after=retry)


async def _refuse_over_limits(
    limiter: SharedRateLimiter,
    settings: GatewaySettings,
    ip: str,
    headers: dict[str, str],
    authenticator: Authenticator,
) -> None:
    """Every request counts against its address (also one whose credentials will fail); an
    address or credential with too many failed credentials is refused without checking them."""
    _raise_when_limited(await limiter.hit(f"ip:{ip}", settings.rate_limit_ip_per_minute))
    failures_ip = settings.rate_limit_auth_failures_ip_per_minute
    _raise_when_limited(await limiter.peek(f"auth_failed:ip:{ip}", failures_ip))
    failures_credential = settings.rate_limit_auth_failures_credential_per_minute
    if failures_credential > 0:
        credential = authenticator.credential_of(headers)
        if credential is not None:
            _raise_when_limited(
                await limiter.peek(f"auth_failed:{credential}", failures_credential)
            )


async def _count_failure(
    limiter: SharedRateLimiter, settings: GatewaySettings, ip: str, exc: Unauthenticated
) -> None:
    """A refused credential counts for its address and, when known, for the credential."""
    if settings.rate_limit_auth_failures_ip_per_minute > 0:
        await limiter.record(f"auth_failed:ip:{ip}")
    credential = exc.credential if isinstance(exc, CredentialRejected) else None
    if credential is not None and settings.rate_limit_auth_failures_credential_per_minute > 0:
        await limiter.record(f"auth_failed:{credential}")


def _clear_stale_cookie(headers: MutableScopeHeaders, scope: Scope) -> None:
    """Expire a session cookie the gateway could not verify (unless the reply sets a new one)."""
    app_state = scope["litestar_app"].state
    name = app_state.gateway_settings.session_cookie
    if any(v.startswith(f"{name}=") for v in headers.getall("set-cookie", [])):
        return
    secure = "; Secure" if app_state.secure_cookies else ""
    headers.add("set-cookie", f'{name}=""; Max-Age=0; Path=/; HttpOnly; SameSite=Lax{secure}')


async def before_send(message: Message, scope: Scope) -> None:
    """Ids and security headers on every reply; one access-log line per request."""
    if message["type"] != "http.response.start" or scope["type"] != ScopeType.HTTP:
        return
    state = (
        start_request(scope, _headers(scope))
        if "request_id" not in scope.get("state", {})
        else scope["state"]
    )
    headers = MutableScopeHeaders.from_message(message)
    headers[H_REQUEST_ID] = state["request_id"]
    headers[H_TRACEPARENT] = state["traceparent"]
    for name, value in SECURITY_HEADERS:
        if name not in headers:
            headers[name] = value
    if getattr(scope["litestar_app"].state, "hsts", False) and HSTS[0] not in headers:
        headers[HSTS[0]] = HSTS[1]
    if state.get("clear_session"):
        _clear_stale_cookie(headers, scope)
    status = message["status"]
    elapsed = time.perf_counter() - state["started"]
    template = scope.get("path_template") or "unmatched"  # a bounded set of labels
    method: str = scope.get("method", "")
    method = method if method in _METHODS else "other"
    HTTP_REQUESTS.labels(method, template, str(status)).inc()
    HTTP_SECONDS.labels(method, template, f"{status // 100}xx").observe(elapsed)
    if tracing.enabled() and "path_template" in scope:  # the route names the span, not ids
        trace.get_current_span().update_name(f"{method} {template}")
    if not access_log.isEnabledFor(logging.INFO):
        return
    principal = state.get("principal")
    route = scope.get("path_template") or scope.get("path", "")
    access_log.info(
        "%s %s %s",
        scope.get("method", ""),
        route,
        message["status"],
        extra={
            "ctx": {
                "request_id": state["request_id"],
                "status": message["status"],
                "method": scope.get("method", ""),
                "route": route,
                "duration_ms": round(elapsed * 1000, 1),
                "principal_kind": principal.kind if principal else "anonymous",
                "roles": list(principal.roles) if principal else [],
            }
        },
    )
