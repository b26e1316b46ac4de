"""The caller's address behind reverse proxies: X-Forwarded-For or RFC 7239 Forwarded, each
believed only from trusted proxies and only as far as they added it."""

from __future__ import annotations

from services.gateway.proxies import client_ip, forwarded_for
from services.gateway.settings import GatewaySettings

TRUSTED = GatewaySettings(trusted_proxies="10.0.0.0/8, fd00::/8").trusted_networks()
PROXY = {"client": ("10.0.0.1", 443)}
STRANGER = {"client": ("198.51.100.1", 443)}


def test_forwarded_nodes_are_parsed_as_rfc_7239_writes_them() -> None:
    header = (
        'for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711", '
        'for="198.51.100.17:8080";host="a,b;c", proto=https, for=_hidden, for=unknown'
    )
    assert forwarded_for(header) == [
        "192.0.2.60",
        "2001:db8:cafe::17",
        "198.51.100.17",
        "unknown",  # an element without for=
        "_hidden",
        "unknown",
    ]


def test_forwarded_from_a_trusted_proxy_names_the_client() -> None:
    headers = {"forwarded": 'for=203.0.113.7;proto=https, for="10.0.0.5"'}
    assert client_ip(PROXY, headers, TRUSTED, "forwarded") == "203.0.113.7"
    ipv6 = {"forwarded": 'for="[2001:db8::7]:51000", for="[fd00::2]"'}
    assert client_ip({"client": ("fd00::1", 443)}, ipv6, TRUSTED, "forwarded") == "2001:db8::7"


def test_forwarded_from_anyone_else_is_ignored() -> None:
    headers = {"forwarded": "for=203.0.113.7"}
    assert client_ip(STRANGER, headers, TRUSTED, "forwarded") == "198.51.100.1"
    assert client_ip(PROXY, headers, (), "forwarded") == "10.0.0.1"


def test_what_the_client_wrote_before_the_proxies_is_not_believed() -> None:
    # The client sent "for=1.2.3.4"; the trusted proxy appended the address it saw.
    headers = {"forwarded": "for=1.2.3.4, for=203.0.113.7"}
    assert client_ip(PROXY, headers, TRUSTED, "forwarded") == "203.0.113.7"


def test_only_the_configured_header_counts() -> None:
    # A proxy writing X-Forwarded-For passes a client's own Forwarded header on unchanged.
    spoofed = {"x-forwarded-for": "203.0.113.7", "forwarded": "for=1.2.3.4"}
    assert client_ip(PROXY, spoofed, TRUSTED, "x-forwarded-for") == "203.0.113.7"
    assert client_ip(PROXY, {"x-forwarded-for": "1.2.3.4"}, TRUSTED, "forwarded") == "10.0.0.1"


def test_a_hidden_client_counts_as_the_proxy_that_hid_it() -> None:
    assert client_ip(PROXY, {"forwarded": "for=unknown"}, TRUSTED, "forwarded") == "10.0.0.1"
    garbage = {"forwarded": 'for="not an address", for=10.0.0.9'}
    assert client_ip(PROXY, garbage, TRUSTED, "forwarded") == "10.0.0.9"
    assert client_ip(PROXY, {"forwarded": "for=_abc"}, TRUSTED, "forwarded") == "_abc"
