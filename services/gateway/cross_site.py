"""Cross-site request forgery: a browser sends the session cookie with any site's request, so a
write carried by the cookie must prove it comes from our own pages (or an origin CORS_ORIGINS
allows).

- The `Origin` header, when sent (every current browser sends it on a POST), must be the
  gateway's own origin (PUBLIC_URL, or the host the request was sent to) or a CORS origin;
  `Origin: null` (sandboxed frames, some redirects) is never ours.
- Without `Origin`, `Sec-Fetch-Site` (when sent) must be `same-origin` or `none` (typed by the
  person); `same-site` is refused too: a sibling subdomain is not us.
- An `/api/v1` write with a body must be JSON (`application/json` or `application/*+json`): a
  cross-site HTML form can only send urlencoded, multipart or text/plain bodies, and a
  script's JSON request to us is preflighted by CORS.

A request with neither header comes from a non-browser client (no ambient cookie to abuse).
Bearer-token and API-key requests are not checked: a browser never adds those by itself.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

from services.gateway.errors import problem
from shared.errors import Forbidden

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(public_url: str, cors_origins: Collection[str]) -> frozenset[str]:
    """The origins whose pages may write with the session cookie."""
    return frozenset({_origin_of(public_url), *(o.rstrip("/").lower() for o in cors_origins)})


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    kind, _, sub = media.partition("/")
    return kind == "application" and (sub == "json" or sub.endswith("+json"))


def has_body(headers: Mapping[str, str]) -> bool:
    length = headers.get("content-length", "").strip()
    return (bool(length) and length != "0") or "transfer-encoding" in headers


def refuse_cross_site(
    method: str, path: str, headers: Mapping[str, str], allowed: frozenset[str], api_prefix: str
) -> None:
    """Raise 403 (another site) or 415 (an API write that is not JSON) for a write carried by
    the session cookie; reads and other methods pass."""
    if method not in WRITES:
        return
    origin = headers.get("origin")
    if origin is not None:
        own_host = headers.get("host", "").lower()
        same = origin != "null" and (
            origin.rstrip("/").lower() in allowed or urlsplit(origin).netloc.lower() == own_host
        )
        if not same:
            raise Forbidden("this request came from another site; send it from our own pages")
    elif headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise Forbidden("this request came from another site; send it from our own pages")
    if path.startswith(api_prefix) and has_body(headers):
        content_type = headers.get("content-type", "")
        if not is_json(content_type):
            raise problem(
                415,
                "unsupported_media_type",
                "send the body as application/json",
                field="content-type",
            )
