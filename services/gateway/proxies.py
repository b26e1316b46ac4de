"""The caller's address behind reverse proxies: `X-Forwarded-For` or RFC 7239 `Forwarded`,
believed only as far as trusted proxies (TRUSTED_PROXIES) added it.

Which of the two headers the proxies write is configuration (FORWARDED_HEADER): a proxy that
writes one passes the other on as the client sent it, so believing both would let a client
choose its own address (and its own rate-limit bucket).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Literal

from litestar.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
ForwardedHeader = Literal["x-forwarded-for", "forwarded"]

# RFC 7239 section 6.3: an obfuscated node name, e.g. `_hidden` (stable per client).
_OBFUSCATED = re.compile(r"_[A-Za-z0-9._-]{1,64}")
_IPV4_PORT = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3}):\d+")
_BRACKETED = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::\w+)?")
_QUOTED_PAIR = re.compile(r"\\(.)")


def _split(value: str, separator: str) -> Iterator[str]:
    """`value` split at `separator` outside quoted strings."""
    start, quoted, escaped = 0, False, False
    for i, char in enumerate(value):
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            yield value[start:i]
            start = i + 1
    yield value[start:]


def _node(value: str) -> str:
    """The address of a `for=` node: `192.0.2.1:8080` -> `192.0.2.1`, `[2001:db8::1]:4711` ->
    `2001:db8::1`; `unknown` and obfuscated names stay as they are."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = _QUOTED_PAIR.sub(r"\1", value[1:-1]).strip()
    for pattern in (_BRACKETED, _IPV4_PORT):
        match = pattern.fullmatch(value)
        if match:
            return match.group(1)
    return value


def forwarded_for(header: str) -> list[str]:
    """The `for=` nodes of a `Forwarded` header, nearest the client first; a hop that did not
    say `for=` is `unknown`."""
    hops = []
    for element in _split(header, ","):
        if not element.strip():
            continue
        node = "unknown"
        for pair in _split(element, ";"):
            name, _, value = pair.partition("=")
            if name.strip().lower() == "for":
                node = _node(value)
        hops.append(node)
    return hops


def x_forwarded_for(header: str) -> list[str]:
    return [hop.strip() for hop in header.split(",") if hop.strip()]


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    ip = _address(address)
    return ip is not None and any(ip in network for network in trusted)


def client_ip(
    scope: Scope,
    headers: Mapping[str, str],
    trusted: tuple[Network, ...],
    header: ForwardedHeader = "x-forwarded-for",
) -> str:
    """The caller's address: the nearest hop not itself a trusted proxy, walking the
    forwarded header from the peer backwards; the header only counts when the peer is a
    trusted proxy. A hop that hid its client (`for=unknown`) counts as the proxy that said so.
    """
    peer = (scope.get("client") or ("unknown", 0))[0]
    if not trusted or header not in headers or not is_trusted(peer, trusted):
        return peer
    parse = forwarded_for if header == "forwarded" else x_forwarded_for
    hops = parse(headers[header])
    nearest = peer
    for hop in reversed(hops):
        if is_trusted(hop, trusted):
            nearest = hop
            continue
        if _address(hop) is not None or _OBFUSCATED.fullmatch(hop):
            return hop
        return nearest
    return hops[0] if hops and _address(hops[0]) is not None else nearest
