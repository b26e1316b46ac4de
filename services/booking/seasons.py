"""Seasonal fixed slots ("vakiovuorot", issue 19): apply, approve or deny a whole season, and
the confirmed occurrences of one month for payment's invoice.

A season is a weekly slot of one organisation; its occurrences are `requested` reservations
whose `series_id` is the season's id, guarded against double booking like any other. The
organisation lives in payment: a caller who is not staff of the resource's department must be
one of its contact persons (asked of `payment.v1.list_organisations` with the caller's own
principal, which lists only their organisations)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from services.booking import holds, organisations, store
from services.booking.access import may_book, signed_in
from services.booking.domain.model import Reservation, transition
from services.booking.domain.pricing import split_vat
from services.booking.domain.season import (
    LANGUAGES,
    MAX_SEASON_DAYS,
    occurrence_text,
    season_starts,
    split_conflicts,
)
from services.booking.domain.slots import check_request
from services.booking.keys import id_for
from services.booking.service import Bookings, remember, replayed
from services.booking.views import event, view
from shared.access import acts_for_department
from shared.contracts import booking as c
from shared.contracts import season as s
from shared.contracts.booking import LocalizedText
from shared.contracts.common import Principal, RequestContext
from shared.errors import Conflict, Forbidden, NotFound, ServiceError, ValidationFailed
from shared.events import add_event
from shared.messaging import Requester


class Seasons:
    def __init__(self, bookings: Bookings, requester: Requester | None) -> None:
        self.bookings = bookings
        self.requester = requester

    async def apply(self, req: s.ApplySeasonRequest, ctx: RequestContext) -> s.SeasonView:
        principal = signed_in(ctx.principal)
        b = self.bookings
        now = b.now()
        if req.ends_at <= req.starts_at:
            raise ValidationFailed("the slot must end after it starts", field="ends_at")
        if req.starts_at.tzinfo is not None or req.ends_at.tzinfo is not None:
            raise ValidationFailed("give the local time without a zone", field="starts_at")
        async with b.pool.acquire() as conn:
            entry = (await b.catalogue.get(conn, [req.resource_id])).get(req.resource_id)
        if entry is None:
            raise ValidationFailed("no such resource", field="resource_id")
        res = entry.resource
        staff = acts_for_department(principal, res.merchant_id)
        if not staff:
            may_book(principal, res)
        org = await organisations.organisation(self.requester, req.organisation_id, ctx)
        if org is None and not staff:
            raise Forbidden(
                "only the organisation's contact persons (or staff of the department) may "
                "apply for its seasonal slots",
                field="organisation_id",
            )
        if org is None:
            raise ValidationFailed("no such organisation", field="organisation_id")
        # Occurrences are the organisation's: priced by its customer group, not the caller's.
        payer = organisations.payer(principal, org)
        starts = season_starts(
            weekdays=frozenset({req.weekday}),
            at=req.starts_at,
            first_day=req.first_day,
            last_day=req.last_day,
            tz=res.tz,
        )
        if not starts:
            raise ValidationFailed("the season has no such weekday", field="weekday")
        some_day = req.first_day
        duration = datetime.combine(some_day, req.ends_at) - datetime.combine(
            some_day, req.starts_at
        )
        season_id = id_for(principal, "season", req.idempotency_key)
        # A season is planned ahead: the resource's booking horizon does not cut it; every
        # occurrence needs staff approval.
        planned = dataclasses.replace(
            res, needs_approval=True, max_days_ahead=max(res.max_days_ahead, MAX_SEASON_DAYS * 2)
        )
        async with b.pool.acquire() as conn, conn.transaction():
            cached = await replayed(conn, "apply_season", principal, req, s.SeasonView)
            if cached is not None:
                return cached
            ranges = [
                (res.id, *holds.guarded(res, st, st + duration), res.exclusive) for st in starts
            ]
            await store.lock_ranges(conn, ranges)
            for stale in (await store.expire_and_check(conn, ranges))[0]:
                await add_event(conn, event(stale))
            busy: list[tuple[datetime, datetime, str]] = []
            if res.exclusive:
                found = await store.busy(conn, [res.id], ranges[0][1], ranges[-1][2])
                busy += [(x[0], x[1], "reservation") for x in found[res.id]]
            zone = ZoneInfo(res.tz)
            for day, exc in entry.exceptions.items():
                if exc.opens is None:
                    lo = datetime.combine(day, time(0), zone)
                    busy.append((lo, lo + timedelta(days=1), "closure"))
            free, clashes = split_conflicts(starts, duration, busy)
            conflicts = [s.SeasonConflict(starts_at=x.starts_at, reason=x.reason) for x in clashes]
            taken: list[Reservation] = []
            for start in free:
                end = start + duration  # wall-clock arithmetic: the same local times
                try:
                    check_request(planned, start, end, 1, entry.weekly, entry.exceptions, now)
                    taken.append(
                        await holds.take(
                            conn,
                            planned,
                            payer,
                            start,
                            end,
                            1,
                            now,
                            entry.prices,
                            series_id=season_id,
                            organisation_id=req.organisation_id,
                            decide_by=b.decide_by(),
                            savepoint=True,
                        )
                    )
                except ServiceError as exc:
                    conflicts.append(s.SeasonConflict(starts_at=start, reason=exc.code))
            conflicts.sort(key=lambda x: x.starts_at)
            if not taken:
                raise Conflict(
                    "no occurrence of the season is free", field="first_day"
                )  # nothing written
            await conn.execute(
                """INSERT INTO seasons (id, resource_id, merchant_id, organisation_id, applicant,
                       weekday, starts_at_local, ends_at_local, first_day, last_day, conflicts)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
                season_id,
                res.id,
                res.merchant_id,
                req.organisation_id,
                principal.subject,
                req.weekday,
                req.starts_at,
                req.ends_at,
                req.first_day,
                req.last_day,
                conflicts,  # the pool encodes jsonb with msgspec
            )
            reply = await self._view(conn, season_id)
            await remember(conn, "apply_season", principal, req, reply)
        b.outbox_written()
        return reply

    async def _row(self, conn: asyncpg.Connection, season_id: uuid.UUID) -> asyncpg.Record:
        row = await conn.fetchrow("SELECT * FROM seasons WHERE id = $1 FOR UPDATE", season_id)
        if row is None:
            raise NotFound("no such season", field="season_id")
        return row

    async def _view(
        self,
        conn: asyncpg.Connection,
        season_id: uuid.UUID,
        skipped: list[s.SeasonConflict] | None = None,
    ) -> s.SeasonView:
        row = await self._row(conn, season_id)
        return s.SeasonView(
            season_id=row["id"],
            resource_id=row["resource_id"],
            organisation_id=row["organisation_id"],
            applicant=row["applicant"],
            weekday=row["weekday"],
            starts_at=row["starts_at_local"],
            ends_at=row["ends_at_local"],
            first_day=row["first_day"],
            last_day=row["last_day"],
            state=row["state"],
            conflicts=msgspec.convert(row["conflicts"], type=list[s.SeasonConflict]),
            skipped=skipped or [],
            reservations=[view(r) for r in await store.of_series_all(conn, season_id)],
            decided_by=row["decided_by"],
            reason=row["reason"],
        )

    def _staff(self, principal: Principal, row: asyncpg.Record) -> None:
        if not acts_for_department(principal, row["merchant_id"]):
            raise Forbidden("only staff of this department may do this", field="season_id")

    async def get(self, req: s.SeasonRef, ctx: RequestContext) -> s.SeasonView:
        principal = signed_in(ctx.principal)
        async with self.bookings.pool.acquire() as conn, conn.transaction():
            row = await self._row(conn, req.season_id)
            if row["applicant"] != principal.subject and not acts_for_department(
                principal, row["merchant_id"]
            ):
                raise NotFound("no such season", field="season_id")
            return await self._view(conn, req.season_id)

    async def list_seasons(self, req: s.ListSeasonsRequest, ctx: RequestContext) -> s.SeasonList:
        principal = signed_in(ctx.principal)
        everything = principal.is_admin or principal.is_system
        departments = list(principal.departments) if principal.has("staff") else []
        async with self.bookings.pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT *, jsonb_array_length(conflicts) AS conflict_count FROM seasons
                   WHERE ($1 OR merchant_id = ANY($2::text[]) OR applicant = $3)
                     AND ($4::text IS NULL OR state = $4)
                   ORDER BY created_at DESC, id LIMIT $5 OFFSET $6""",
                everything,
                departments,
                principal.subject,
                req.state,
                req.limit,
                req.offset,
            )
        return s.SeasonList(
            seasons=[
                s.SeasonSummary(
                    season_id=r["id"],
                    resource_id=r["resource_id"],
                    organisation_id=r["organisation_id"],
                    applicant=r["applicant"],
                    weekday=r["weekday"],
                    starts_at=r["starts_at_local"],
                    ends_at=r["ends_at_local"],
                    first_day=r["first_day"],
                    last_day=r["last_day"],
                    state=r["state"],
                    conflicts=r["conflict_count"],
                    created_at=r["created_at"],
                )
                for r in rows
            ]
        )

    async def approve(self, req: s.SeasonRef, ctx: RequestContext) -> s.SeasonView:
        """Every occurrence still requested is confirmed; the others are listed as skipped."""
        principal = signed_in(ctx.principal)
        b = self.bookings
        now = b.now()
        async with b.pool.acquire() as conn, conn.transaction():
            row = await self._row(conn, req.season_id)
            self._staff(principal, row)
            cached = await replayed(conn, "approve_season", principal, req, s.SeasonView)
            if cached is not None:
                return cached
            if row["state"] != "applied":
                raise Conflict(f"the season is {row['state']} already", field="season_id")
            skipped = []
            for r in await store.of_series_all(conn, req.season_id):
                lapsed = r.expires_at is not None and r.expires_at < now
                if r.state != "requested" or lapsed:
                    why = "expired" if lapsed else r.state
                    skipped.append(s.SeasonConflict(starts_at=r.starts_at, reason=why))
                    continue
                r.state = transition(r.state, "approve_free")  # invoiced by the month
                r.expires_at = None
                await store.save_state(conn, r)
                await add_event(conn, event(r, c.ReservationApproved))
                await add_event(conn, event(r))
            await self._decide(conn, req.season_id, "approved", principal, None)
            reply = await self._view(conn, req.season_id, skipped)
            await remember(conn, "approve_season", principal, req, reply)
        return reply

    async def deny(self, req: s.DenySeasonRequest, ctx: RequestContext) -> s.SeasonView:
        if not req.reason.strip():
            raise ValidationFailed("give a reason", field="reason")
        principal = signed_in(ctx.principal)
        async with self.bookings.pool.acquire() as conn, conn.transaction():
            row = await self._row(conn, req.season_id)
            self._staff(principal, row)
            cached = await replayed(conn, "deny_season", principal, req, s.SeasonView)
            if cached is not None:
                return cached
            if row["state"] != "applied":
                raise Conflict(f"the season is {row['state']} already", field="season_id")
            for r in await store.of_series_all(conn, req.season_id):
                if r.state == "requested":
                    r.state = transition(r.state, "deny")
                    r.reason = req.reason
                    r.expires_at = None
                    await store.save_state(conn, r)
                    await add_event(conn, event(r))
            await self._decide(conn, req.season_id, "denied", principal, req.reason)
            reply = await self._view(conn, req.season_id)
            await remember(conn, "deny_season", principal, req, reply)
        return reply

    async def _decide(
        self,
        conn: asyncpg.Connection,
        season_id: uuid.UUID,
        state: str,
        principal: Principal,
        reason: str | None,
    ) -> None:
        await conn.execute(
            """UPDATE seasons SET state = $2, decided_by = $3, decided_at = now(), reason = $4
               WHERE id = $1""",
            season_id,
            state,
            principal.subject,
            reason,
        )

    async def month(self, req: s.SeasonMonthRequest, ctx: RequestContext) -> s.SeasonMonth:
        """The confirmed occurrences of an approved season in one calendar month (local), and
        those its organisation cancelled late, for what the cancellation policy keeps."""
        principal = signed_in(ctx.principal)
        async with self.bookings.pool.acquire() as conn, conn.transaction():
            row = await self._row(conn, req.season_id)
            self._staff(principal, row)
            if row["state"] != "approved":
                raise Conflict(f"the season is {row['state']}, not approved", field="season_id")
            entry = (await self.bookings.catalogue.get(conn, [row["resource_id"]])).get(
                row["resource_id"]
            )
            names = entry.resource.name if entry else {}
            zone = ZoneInfo(entry.resource.tz if entry else "Europe/Helsinki")
            year, month = (int(x) for x in req.month.split("-"))
            first = date(year, month, 1)
            lines = []
            for r in await store.of_series_all(conn, req.season_id):
                local = r.starts_at.astimezone(zone)
                billed = r.state == "confirmed" or (r.state == "cancelled" and r.kept_cents > 0)
                if not billed or (local.year, local.month) != (year, month):
                    continue
                ends = r.ends_at.astimezone(zone)
                cancelled = r.state == "cancelled"  # late: what the policy keeps is billed
                gross = r.kept_cents if cancelled else r.gross_cents
                net, vat = (
                    split_vat(gross, r.vat_rate_bp) if cancelled else (r.net_cents, r.vat_cents)
                )
                written = {
                    lang: occurrence_text(names, lang, local, ends, cancelled) for lang in LANGUAGES
                }
                lines.append(
                    s.SeasonMonthLine(
                        reservation_id=r.id,
                        starts_at=r.starts_at,
                        ends_at=r.ends_at,
                        description=written["fi"],
                        descriptions=LocalizedText(**written),
                        merchant_id=r.merchant_id,
                        cost_centre=r.cost_centre,
                        gross_cents=gross,
                        net_cents=net,
                        vat_cents=vat,
                        vat_rate_bp=r.vat_rate_bp,
                        cancelled=cancelled,
                    )
                )
        if not lines:
            raise ValidationFailed(f"no confirmed occurrences in {first:%Y-%m}", field="month")
        return s.SeasonMonth(
            season_id=row["id"],
            organisation_id=row["organisation_id"],
            applicant=row["applicant"],
            month=req.month,
            lines=lines,
        )

    async def approved(
        self, req: s.ApprovedSeasonsRequest, ctx: RequestContext
    ) -> s.ApprovedSeasons:
        """Our services only: approved seasons overlapping [ended_since, begun_before)."""
        if not signed_in(ctx.principal).is_system:
            raise Forbidden("for our services only")
        async with self.bookings.pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT id, first_day, last_day FROM seasons
                   WHERE state = 'approved' AND first_day < $1 AND last_day >= $2
                   ORDER BY id LIMIT $3 OFFSET $4""",
                req.begun_before,
                req.ended_since,
                req.limit,
                req.offset,
            )
        return s.ApprovedSeasons(
            seasons=[
                s.ApprovedSeason(
                    season_id=r["id"], first_day=r["first_day"], last_day=r["last_day"]
                )
                for r in rows
            ]
        )
