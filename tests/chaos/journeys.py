"""Full resident journeys through the gateway, as a resident's browser or app does them:
sign in -> hold a slot -> cart (the reservation, a library debit, a GIS file) -> checkout ->
pay at the local provider (its webhook comes back through the gateway) -> wait for the
order to be fulfilled -> download the GIS file.

A step that meets a transport failure or 502/503/504 is tried again with the same
Idempotency-Key until its deadline, as a client should; any other refusal ends the journey
with that step, its status and its problem `code` (a clear error). What was done is kept for
the invariant checks."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import aiohttp
import msgspec

from services.booking import demo
from services.cart.demo import DEMO_FILES
from tests.standins.koha import KohaState

RESOURCES = (demo.RESOURCE_SPORTS_HALL, demo.RESOURCE_SWIMMING_LANE)
RETRIED = {502, 503, 504}
STEP_S = 25.0  # a step keeps being tried this long
FULFIL_S = 60.0
GIS_PRODUCT = {
    "product_id": "guide-map",
    "format": "PDF",
    "licence_type": "CC BY 4.0",
    "purpose_of_use": "a walking route for a school class",
    "licence_accepted": True,
}
DEBIT_EUROS = "2.50"
# Koha account line ids of the debits the journeys add: one counter for every load of a run
# (a fresh one per load would hand out ids whose debits are paid already).
LINE_IDS = itertools.count(800001)


class JourneyFailed(Exception):
    def __init__(self, step: str, status: int | None, detail: str, *, clear: bool) -> None:
        super().__init__(f"{step}: {status} {detail}")
        self.step = step
        self.status = status
        self.detail = detail
        self.clear = clear


@dataclass
class Journey:
    resident: int
    started: float
    ended: float = 0.0
    ok: bool = False
    step: str = ""
    error: str = ""
    clear: bool = True
    retries: int = 0
    reservation_id: str = ""
    order_id: str = ""
    order_number: str = ""
    account_line_id: int = 0
    order_state: str = ""


@dataclass
class Resident:
    number: int
    token: str
    patron: int
    card: str
    pin: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Slots:
    items: list[dict[str, str]]
    taken: int = 0

    def take(self) -> dict[str, str]:
        if self.taken >= len(self.items):
            raise JourneyFailed("hold", None, "the plan ran out of free slots", clear=True)
        self.taken += 1
        return self.items[self.taken - 1]


@dataclass
class Load:
    """What the residents did: every journey, and the step errors met (retried or not)."""

    journeys: list[Journey] = field(default_factory=list)
    step_errors: Counter[str] = field(default_factory=Counter)


def _problem(body: bytes) -> str:
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return body[:120].decode(errors="replace")
    if isinstance(decoded, dict):
        return str(decoded.get("code") or decoded.get("title") or decoded)[:160]
    return str(decoded)[:160]


async def call(
    http: aiohttp.ClientSession,
    load: Load,
    journey: Journey,
    step: str,
    method: str,
    url: str,
    expect: tuple[int, ...],
    *,
    again: tuple[int, ...] = (),
    **kwargs: Any,
) -> Any:
    """`again`: statuses that also mean done when the step is tried again (its first try
    went through but its answer was lost)."""
    deadline = time.monotonic() + STEP_S
    last = "no answer"
    first = True
    while True:
        try:
            async with http.request(method, url, **kwargs) as response:
                body = await response.read()
                if response.status in expect or (not first and response.status in again):
                    if "json" in response.headers.get("content-type", ""):
                        return msgspec.json.decode(body)
                    return body
                last = f"{response.status} {_problem(body)}"
                load.step_errors[f"{step} {response.status}"] += 1
                if response.status not in RETRIED:
                    clear = response.status < 500 and bool(body)
                    raise JourneyFailed(step, response.status, _problem(body), clear=clear)
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            last = type(exc).__name__
            load.step_errors[f"{step} {last}"] += 1
        first = False
        if time.monotonic() > deadline:
            raise JourneyFailed(
                step, None, f"still failing after {STEP_S:.0f} s: {last}", clear=True
            )
        journey.retries += 1
        await asyncio.sleep(0.25)


async def journey(
    http: aiohttp.ClientSession,
    url: str,
    resident: Resident,
    slots: Slots,
    koha: KohaState,
    load: Load,
    record: Journey,
) -> None:
    def posting() -> dict[str, str]:
        return {**resident.auth, "Idempotency-Key": uuid.uuid4().hex}

    async def post(step: str, path: str, expect: int = 201, **kwargs: Any) -> Any:
        return await call(
            http, load, record, step, "POST", url + path, (expect,), headers=posting(), **kwargs
        )

    held = await post("hold", "/api/v1/holds", json={"items": [slots.take()]})
    record.reservation_id = held["reservations"][0]["reservation_id"]
    await post(
        "add_reservation",
        "/api/v1/cart/reservations",
        json={"reservation_id": record.reservation_id},
    )
    line_id = next(LINE_IDS)
    with koha.lock:
        koha.add_debit(resident.patron, line_id, "OVERDUE", DEBIT_EUROS, "Myöhästymismaksu")
    record.account_line_id = line_id
    await post(
        "add_library_debit", "/api/v1/cart/library-debits", json={"account_line_ids": [line_id]}
    )
    await post("add_gis_file", "/api/v1/cart/gis-products", json=GIS_PRODUCT)
    order = await post("checkout", "/api/v1/cart/checkout")
    record.order_id, record.order_number = order["order_id"], order["order_number"]
    payment = await post("pay_start", "/api/v1/payments", json={"order_id": record.order_id})
    page = payment["redirect_url"]
    await call(
        http,
        load,
        record,
        "pay",
        "POST",
        page,
        (200,),
        again=(409,),
        data={"decision": "pay"},
        headers={**resident.auth, "Origin": url},
    )
    seen = await fulfilled(http, url, resident, load, record)
    link = seen["downloads"][0]["url"]
    got = await call(http, load, record, "download", "GET", link, (200,))
    if got != DEMO_FILES["guide-map"][1]:
        raise JourneyFailed("download", 200, "the file's bytes differ", clear=False)


async def fulfilled(
    http: aiohttp.ClientSession, url: str, resident: Resident, load: Load, record: Journey
) -> Any:
    deadline = time.monotonic() + FULFIL_S
    while True:
        seen = await call(
            http,
            load,
            record,
            "fulfilment",
            "GET",
            f"{url}/api/v1/orders/{record.order_id}",
            (200,),
            headers=resident.auth,
        )
        record.order_state = seen["state"]
        if seen["state"] == "fulfilled":
            return seen
        if seen["state"] in ("refunded", "partially_refunded", "cancelled"):
            raise JourneyFailed("fulfilment", 200, f"order {seen['state']}", clear=True)
        if time.monotonic() > deadline:
            raise JourneyFailed(
                "fulfilment",
                200,
                f"order still {seen['state']} after {FULFIL_S:.0f} s",
                clear=False,
            )
        await asyncio.sleep(0.5)


async def run_residents(
    http: aiohttp.ClientSession,
    url: str,
    residents: list[Resident],
    slots: Slots,
    koha: KohaState,
    load: Load,
    until: asyncio.Event,
) -> None:
    """Every resident does journey after journey until `until` is set (a journey begun is
    finished)."""

    async def resident_loop(resident: Resident) -> None:
        while not until.is_set():
            record = Journey(resident.number, time.monotonic())
            load.journeys.append(record)
            try:
                await journey(http, url, resident, slots, koha, load, record)
                record.ok = True
            except JourneyFailed as exc:
                record.step, record.error, record.clear = exc.step, str(exc), exc.clear
                await asyncio.sleep(0.2)
            except Exception as exc:  # a bug of the load itself: shown, not hidden
                record.step, record.error, record.clear = "load", repr(exc), False
                await asyncio.sleep(0.2)
            record.ended = time.monotonic()

    await asyncio.gather(*(resident_loop(r) for r in residents))


async def sign_up(
    http: aiohttp.ClientSession, url: str, tokens: list[str], koha: KohaState, load: Load
) -> list[Resident]:
    """Residents with their own subjects, each linked to its own library card."""
    residents = []
    for n, token in enumerate(tokens):
        resident = Resident(n, token, patron=60000 + n, card=f"26009{n:05d}", pin=f"{1000 + n}")
        with koha.lock:
            koha.cards[resident.card] = (resident.pin, resident.patron)
        record = Journey(n, time.monotonic())
        await call(
            http,
            load,
            record,
            "link_card",
            "POST",
            f"{url}/api/v1/library/card",
            (201,),
            json={"card_number": resident.card, "pin": resident.pin},
            headers={**resident.auth, "Idempotency-Key": uuid.uuid4().hex},
        )
        residents.append(resident)
    return residents


async def plan_slots(http: aiohttp.ClientSession, url: str, auth: dict[str, str]) -> Slots:
    """Free hours of the priced demo resources (no approval needed) over the coming weeks,
    each at most as often as it has places, alternating between resources."""
    per_resource: list[list[dict[str, str]]] = []
    first = date.today() + timedelta(days=1)
    for resource_id in RESOURCES:
        chosen: list[dict[str, Any]] = []
        for start in (first, first + timedelta(days=44)):
            params = {"first": start.isoformat(), "last": (start + timedelta(43)).isoformat()}
            async with http.get(
                f"{url}/api/v1/resources/{resource_id}/availability", params=params, headers=auth
            ) as response:
                body = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"availability: {response.status} {body[:200]!r}")
            for slot in sorted(msgspec.json.decode(body)["slots"], key=lambda s: s["starts_at"]):
                if not chosen or slot["starts_at"] >= chosen[-1]["ends_at"]:
                    chosen.append(slot)
        per_resource.append(
            [
                {
                    "resource_id": str(resource_id),
                    "starts_at": s["starts_at"],
                    "ends_at": s["ends_at"],
                }
                for place in range(max((s["free_places"] for s in chosen), default=0))
                for s in chosen
                if s["free_places"] > place
            ]
        )
    items = [s for group in zip(*per_resource, strict=False) for s in group]
    return Slots(items)
