"""deploy/nats-server.conf against the names the code uses, so the two cannot drift apart:
request subjects, internal calls between services, events, the EVENTS stream, durable
consumers, the gateway's rate-limit bucket and the GIS files' object store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.gateway.settings import GatewaySettings
from shared.events import STREAM
from shared.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[3]
CONF = ROOT / "deploy" / "nats-server.conf"
SERVICES = ("booking", "cart", "payment", "insights", "audit", "notify")

_BLOCK = re.compile(r"^\s*([A-Z]+)\s*=\s*\{(.*?)^\s*\}", re.S | re.M)
_LIST = re.compile(r"(publish|subscribe)\s*=\s*\[(.*?)\]", re.S)
_CALL = re.compile(r'subject_for\(\s*"(\w+)",\s*"(\w+)"\s*\)')
_DURABLE = re.compile(r'Consumer\(\s*(?:durable=)?"([\w-]+)"')


def permissions() -> dict[str, dict[str, list[str]]]:
    text = "\n".join(line.split("#", 1)[0] for line in CONF.read_text().splitlines())
    found: dict[str, dict[str, list[str]]] = {}
    for user, body in _BLOCK.findall(text):
        lists = {kind: re.findall(r'"([^"]+)"', items) for kind, items in _LIST.findall(body)}
        found[user.lower()] = {
            "publish": lists.get("publish", []),
            "subscribe": lists.get("subscribe", []),
            "allow_responses": ["true"] if "allow_responses = true" in body else [],
        }
    return found


def matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: `*` one token, `>` one or more trailing tokens."""
    wanted, tokens = pattern.split("."), subject.split(".")
    for i, part in enumerate(wanted):
        if part == ">":
            return len(tokens) > i
        if i >= len(tokens) or (part != "*" and part != tokens[i]):
            return False
    return len(tokens) == len(wanted)


def allowed(patterns: list[str], subject: str) -> bool:
    return any(matches(p, subject) for p in patterns)


def source_of(service: str) -> str:
    return "\n".join(p.read_text() for p in (ROOT / "services" / service).rglob("*.py"))


def test_matching_follows_nats_wildcards() -> None:
    assert matches("a.>", "a.b.c")
    assert not matches("a.>", "a")
    assert matches("a.*.c", "a.b.c")
    assert not matches("a.*", "a.b.c")


def test_every_process_has_a_user() -> None:
    assert set(permissions()) == {"gateway", *SERVICES}


def test_the_gateway_uses_its_rate_limit_bucket() -> None:
    gateway = permissions()["gateway"]["publish"]
    bucket = GatewaySettings().rate_limit_bucket
    assert allowed(gateway, f"$KV.{bucket}.abcdef")
    for api in ("STREAM.INFO", "STREAM.CREATE", "STREAM.MSG.GET"):
        assert allowed(gateway, f"$JS.API.{api}.KV_{bucket}"), api
    assert allowed(gateway, f"$JS.API.DIRECT.GET.KV_{bucket}.$KV.{bucket}.abcdef")
    assert not any("ratelimit" in p for p in gateway)


def object_store_subjects(bucket: str) -> list[str]:
    """What a process putting, reading and dropping GIS files in `bucket` publishes on
    (shared/filestore.py; the bucket made at start when missing)."""
    stream = f"OBJ_{bucket}"
    return [
        f"$O.{bucket}.C.0123456789abcdef",  # a chunk
        f"$O.{bucket}.M.MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",  # a description
        f"$JS.API.DIRECT.GET.{stream}",  # the next chunk
        f"$JS.API.DIRECT.GET.{stream}.$O.{bucket}.M.MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        f"$JS.API.STREAM.INFO.{stream}",
        f"$JS.API.STREAM.CREATE.{stream}",
        f"$JS.API.STREAM.UPDATE.{stream}",  # GIS_FILES_REPLICAS raised
        f"$JS.API.STREAM.PURGE.{stream}",  # a failed upload's or a dropped file's chunks
    ]


@pytest.mark.parametrize("user", ["gateway", "cart"])
def test_the_gateway_and_cart_use_the_gis_files_bucket_and_only_they(user: str) -> None:
    perms = permissions()
    bucket = CommonSettings().gis_files_bucket
    for subject in object_store_subjects(bucket):
        assert allowed(perms[user]["publish"], subject), f"{user}: {subject}"
    for other in set(perms) - {"gateway", "cart"}:
        assert not any(allowed(perms[other]["publish"], s) for s in object_store_subjects(bucket))
    for subject in (f"$JS.API.STREAM.DELETE.OBJ_{bucket}", "$O.other-bucket.C.x"):
        assert not allowed(perms[user]["publish"], subject), subject


@pytest.mark.parametrize("service", SERVICES)
def test_the_gateway_calls_every_service_and_only_it_publishes_requests(service: str) -> None:
    perms = permissions()
    assert allowed(perms["gateway"]["publish"], f"{service}.v1.hold")
    assert allowed(perms["gateway"]["publish"], f"$SRV.PING.{service}")
    assert allowed(perms["gateway"]["subscribe"], "_INBOX.abc.def")
    assert not allowed(perms["gateway"]["publish"], f"evt.{service}.x.y")
    assert not allowed(perms["gateway"]["publish"], f"$JS.API.STREAM.DELETE.{STREAM}")


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_answers_its_subjects_and_publishes_its_events(service: str) -> None:
    perms = permissions()[service]
    assert allowed(perms["subscribe"], f"{service}.v1.hold")
    assert allowed(perms["subscribe"], f"$SRV.PING.{service}")
    assert allowed(perms["subscribe"], "_INBOX.abc.def")
    assert perms["allow_responses"]
    assert allowed(perms["publish"], f"evt.{service}.thing.happened")
    for other in SERVICES:
        if other != service:
            assert not allowed(perms["publish"], f"evt.{other}.thing.happened")
            assert not allowed(perms["subscribe"], f"{other}.v1.hold")
    for api in ("INFO", "STREAM.INFO", "STREAM.CREATE", "STREAM.UPDATE"):
        subject = "$JS.API.INFO" if api == "INFO" else f"$JS.API.{api}.{STREAM}"
        assert allowed(perms["publish"], subject), subject
    assert not allowed(perms["publish"], f"$JS.API.STREAM.DELETE.{STREAM}")


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_calls_only_the_operations_its_code_calls(service: str) -> None:
    perms = permissions()[service]["publish"]
    calls = {f"{s}.v1.{op}" for s, op in _CALL.findall(source_of(service)) if s != service}
    for subject in calls:
        assert allowed(perms, subject), f"{service} calls {subject}: add it to nats-server.conf"
    requests = {p for p in perms if p.split(".")[0] in SERVICES}
    assert requests == calls, "a request subject in nats-server.conf that the code never calls"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_may_use_exactly_its_own_durable_consumers(service: str) -> None:
    perms = permissions()[service]["publish"]
    durables = set(_DURABLE.findall(source_of(service)))
    assert durables, f"no consumers found in services/{service}"
    for durable in durables:
        for subject in (
            f"$JS.API.CONSUMER.INFO.{STREAM}.{durable}",
            f"$JS.API.CONSUMER.CREATE.{STREAM}.{durable}",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{STREAM}.{durable}",  # nats-py's durable_name
            f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.{durable}",
            f"$JS.ACK.{STREAM}.{durable}.1.2.3.4.5",
        ):
            assert allowed(perms, subject), f"{service}: {subject}"
    granted = set()
    for pattern in perms:
        tokens = pattern.split(".")
        if pattern.startswith(("$JS.API.CONSUMER.", "$JS.ACK.")) and STREAM in tokens:
            granted.add(tokens[tokens.index(STREAM) + 1])
    assert granted == durables, "durable names in nats-server.conf differ from the code"
