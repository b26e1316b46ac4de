"""Gateway settings: environment variables without prefix, named after the fields.

HOST, PORT, PUBLIC_URL, WORKERS; MAX_BODY_BYTES (413 above it);
OIDC_ISSUER, OIDC_AUDIENCE, OIDC_JWKS_URL (default: from discovery), OIDC_LEEWAY_S (clock
skew), OIDC_JWKS_CACHE_S, OIDC_JWKS_MIN_REFRESH_S, OIDC_JWKS_GRACE_S (how long cached keys
serve while the issuer is down); DEV_ISSUER (or DEMO_DATA) for the built-in issuer with demo
users; SESSION_COOKIE, SESSION_MAX_AGE_S;
API_KEYS='[{"id": "sap", "sha256": "<hex sha256 of sap.SECRET>", "scopes": ["finance"],
"roles": ["finance"]}]' (clients send `X-API-Key: sap.SECRET`);
RATE_LIMIT_IP_PER_MINUTE (every request, also a refused one), RATE_LIMIT_PRINCIPAL_PER_MINUTE,
RATE_LIMIT_AUTH_FAILURES_IP_PER_MINUTE, RATE_LIMIT_AUTH_FAILURES_CREDENTIAL_PER_MINUTE (failed
credentials per address, and per API key id / token subject; 0 = off), RATE_LIMIT_BUCKET,
RATE_LIMIT_SYNC_S; GIS_MAX_UPLOAD_BYTES (the largest GIS file a clerk may upload; the file
streams into the NATS Object Store, see GIS_FILES_* in shared/settings.py); TRUSTED_PROXIES
(CIDRs of reverse proxies whose forwarded header is believed), FORWARDED_HEADER
(`x-forwarded-for`, the default, or `forwarded` for RFC 7239 `Forwarded: for=...`: the
header those proxies write); CORS_ORIGINS; GATEWAY_MAP_TILES_URL (the background map of the
GIS shop's area drawing: an https tile address in the ETRS-TM35FIN JHS 180 tile matrix,
`{z}/{y}/{x}`; empty = no background layer) and GATEWAY_MAP_ATTRIBUTION (its credit line,
e.g. `© Maanmittauslaitos`).

Development-only values (the built-in issuer with demo users) are refused when
`ENV=production` (`check_settings`).
"""

from __future__ import annotations

import ipaddress
import json
from typing import Literal
from urllib.parse import urlsplit

import msgspec

from shared.settings import CommonSettings, SettingsError, refuse_in_production


class ApiKey(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An integration client: `sha256` is the hex SHA-256 of the whole key (`<id>.<secret>`).

    `scopes` decide which routes it may call (e.g. "finance" for the settlement downloads and
    the ERP export, "refunds" to refund, "library", "gis"); `roles` and `departments` are what
    the services see (e.g. ["finance"]). `revoked: true` keeps a retired key on record and
    refuses it (401).
    """

    id: str
    sha256: str
    scopes: tuple[str, ...] = ()
    roles: tuple[Literal["staff", "library_clerk", "gis_clerk", "finance"], ...] = ()
    departments: tuple[str, ...] = ()
    revoked: bool = False


class GatewaySettings(msgspec.Struct, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # e.g. https://varaukset.turku.fi; default http://host:port
    workers: int = 1
    health_timeout_s: float = 1.0
    max_body_bytes: int = 1_048_576
    # OpenID Connect (the city's broker). Empty issuer + dev issuer on: the built-in issuer.
    oidc_issuer: str = ""
    oidc_audience: str = "turku-city-services"
    oidc_jwks_url: str = ""  # default: from the issuer's discovery document
    oidc_leeway_s: int = 30
    oidc_jwks_cache_s: int = 300
    oidc_jwks_min_refresh_s: float = 5.0  # an unknown kid refetches at most this often
    oidc_jwks_grace_s: float = 3600.0  # issuer down: cached keys serve this long past the cache
    dev_issuer: bool = False  # the built-in issuer with demo users (never in production)
    demo_data: bool = False  # the launcher's development flag: also turns the dev issuer on
    session_cookie: str = "tcs_session"
    session_max_age_s: int = 8 * 3600
    # API keys: JSON list of {"id", "sha256", "scopes", "departments"}.
    api_keys: str = ""
    # Rate limits per minute (0 = off); shared through a NATS KV bucket.
    rate_limit_ip_per_minute: int = 600
    rate_limit_principal_per_minute: int = 1200
    # Failed credentials (a wrong API key or Bearer token): stricter, per address and per
    # credential (a configured API key's id, a token's subject once its signature held).
    rate_limit_auth_failures_ip_per_minute: int = 30
    rate_limit_auth_failures_credential_per_minute: int = 10
    rate_limit_bucket: str = "gateway_rate_limits"
    rate_limit_sync_s: float = 0.1
    # Reverse proxies whose forwarded header we believe: comma-separated CIDRs, and which
    # header they write (the other one is ignored: it is whatever the client sent).
    trusted_proxies: str = ""
    forwarded_header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"
    cors_origins: str = ""  # comma-separated; empty: same-origin only
    # The largest GIS file a clerk may upload (streamed into the object store, never held
    # whole; MAX_BODY_BYTES does not apply to the two upload routes).
    gis_max_upload_bytes: int = 1024 * 1024 * 1024
    # The GIS shop's map (services/gateway/web/gis_map.py): tiles of the background layer,
    # e.g. https://tiles.example.fi/wmts/1.0.0/taustakartta/default/ETRS-TM35FIN/{z}/{y}/{x}.png
    gateway_map_tiles_url: str = ""
    gateway_map_attribution: str = ""

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @property
    def dev_issuer_enabled(self) -> bool:
        return self.dev_issuer or self.demo_data

    @property
    def issuer(self) -> str:
        """The issuer tokens must come from (the built-in one unless configured)."""
        if self.oidc_issuer:
            return self.oidc_issuer.rstrip("/")
        return f"{self.base_url}/dev-issuer"

    def parsed_api_keys(self) -> tuple[ApiKey, ...]:
        if not self.api_keys:
            return ()
        try:
            return tuple(msgspec.convert(json.loads(self.api_keys), list[ApiKey]))
        except (ValueError, msgspec.ValidationError) as exc:
            raise SettingsError(f"API_KEYS: {exc}") from exc

    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        try:
            return tuple(
                ipaddress.ip_network(part.strip(), strict=False)
                for part in self.trusted_proxies.split(",")
                if part.strip()
            )
        except ValueError as exc:
            raise SettingsError(f"TRUSTED_PROXIES: {exc}") from exc

    @property
    def rate_limited(self) -> bool:
        return any(
            limit > 0
            for limit in (
                self.rate_limit_ip_per_minute,
                self.rate_limit_principal_per_minute,
                self.rate_limit_auth_failures_ip_per_minute,
                self.rate_limit_auth_failures_credential_per_minute,
            )
        )

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


def check_settings(common: CommonSettings, gateway: GatewaySettings) -> None:
    """Refuse development-only configuration in production; validate parsed values."""
    problems: list[str] = []
    if gateway.dev_issuer_enabled:
        problems.append("the development issuer (DEV_ISSUER / DEMO_DATA) must be off")
    if common.is_production and not gateway.oidc_issuer:
        problems.append("OIDC_ISSUER must be set")
    refuse_in_production(common, problems)
    gateway.parsed_api_keys()
    gateway.trusted_networks()
    check_tiles_url(gateway.gateway_map_tiles_url)


def check_tiles_url(url: str) -> None:
    """GATEWAY_MAP_TILES_URL: empty, or an https (http on localhost) address naming {z}, {x}
    and {y}; its origin is added to the GIS page's CSP, so nothing else may ride along."""
    if not url:
        return
    parts = urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1")
    if not (parts.scheme == "https" or (parts.scheme == "http" and local)) or not parts.netloc:
        raise SettingsError("GATEWAY_MAP_TILES_URL: an https:// address is needed")
    if any(c in parts.netloc for c in "{}'\"\\ ;") or parts.username or parts.password:
        raise SettingsError("GATEWAY_MAP_TILES_URL: the host part may hold only a host name")
    missing = [p for p in ("{z}", "{x}", "{y}") if p not in url]
    if missing:
        raise SettingsError(f"GATEWAY_MAP_TILES_URL: the address lacks {', '.join(missing)}")
