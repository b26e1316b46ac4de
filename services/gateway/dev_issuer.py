"""The development issuer: an OpenID Connect provider inside the gateway with demo users.

On only when configured (`DEV_ISSUER=true`, or `DEMO_DATA=true` from the launcher) and refused
when `ENV=production` (settings.check_settings). Its RS256 key: with `ENV=development` one key
in `DATA_DIR/dev-issuer-key.pem` (0600), made by the first gateway worker that needs it and
shared by all (`WORKERS>1`) and across restarts; otherwise (tests) a fresh key per app.
Routes: discovery, `/jwks`, a sign-in page listing the demo
users (sets the session cookie), and `POST /dev-issuer/token` for API clients and tests.
"""

from __future__ import annotations

import hashlib
import html
import logging
import os
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jwt
import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar import Request, Response, Router, get, post
from litestar.params import JSONBody, QueryParameter, URLEncodedBody
from litestar.response import Redirect

from services.gateway.auth import clear_session, set_session
from services.gateway.openapi import documented_errors
from services.gateway.settings import GatewaySettings
from shared.errors import NotFound

log = logging.getLogger(__name__)


class DemoUser(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    label: str
    claims: dict[str, Any]


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(
        id="resident-turku",
        label="Resident of Turku (Aino Virtanen)",
        claims={
            "name": "Aino Virtanen",
            "email": "aino.virtanen@example.fi",
            "roles": ["resident"],
            "loa": "substantial",
            "home_municipality": "853",
        },
    ),
    DemoUser(
        id="resident-kaarina",
        label="Resident of Kaarina (Mikko Lehtonen)",
        claims={
            "name": "Mikko Lehtonen",
            "email": "mikko.lehtonen@example.fi",
            "roles": ["resident"],
            "loa": "substantial",
            "home_municipality": "202",
        },
    ),
    DemoUser(
        id="clerk-sports",
        label="Sports services clerk (Liikuntapalvelut)",
        claims={"name": "Sanna Sport", "roles": ["staff"], "departments": ["sports"]},
    ),
    DemoUser(
        id="clerk-library",
        label="Library clerk (Turun kaupunginkirjasto)",
        claims={
            "name": "Leena Kirja",
            "roles": ["staff", "library_clerk"],
            "departments": ["library"],
        },
    ),
    DemoUser(
        id="clerk-gis",
        label="GIS clerk (Kaupunkimittaus)",
        claims={"name": "Kalle Kartta", "roles": ["staff", "gis_clerk"], "departments": ["gis"]},
    ),
    DemoUser(
        id="finance",
        label="Finance officer",
        claims={"name": "Fiia Talous", "roles": ["finance"]},
    ),
    DemoUser(id="admin", label="Administrator", claims={"name": "Ada Admin", "roles": ["admin"]}),
)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _load(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA key")
    return key


def shared_key(path: Path) -> rsa.RSAPrivateKey:
    """The development signing key in `path` (mode 0600), created by whoever comes first:
    several workers starting at once end up with the same key (create-then-link is atomic)."""
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return _load(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = _new_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)
        log.info("development issuer key created in %s", path)
    except FileExistsError:
        pass  # another worker was first: use its key
    finally:
        temporary.unlink()
    return _load(path)


class DevIssuer:
    """Holds the signing key (shared through `key_file`, or fresh) and signs demo tokens."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        lifetime_s: int = 8 * 3600,
        key_file: Path | None = None,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.lifetime_s = lifetime_s
        self._key = shared_key(key_file) if key_file is not None else _new_key()
        public = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = hashlib.sha256(public).hexdigest()[:16]  # the same in every worker
        self.users = {u.id: u for u in DEMO_USERS}

    def jwks(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def sign(self, user_id: str, *, lifetime_s: int | None = None, **overrides: Any) -> str:
        user = self.users.get(user_id)
        if user is None:
            raise NotFound(f"no demo user {user_id}", field="user")
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": f"demo:{user.id}",
            "iat": now,
            "exp": now + (lifetime_s if lifetime_s is not None else self.lifetime_s),
            **user.claims,
            **overrides,
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})


class TokenRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    user: str


class TokenReply(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class OpenIdConfiguration(msgspec.Struct, frozen=True, kw_only=True):
    """The issuer's discovery document (OpenID Connect Discovery 1.0, the fields we use)."""

    issuer: str
    jwks_uri: str
    authorization_endpoint: str
    token_endpoint: str
    id_token_signing_alg_values_supported: list[str]
    subject_types_supported: list[str]
    response_types_supported: list[str]


class Jwk(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An RSA public signing key (RFC 7517, RFC 7518 section 6.3)."""

    kty: str
    key_ops: list[str] | None = None
    n: str
    e: str
    kid: str
    use: str
    alg: str


class Jwks(msgspec.Struct, frozen=True, kw_only=True):
    keys: list[Jwk]


class SignInForm(msgspec.Struct, frozen=True, kw_only=True):
    user: str
    next: str = "/"


def _safe_next(target: str) -> str:
    """Only local paths: never an open redirect."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


WHO = "Who may call: anyone (development only: the issuer is off in production)."
GET_ERRORS = documented_errors(public=True, method="GET")
POST_ERRORS = documented_errors(public=True, method="POST")


def dev_issuer_router(issuer: DevIssuer, settings: GatewaySettings, secure: bool) -> Router:
    """The issuer's routes, in the OpenAPI document (tag `development`) while it is on."""

    @get(
        "/.well-known/openid-configuration",
        summary="Discovery document of the dev issuer",
        description=WHO,
        **GET_ERRORS,
    )
    async def discovery() -> OpenIdConfiguration:
        return OpenIdConfiguration(
            issuer=issuer.issuer,
            jwks_uri=f"{issuer.issuer}/jwks",
            authorization_endpoint=f"{issuer.issuer}/sign-in",
            token_endpoint=f"{issuer.issuer}/token",
            id_token_signing_alg_values_supported=["RS256"],
            subject_types_supported=["public"],
            response_types_supported=["code"],
        )

    @get("/jwks", summary="Signing keys of the dev issuer", description=WHO, **GET_ERRORS)
    async def jwks() -> Jwks:
        return msgspec.convert(issuer.jwks(), Jwks)

    @post(
        "/token",
        summary="A token for a demo user (development only)",
        description=f"{WHO} `user` is a demo user's id (404 for any other).",
        **POST_ERRORS,
    )
    async def token(data: JSONBody[TokenRequest]) -> TokenReply:
        return TokenReply(access_token=issuer.sign(data.user), expires_in=issuer.lifetime_s)

    @get(
        "/sign-in",
        summary="Sign-in page listing the demo users",
        description=WHO,
        media_type="text/html",
        **GET_ERRORS,
    )
    async def sign_in_page(
        next_: Annotated[str, QueryParameter(name="next")] = "/",
    ) -> Response[str]:
        target = html.escape(_safe_next(next_), quote=True)
        items = "".join(
            f'<li><form method="post" action="/dev-issuer/sign-in">'
            f'<input type="hidden" name="user" value="{html.escape(u.id)}">'
            f'<input type="hidden" name="next" value="{target}">'
            f'<button type="submit">{html.escape(u.label)}</button></form></li>'
            for u in DEMO_USERS
        )
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Demo sign-in</title></head><body><main><h1>Demo sign-in</h1>"
            "<p>Development only: choose a demo user.</p>"
            f"<ul>{items}</ul></main></body></html>"
        )
        return Response(page, media_type="text/html")

    @post(
        "/sign-in",
        summary="Sign in as a demo user (sets the session cookie)",
        description=WHO,
        status_code=303,
        **POST_ERRORS,
    )
    async def sign_in(data: URLEncodedBody[SignInForm]) -> Redirect:
        response = Redirect(path=quote(_safe_next(data.next), safe="/?=&%:+"), status_code=303)
        set_session(response, issuer.sign(data.user), settings, secure)
        return response

    return Router(
        "/dev-issuer",
        route_handlers=[discovery, jwks, token, sign_in_page, sign_in],
        tags=["development"],
    )


@post(
    "/auth/sign-out",
    status_code=303,
    tags=["auth"],
    summary="Sign out (clears the session)",
    **POST_ERRORS,
)
async def sign_out(request: Request[Any, Any, Any]) -> Redirect:
    response = Redirect(path="/", status_code=303)
    clear_session(response, request.app.state.gateway_settings)
    return response
