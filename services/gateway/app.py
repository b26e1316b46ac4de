"""Composition root of the gateway: settings -> auth, NATS, rate limits -> Litestar app."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.types import ControllerRouterHandler, ExceptionHandlersMap
from nats.aio.client import Client as NATS

from services.gateway import errors, middleware, openapi
from services.gateway.auth import ApiKeys, Authenticator
from services.gateway.clients import Services
from services.gateway.contacts import ContactSeeder
from services.gateway.cross_site import allowed_origins
from services.gateway.dev_issuer import DevIssuer, dev_issuer_router, sign_out
from services.gateway.dev_mail import dev_mail_router
from services.gateway.oidc import JwksCache, TokenVerifier, http_jwks_fetcher
from services.gateway.ratelimit import SharedRateLimiter, open_bucket
from services.gateway.request import GatewayRequest
from services.gateway.routes import api_routes, health
from services.gateway.routes.gis_files import open_files_bucket
from services.gateway.settings import GatewaySettings, check_settings
from shared.runtime import connect_nats
from shared.settings import CommonSettings, from_env


def _web_routes() -> list[ControllerRouterHandler]:
    """The web pages (services/gateway/web, built alongside), when present."""
    try:
        web = importlib.import_module("services.gateway.web")
    except ModuleNotFoundError as exc:
        if exc.name != "services.gateway.web":
            raise
        return []
    return [web.web_router()]


def _web_exception_handlers() -> ExceptionHandlersMap:
    """Friendly 404 and 500 pages for browsers, when the web pages are present."""
    try:
        web = importlib.import_module("services.gateway.web")
    except ModuleNotFoundError as exc:
        if exc.name != "services.gateway.web":
            raise
        return {}
    return dict(web.EXCEPTION_HANDLERS)


def _authenticator(
    common: CommonSettings, gateway: GatewaySettings, dev: DevIssuer | None
) -> Authenticator:
    verifier: TokenVerifier | None = None
    if dev is not None and not gateway.oidc_issuer:

        async def local_keys() -> dict[str, object]:
            return dev.jwks()

        keys = JwksCache(local_keys, ttl=gateway.oidc_jwks_cache_s)
        verifier = TokenVerifier(dev.issuer, gateway.oidc_audience, keys, gateway.oidc_leeway_s)
    elif gateway.oidc_issuer:
        fetch = http_jwks_fetcher(gateway.issuer, gateway.oidc_jwks_url)
        keys = JwksCache(
            fetch,
            ttl=gateway.oidc_jwks_cache_s,
            min_refresh=gateway.oidc_jwks_min_refresh_s,
            grace_s=gateway.oidc_jwks_grace_s,
            retry_s=max(1.0, gateway.oidc_jwks_min_refresh_s),
        )
        verifier = TokenVerifier(gateway.issuer, gateway.oidc_audience, keys, gateway.oidc_leeway_s)
    return Authenticator(gateway, verifier, ApiKeys(gateway.parsed_api_keys()))


def dev_key_file(common: CommonSettings) -> Path | None:
    """Where the development issuer keeps its key so that every worker (and a restart) signs
    with the same one; tests get a fresh key per app."""
    return Path(common.data_dir) / "dev-issuer-key.pem" if common.env == "development" else None


def create_app(
    common: CommonSettings | None = None,
    gateway: GatewaySettings | None = None,
    extra_routes: Sequence[ControllerRouterHandler] = (),
) -> Litestar:
    """The gateway app; `extra_routes` lets tests mount routes of a test service."""
    common = common or from_env(CommonSettings)
    gateway = gateway or from_env(GatewaySettings)
    check_settings(common, gateway)
    secure_cookies = common.env not in ("development", "test")
    dev = (
        DevIssuer(
            gateway.issuer,
            gateway.oidc_audience,
            gateway.session_max_age_s,
            key_file=dev_key_file(common),
        )
        if gateway.dev_issuer_enabled and not gateway.oidc_issuer
        else None
    )

    async def connect() -> NATS:
        if not common.nats_url:
            raise RuntimeError("NATS_URL must be set (the launcher sets it)")
        return await connect_nats(common.nats_url, "gateway", common)

    async def make_limiter(nc: NATS) -> SharedRateLimiter | None:
        if not gateway.rate_limited:
            return None
        kv = await open_bucket(nc.jetstream(), gateway.rate_limit_bucket, 60)
        limiter = SharedRateLimiter(kv, 60, gateway.rate_limit_sync_s)
        limiter.start()
        return limiter

    @contextlib.asynccontextmanager
    async def connections(app: Litestar) -> AsyncIterator[None]:
        services = Services(connect, common.request_timeout_s, make_limiter)
        app.state.services = services
        found = await services.resources()  # fail at start when NATS is unreachable
        await open_files_bucket(found.nc, common)  # the GIS files' bucket
        try:
            yield
        finally:
            seeder: ContactSeeder | None = getattr(app.state, "contact_seeder", None)
            if seeder is not None:
                await seeder.close()
            await services.close()

    handlers = [
        health.health,
        health.ready,
        sign_out,
        *api_routes(local_provider=not common.is_production),
        *openapi.docs_routes(),
        *extra_routes,
        *_web_routes(),
    ]
    if dev is not None:
        handlers.append(dev_issuer_router(dev, gateway, secure_cookies))
    if common.env == "development":  # the local mail catcher's mails (never in production)
        handlers.append(dev_mail_router())
    cors = (
        CORSConfig(
            allow_origins=gateway.cors_origin_list,
            allow_credentials=True,
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "X-API-Key",
                "X-Request-Id",
                "traceparent",
            ],
            expose_headers=["X-Request-Id", "traceparent", "Retry-After"],
        )
        if gateway.cors_origin_list
        else None
    )
    authenticator = _authenticator(common, gateway, dev)
    app = Litestar(
        route_handlers=handlers,
        lifespan=[connections],
        state=State(
            {
                "gateway_settings": gateway,
                "common_settings": common,
                "dev_issuer": dev,
                "authenticator": authenticator,
                "trusted_networks": gateway.trusted_networks(),
                "own_origins": allowed_origins(gateway.base_url, gateway.cors_origin_list),
                "secure_cookies": secure_cookies,
                "hsts": gateway.public_url.startswith("https://"),
            }
        ),
        middleware=[middleware.GatewayMiddleware],
        before_send=[middleware.before_send],
        plugins=[errors.problem_details_plugin(), openapi.TimeOfDaySchema()],
        exception_handlers={**errors.EXCEPTION_HANDLERS, **_web_exception_handlers()},
        request_max_body_size=gateway.max_body_bytes,
        request_class=GatewayRequest,
        cors_config=cors,
        openapi_config=openapi.config(),
        logging_config=None,  # shared.logging configures the process (asgi.app_factory)
    )
    if authenticator.verifier is not None:  # a sign-in fills the person's contact details
        seeder = ContactSeeder(lambda: getattr(app.state, "services", None))
        app.state.contact_seeder = seeder
        authenticator.verifier.on_first_verified = seeder.signed_in
    return app
