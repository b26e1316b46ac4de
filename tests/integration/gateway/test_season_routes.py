"""Seasonal fixed slots (vakiovuorot, issue 19) through the gateway with the real booking,
cart and payment services: an organisation's contact person applies for a weekly slot over
a season (each occurrence `requested`, the one a resident holds already reported as a
conflict), a resident who is not its contact person is refused, staff of the department
approve the whole season (every requested occurrence confirmed) and invoice one month: one
invoice of that month's occurrences with VAT lines and a reference number, once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.booking import demo
from shared.settings import CommonSettings
from tests.integration.gateway.conftest import (
    GatewayClient,
    bearer,
    gateway_settings,
    make_client,
)
from tests.integration.gateway.services import gateway_before_services, real_services

HEL = ZoneInfo("Europe/Helsinki")
TUESDAY = 1
ORGANISATION = {
    "name": "Turun Sählyseura ry",
    "business_id": "2077474-0",
    "customer_group": "association",
    "billing_address": {"street": "Seurakatu 1", "postal_code": "20100", "city": "Turku"},
    "contact_persons": ["demo:resident-turku"],
}


@pytest.fixture
async def suite(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> AsyncIterator[GatewayClient]:
    async with gateway_before_services(hosted, common_settings, tmp_path) as client:
        yield client


def season_months() -> tuple[date, date]:
    """The first day of the month after next and the last day of the month after that."""
    today = date.today()
    first = date(today.year + (today.month + 1) // 12, (today.month + 1) % 12 + 1, 1)
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    last = date(after.year + after.month // 12, after.month % 12 + 1, 1) - timedelta(days=1)
    return first, last


def tuesdays(first: date, last: date) -> list[date]:
    day = first + timedelta(days=(TUESDAY - first.weekday()) % 7)
    out = []
    while day <= last:
        out.append(day)
        day += timedelta(days=7)
    return out


def at(day: date, hour: int) -> str:
    return datetime.combine(day, time(hour), HEL).isoformat()


async def test_apply_approve_and_invoice_a_month_of_a_season(suite: GatewayClient) -> None:
    client = suite
    clerk = await bearer(client, "clerk-sports")
    contact = await bearer(client, "resident-turku")
    stranger = await bearer(client, "resident-kaarina")
    created = await client.post("/api/v1/organisations", json=ORGANISATION, headers=clerk)
    assert created.status_code == 201, created.text
    org_id = created.json()["organisation_id"]

    first, last = season_months()
    days = tuesdays(first, last)
    taken_day = days[1]  # a resident has the second Tuesday already
    held = await client.post(
        "/api/v1/holds",
        json={
            "items": [
                {
                    "resource_id": str(demo.RESOURCE_SPORTS_HALL),
                    "starts_at": at(taken_day, 18),
                    "ends_at": at(taken_day, 19),
                }
            ]
        },
        headers={**stranger, "Idempotency-Key": f"h-{uuid.uuid4()}"},
    )
    assert held.status_code == 201, held.text

    application = {
        "resource_id": str(demo.RESOURCE_SPORTS_HALL),
        "organisation_id": org_id,
        "weekday": TUESDAY,
        "starts_at": "18:00:00",
        "ends_at": "19:00:00",
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
    }
    refused = await client.post("/api/v1/seasons", json=application, headers=stranger)
    assert refused.status_code == 403, refused.text
    assert refused.json()["field"] == "organisation_id"
    bad = await client.post(
        "/api/v1/seasons", json={**application, "ends_at": "17:00:00"}, headers=contact
    )
    assert bad.status_code == 422, bad.text
    assert bad.json()["field"] == "ends_at"

    applied = await client.post(
        "/api/v1/seasons",
        json=application,
        headers={**contact, "Idempotency-Key": f"s-{uuid.uuid4()}"},
    )
    assert applied.status_code == 201, applied.text
    season = applied.json()
    assert season["state"] == "applied"
    assert [datetime.fromisoformat(c["starts_at"]) for c in season["conflicts"]] == [
        datetime.combine(taken_day, time(18), HEL)
    ]
    assert season["conflicts"][0]["reason"] == "reservation"
    occurrences = season["reservations"]
    assert len(occurrences) == len(days) - 1
    assert {r["state"] for r in occurrences} == {"requested"}
    assert {r["gross_cents"] for r in occurrences} == {1800}  # the association's hour price
    season_id = season["season_id"]

    waiting = await client.get("/api/v1/seasons", params={"state": "applied"}, headers=clerk)
    assert waiting.status_code == 200, waiting.text
    assert [(x["season_id"], x["conflicts"]) for x in waiting.json()["seasons"]] == [(season_id, 1)]
    mine = (await client.get("/api/v1/seasons", headers=contact)).json()["seasons"]
    assert [x["season_id"] for x in mine] == [season_id]
    assert (await client.get("/api/v1/seasons", headers=stranger)).json() == {"seasons": []}
    library = await bearer(client, "clerk-library")
    assert (await client.get("/api/v1/seasons", headers=library)).json() == {"seasons": []}

    one_by_one = await client.post(
        f"/api/v1/reservations/{occurrences[0]['reservation_id']}/approve", headers=clerk
    )
    assert one_by_one.status_code == 409, one_by_one.text  # approved with its season
    not_staff = await client.post(f"/api/v1/seasons/{season_id}/approve", headers=contact)
    assert not_staff.status_code == 403, not_staff.text
    early = await client.post(
        f"/api/v1/seasons/{season_id}/invoices", json={"month": f"{first:%Y-%m}"}, headers=clerk
    )
    assert early.status_code == 409, early.text  # not approved yet

    approved = await client.post(f"/api/v1/seasons/{season_id}/approve", headers=clerk)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"
    assert {r["state"] for r in approved.json()["reservations"]} == {"confirmed"}
    again = await client.post(f"/api/v1/seasons/{season_id}/approve", headers=clerk)
    assert again.status_code == 409, again.text
    seen = await client.get(f"/api/v1/seasons/{season_id}", headers=contact)
    assert seen.status_code == 200
    assert seen.json()["state"] == "approved"
    assert (await client.get(f"/api/v1/seasons/{season_id}", headers=stranger)).status_code == 404

    month = f"{first:%Y-%m}"
    by_resident = await client.post(
        f"/api/v1/seasons/{season_id}/invoices", json={"month": month}, headers=contact
    )
    assert by_resident.status_code == 403, by_resident.text
    # Two clerks at once: one invoice, the other is told the month is invoiced already.
    both = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/seasons/{season_id}/invoices", json={"month": month}, headers=clerk
            )
            for _ in range(2)
        )
    )
    assert sorted(r.status_code for r in both) == [201, 409], [r.text for r in both]
    (invoiced,) = [r for r in both if r.status_code == 201]
    invoice = invoiced.json()
    in_month = [d for d in days if (d.year, d.month) == (first.year, first.month)]
    assert len(invoice["lines"]) == len(in_month) - 1  # the taken Tuesday is not the season's
    assert invoice["organisation_id"] == org_id
    assert invoice["customer_name"] == ORGANISATION["name"]
    assert invoice["amount_cents"] == 1800 * len(invoice["lines"])
    assert invoice["reference_number"]
    for line in invoice["lines"]:
        assert line["vat_rate_bp"] == 1350
        assert line["vat_cents"] + line["net_cents"] == line["gross_cents"] == 1800
        assert line["vat_cents"] > 0
        assert line["gl_account"]
    assert invoice["vat_cents"] == sum(line["vat_cents"] for line in invoice["lines"])

    twice = await client.post(
        f"/api/v1/seasons/{season_id}/invoices", json={"month": month}, headers=clerk
    )
    assert twice.status_code == 409, twice.text
    assert twice.json()["field"] == "month"
    theirs = (await client.get("/api/v1/invoices", headers=contact)).json()["invoices"]
    assert [i["invoice_id"] for i in theirs] == [invoice["invoice_id"]]
    empty = await client.post(
        f"/api/v1/seasons/{season_id}/invoices", json={"month": "2020-01"}, headers=clerk
    )
    assert empty.status_code == 422
    assert empty.json()["field"] == "month"


async def test_staff_deny_a_season_and_a_repeated_application_is_the_same(
    suite: GatewayClient,
) -> None:
    client = suite
    clerk = await bearer(client, "clerk-sports")
    library = await bearer(client, "clerk-library")
    contact = await bearer(client, "resident-turku")
    org = await client.post(
        "/api/v1/organisations",
        json={**ORGANISATION, "business_id": "0204819-8", "customer_group": "company"},
        headers=clerk,
    )
    assert org.status_code == 201, org.text
    first, last = season_months()
    application = {
        "resource_id": str(demo.RESOURCE_SPORTS_HALL),
        "organisation_id": org.json()["organisation_id"],
        "weekday": TUESDAY,
        "starts_at": "08:00:00",
        "ends_at": "10:00:00",
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
    }
    closed_day = tuesdays(first, last)[2]
    closed = await client.post(
        "/api/v1/closures",
        json={
            "unit_id": str(demo.UNIT_IMPIVAARA_SPORTS_HALL),
            "resource_id": str(demo.RESOURCE_SPORTS_HALL),
            "first": closed_day.isoformat(),
            "last": closed_day.isoformat(),
            "reason": "Lattian huolto",
        },
        headers=clerk,
    )
    assert closed.status_code == 201, closed.text
    key = {"Idempotency-Key": f"s-{uuid.uuid4()}"}
    one = await client.post("/api/v1/seasons", json=application, headers={**contact, **key})
    two = await client.post("/api/v1/seasons", json=application, headers={**contact, **key})
    assert one.status_code == 201, one.text
    assert two.json() == one.json()
    season = one.json()
    assert season["conflicts"] == [
        {"starts_at": datetime.combine(closed_day, time(8), HEL).isoformat(), "reason": "closure"}
    ]
    assert {r["gross_cents"] for r in season["reservations"]} == {2 * 7500}  # business price
    season_id = season["season_id"]

    other_department = await client.post(
        f"/api/v1/seasons/{season_id}/deny", json={"reason": "ei"}, headers=library
    )
    assert other_department.status_code == 403, other_department.text
    no_reason = await client.post(
        f"/api/v1/seasons/{season_id}/deny", json={"reason": " "}, headers=clerk
    )
    assert no_reason.status_code == 422, no_reason.text
    assert no_reason.json()["field"] == "reason"
    denied = await client.post(
        f"/api/v1/seasons/{season_id}/deny", json={"reason": "Sali remontissa"}, headers=clerk
    )
    assert denied.status_code == 200, denied.text
    assert denied.json()["state"] == "denied"
    assert {r["state"] for r in denied.json()["reservations"]} == {"denied"}
    late = await client.post(f"/api/v1/seasons/{season_id}/approve", headers=clerk)
    assert late.status_code == 409, late.text
    not_invoiced = await client.post(
        f"/api/v1/seasons/{season_id}/invoices", json={"month": f"{first:%Y-%m}"}, headers=clerk
    )
    assert not_invoiced.status_code == 409, not_invoiced.text
    # The freed times can be had again: the same season applied anew is all requested.
    anew = await client.post("/api/v1/seasons", json=application, headers=clerk)
    assert anew.status_code == 201, anew.text
    assert [c["reason"] for c in anew.json()["conflicts"]] == ["closure"]


@pytest.fixture
async def with_payments(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> AsyncIterator[tuple[GatewayClient, Any]]:
    """The gateway and the payment service's use cases (to run its background job)."""
    settings = gateway_settings()
    async with (
        real_services(hosted, tmp_path) as running,
        make_client(common_settings, settings) as client,
    ):
        yield client, running["payment"].definition.payments


async def test_the_job_invoices_each_ended_month_once_across_replicas(
    with_payments: tuple[GatewayClient, Any],
) -> None:
    client, payments = with_payments
    clerk = await bearer(client, "clerk-sports")
    contact = await bearer(client, "resident-turku")
    org = await client.post("/api/v1/organisations", json=ORGANISATION, headers=clerk)
    assert org.status_code == 201, org.text
    first, last = season_months()
    applied = await client.post(
        "/api/v1/seasons",
        json={
            "resource_id": str(demo.RESOURCE_SPORTS_HALL),
            "organisation_id": org.json()["organisation_id"],
            "weekday": TUESDAY,
            "starts_at": "20:00:00",
            "ends_at": "21:00:00",
            "first_day": first.isoformat(),
            "last_day": last.isoformat(),
        },
        headers=contact,
    )
    assert applied.status_code == 201, applied.text
    season_id = applied.json()["season_id"]
    approved = await client.post(f"/api/v1/seasons/{season_id}/approve", headers=clerk)
    assert approved.status_code == 200, approved.text

    assert await payments.invoice_ended_months(first) == 0  # no month of it has ended
    after_first = (first + timedelta(days=31)).replace(day=1)
    # Two replicas at once: the first month is invoiced once.
    counts = await asyncio.gather(*(payments.invoice_ended_months(after_first) for _ in "ab"))
    assert sum(counts) == 1
    assert await payments.invoice_ended_months(after_first) == 0
    (invoice,) = (await client.get("/api/v1/invoices", headers=contact)).json()["invoices"]
    assert len(invoice["lines"]) == len(
        [d for d in tuesdays(first, last) if (d.year, d.month) == (first.year, first.month)]
    )
    assert invoice["amount_cents"] == 1800 * len(invoice["lines"])
    by_hand = await client.post(
        f"/api/v1/seasons/{season_id}/invoices", json={"month": f"{first:%Y-%m}"}, headers=clerk
    )
    assert by_hand.status_code == 409, by_hand.text
    # After the season: its second month too, and nothing more.
    assert await payments.invoice_ended_months(last + timedelta(days=40)) == 1
