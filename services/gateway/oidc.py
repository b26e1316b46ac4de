"""OpenID Connect tokens: the issuer's signing keys (JWKS, cached, refreshed on rotation,
with back-off while the issuer is down) and token validation (signature, issuer, audience,
expiry with clock skew) into a `Principal`."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
import jwt
import msgspec

from shared.contracts.common import Principal
from shared.errors import Unauthenticated, Unavailable

log = logging.getLogger(__name__)

ALGORITHMS = ["RS256", "ES256", "PS256"]
KNOWN_ROLES: frozenset[str] = frozenset(
    {"resident", "staff", "library_clerk", "gis_clerk", "finance", "admin"}
)

JwksFetcher = Callable[[], Awaitable[Mapping[str, Any]]]


class CredentialRejected(Unauthenticated):
    """A presented credential was refused (401). `credential` names whose it is when that is
    known for certain (a configured API key's id; a token's subject when its signature held
    but it expired or was meant for someone else): the gateway counts failures per credential,
    and a forged token must not make another person's subject count."""

    def __init__(self, message: str, credential: str | None = None) -> None:
        super().__init__(message)
        self.credential = credential


class _Subject(msgspec.Struct):
    sub: str = ""


_subject_decoder = msgspec.json.Decoder(_Subject)


def token_credential(token: str) -> str | None:
    """`sub:<subject>` as a token claims it, unverified (None when it has none or is not a
    JWT): what failed sign-ins are counted under. Read by hand: PyJWT's unverified decode
    took 0.2 ms a token, and this runs before every Bearer request."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        subject = _subject_decoder.decode(payload).sub
    except (ValueError, msgspec.MsgspecError):
        return None
    return f"sub:{subject}" if subject else None


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
            keys: Mapping[str, Any] = response.json()
            return keys

    return fetch


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    roles = tuple(r for r in claims.get("roles", ()) if r in KNOWN_ROLES) or ("resident",)
    loa = claims.get("loa")
    return Principal(
        subject=str(claims["sub"]),
        roles=roles,
        kind="user",
        departments=tuple(claims.get("departments", ())),
        units=tuple(claims.get("units", ())),
        loa=loa if loa in ("low", "substantial", "high") else None,
        home_municipality=claims.get("home_municipality"),
        name=claims.get("name"),
        email=claims.get("email"),
        locale=claims.get("locale", "fi") if claims.get("locale") in ("fi", "sv", "en") else "fi",
    )


# PyJWT checks the claims only after the signature: these errors come from a genuine token.
_AFTER_SIGNATURE = (
    jwt.ExpiredSignatureError,
    jwt.ImmatureSignatureError,
    jwt.InvalidAudienceError,
    jwt.InvalidIssuerError,
    jwt.InvalidIssuedAtError,
    jwt.MissingRequiredClaimError,
)
_REFUSALS: dict[type[Exception], str] = {
    jwt.ExpiredSignatureError: "the token has expired",
    jwt.InvalidAudienceError: "the token is not meant for this service",
    jwt.InvalidIssuerError: "the token comes from an unknown issuer",
}


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
        # Told of each token verified for the first time (a sign-in; contacts.py).
        self.on_first_verified: Callable[[Principal], None] | None = None

    async def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None and time.time() < cached[1] + self.leeway_s:
            return cached[0]
        principal, expires = await self._verify(token)
        if len(self._verified) >= self.CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (principal, expires)
        if self.on_first_verified is not None:
            self.on_first_verified(principal)
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
        except _AFTER_SIGNATURE as exc:  # the signature held: the subject is the token's own
            message = _REFUSALS.get(type(exc), "the token is not valid")
            raise CredentialRejected(message, token_credential(token)) from None
        except jwt.PyJWTError:
            raise CredentialRejected("the token is not valid") from None
        return principal_from_claims(claims), float(claims["exp"])
