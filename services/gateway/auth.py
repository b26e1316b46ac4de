"""Who is calling: OpenID Connect tokens (Bearer or session cookie), API keys, and route guards.

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

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpx
import jwt
from litestar import Response
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from services.gateway.settings import ApiKey, GatewaySettings
from shared.contracts.common import Principal, RequestContext, Role
from shared.errors import Forbidden, Unauthenticated, Unavailable

log = logging.getLogger(__name__)

ALGORITHMS = ["RS256", "ES256", "PS256"]
KNOWN_ROLES: frozenset[str] = frozenset(
    {"resident", "staff", "library_clerk", "gis_clerk", "finance", "admin"}
)

JwksFetcher = Callable[[], Awaitable[Mapping[str, Any]]]


class JwksCache:
    """The issuer's signing keys by `kid`: cached for `ttl` seconds, refetched at once on an
    unknown `kid` (key rotation), at most every `min_refresh` seconds.

    When the issuer is down, a failed fetch is remembered: the next attempt waits `retry_s`
    (doubling up to `retry_max_s`) and until then requests do not refetch. Meanwhile the keys
    fetched before are served for up to `grace_s` past their `ttl`; without such keys requests
    fail fast with `Unavailable` instead of each waiting for the issuer's timeout. A refresh
    that is already running does not hold up requests that can use the cached keys.
    """

    def __init__(
        self,
        fetch: JwksFetcher,
        ttl: float = 300.0,
        min_refresh: float = 5.0,
        *,
        grace_s: float = 3600.0,
        retry_s: float = 5.0,
        retry_max_s: float = 60.0,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._min_refresh = min_refresh
        self._grace_s = grace_s
        self._retry_s = retry_s
        self._retry_max_s = retry_max_s
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._failures = 0
        self._retry_at = float("-inf")
        self._lock = asyncio.Lock()

    def _usable(self, now: float) -> bool:
        """Cached keys that may still be served (fresh, or stale within the grace period)."""
        return bool(self._keys) and now - self._fetched_at <= self._ttl + self._grace_s

    def _lookup(self, kid: str | None) -> Any:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid or "")

    async def key(self, kid: str | None) -> Any:
        now = time.monotonic()
        age = now - self._fetched_at
        known = self._lookup(kid) is not None
        if age > self._ttl or (not known and age > self._min_refresh):
            if now < self._retry_at:
                pass  # the issuer failed a moment ago: no new attempt yet
            elif known and self._usable(now) and self._lock.locked():
                pass  # another request is refreshing; the cached key serves meanwhile
            else:
                await self._refresh()
        if not self._usable(time.monotonic()):
            raise Unavailable("the sign-in service's keys cannot be fetched")
        found = self._lookup(kid)
        if found is None:
            raise Unauthenticated("the token is signed with an unknown key")
        return found

    async def _refresh(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if now - self._fetched_at <= self._min_refresh or now < self._retry_at:
                return  # another request refreshed (or failed) meanwhile
            try:
                document = await self._fetch()
            except (httpx.HTTPError, ValueError, OSError) as exc:
                self._failures += 1
                pause = min(self._retry_max_s, self._retry_s * 2 ** (self._failures - 1))
                self._retry_at = time.monotonic() + pause
                log.warning(
                    "JWKS fetch failed (%s); next attempt in %.0f s%s",
                    type(exc).__name__,
                    pause,
                    "; serving the cached keys" if self._usable(now) else "",
                )
                return
            keys: dict[str, Any] = {}
            for entry in document.get("keys", []):
                try:
                    keys[entry.get("kid", "")] = jwt.PyJWK(dict(entry)).key
                except jwt.PyJWKError:
                    log.warning("skipping an unusable JWKS key")
            self._keys = keys
            self._fetched_at = time.monotonic()
            self._failures = 0
            self._retry_at = float("-inf")


def http_jwks_fetcher(issuer: str, jwks_url: str = "", timeout: float = 5.0) -> JwksFetcher:
    """Fetch the JWKS from `jwks_url` or the issuer's discovery document."""

    async def fetch() -> Mapping[str, Any]:
        async with httpx.AsyncClient(timeout=timeout) as client:
            url = jwks_url
            if not url:
                discovery = await client.get(f"{issuer}/.well-known/openid-configuration")
                discovery.raise_for_status()
                url = discovery.json()["jwks_uri"]
            response = await client.get(url)
            response.raise_for_status()
            return response.json()

    return fetch


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    roles = tuple(r for r in claims.get("roles", ()) if r in KNOWN_ROLES) or ("resident",)
    loa = claims.get("loa")
    return Principal(
        subject=str(claims["sub"]),
        roles=roles,  # type: ignore[arg-type]
        kind="user",
        departments=tuple(claims.get("departments", ())),
        units=tuple(claims.get("units", ())),
        loa=loa if loa in ("low", "substantial", "high") else None,
        home_municipality=claims.get("home_municipality"),
        name=claims.get("name"),
        email=claims.get("email"),
        locale=claims.get("locale", "fi") if claims.get("locale") in ("fi", "sv", "en") else "fi",
    )


class TokenVerifier:
    """Validates OIDC tokens: signature (JWKS), issuer, audience, expiry with clock skew."""

    CACHE_SIZE = 10_000

    def __init__(self, issuer: str, audience: str, keys: JwksCache, leeway_s: int = 30) -> None:
        self.issuer = issuer
        self.audience = audience
        self.keys = keys
        self.leeway_s = leeway_s
        # Verified tokens until their expiry: a signature check per token, not per request.
        self._verified: dict[str, tuple[Principal, float]] = {}

    async def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None and time.time() < cached[1] + self.leeway_s:
            return cached[0]
        principal, expires = await self._verify(token)
        if len(self._verified) >= self.CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("the token is malformed") from None
        if header.get("alg") not in ALGORITHMS:
            raise Unauthenticated("the token's algorithm is not accepted")
        key = await self.keys.key(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("the token is not meant for this service") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("the token comes from an unknown issuer") from None
        except jwt.PyJWTError:
            raise Unauthenticated("the token is not valid") from None
        return principal_from_claims(claims), float(claims["exp"])


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
