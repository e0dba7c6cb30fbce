"""Red and black lists (红黑名单): an officer lists a provider or a caregiver with a reason,
evidence and a period. A black-listed caregiver (or every caregiver of a black-listed provider)
is taken off today's plan at once: her planned visits go back to the pool, the operator is
told by an alarm, and the station's day is planned again (``jobs``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select

from schemas.providers import ListingIn, ListingOut, ListingStatus, ListKind, ListSubject
from schemas.tasks import TaskStatus
from server.auth.principal import Principal
from server.errors import ApiError, not_found
from server.incidents.flows.alarms import raise_alarm
from server.planning.flows.day import replan
from server.planning.model import BLACK_LIST, midnight
from server.platform import Platform, Tx, audit, emit
from server.providers import model, out
from server.providers.flows.common import in_force, officer_of
from server.providers.tables import provider_listings, providers
from server.registry.tables import caregivers, stations
from server.tasks import model as task_model
from server.tasks.tables import tasks
from server.texts import render, zh_en
from server.welfare.statements import Sheet
from server.welfare.workdays import business_date

BLOCKED_TOPIC = "providers.caregivers_blocked"


async def _name(tx: Tx, subject: ListSubject, subject_id: int) -> tuple[str, str]:
    """The subject's name and district (a caregiver's is her station's)."""
    if subject is ListSubject.PROVIDER:
        row = (await tx.conn.execute(select(providers).where(providers.c.id == subject_id))).first()
        if row is None:
            raise not_found("provider")
        return row.name, row.district
    cg = (
        await tx.conn.execute(
            select(caregivers.c.name, stations.c.district)
            .join(stations, stations.c.id == caregivers.c.station_id)
            .where(caregivers.c.id == subject_id)
        )
    ).first()
    if cg is None:
        raise not_found("caregiver")
    return cg.name, cg.district


async def create(plat: Platform, p: Principal, body: ListingIn) -> ListingOut:
    """List a provider or caregiver (audited). A black listing in force today takes the
    caregivers it covers off today's plan in the same transaction."""
    if body.ends_on is not None and body.ends_on < body.starts_on:
        message = zh_en("providers.problem.listing_dates")
        raise ApiError(422, "listing.dates_invalid", message)
    async with plat.tx() as tx:
        await officer_of(tx.conn, p, body.district)
        name, district = await _name(tx, body.subject, body.subject_id)
        if district != body.district:  # another district's: not theirs to list
            raise not_found(body.subject.value)
        lid = (
            await tx.conn.execute(
                insert(provider_listings)
                .values(
                    subject=body.subject.value,
                    subject_id=body.subject_id,
                    kind=body.kind.value,
                    district=body.district,
                    reason=body.reason,
                    evidence=body.evidence,
                    starts_on=body.starts_on,
                    ends_on=body.ends_on,
                    status=ListingStatus.ACTIVE.value,
                    created_at=tx.now,
                    created_by=p.user_id,
                )
                .returning(provider_listings.c.id)
            )
        ).scalar_one()
        await audit(
            tx,
            actor=p.user_id,
            action=f"list_{body.kind.value}",
            object_type=body.subject.value,
            object_id=body.subject_id,
            detail={"listing_id": lid, "reason": body.reason[:100]},
        )
        today = business_date(tx.now)
        replanned: list[int] = []
        now_in_force = body.starts_on <= today and (body.ends_on is None or body.ends_on >= today)
        if body.kind is ListKind.BLACK and now_in_force:
            replanned = await _off_todays_plan(tx, body.subject, body.subject_id, actor=p.user_id)
        row = (
            await tx.conn.execute(select(provider_listings).where(provider_listings.c.id == lid))
        ).one()
    return out.listing(row, name, replanned)


async def _off_todays_plan(
    tx: Tx, subject: ListSubject, subject_id: int, *, actor: int
) -> list[int]:
    """Take the covered caregivers' planned visits of today back to the pool; one alarm per
    caregiver to her station's operator; one re-plan per station after commit."""
    if subject is ListSubject.CAREGIVER:
        who = (await tx.conn.execute(select(caregivers).where(caregivers.c.id == subject_id))).all()
    else:
        who = (
            await tx.conn.execute(select(caregivers).where(caregivers.c.provider_id == subject_id))
        ).all()
    day = business_date(tx.now)
    start = midnight(day)
    taken: list[int] = []
    stations: set[int] = set()
    for cg in who:
        rows = (
            await tx.conn.execute(
                select(tasks).where(
                    tasks.c.caregiver_id == cg.id,
                    tasks.c.status == TaskStatus.PLANNED.value,
                    tasks.c.window_start >= start,
                    tasks.c.window_start < start + timedelta(days=1),
                )
            )
        ).all()
        for t in rows:
            await task_model.unplan(tx, t.id)
            await audit(
                tx,
                actor=actor,
                action="unplan_black_listed",
                object_type="task",
                object_id=t.id,
                detail={"caregiver_id": cg.id},
            )
            taken.append(t.id)
        await raise_alarm(
            tx,
            cg.station_id,
            None,
            f"caregiver_black_listed:{cg.id}",
            {"name": cg.name, "count": len(rows)},
        )
        if rows:
            stations.add(cg.station_id)
    if stations:
        await emit(tx, BLOCKED_TOPIC, {"station_ids": sorted(stations), "day": day.isoformat()})
    return sorted(taken)


async def on_blocked(platform: Platform, payload: dict[str, Any]) -> None:
    """Plan each station's day again without the black-listed caregivers (the planner's
    snapshot leaves them out)."""
    for sid in payload.get("station_ids", ()):
        await replan(platform, int(sid), trigger=BLACK_LIST)


async def lift(plat: Platform, p: Principal, listing_id: int) -> ListingOut:
    async with plat.tx() as tx:
        row = (
            await tx.conn.execute(
                select(provider_listings).where(provider_listings.c.id == listing_id)
            )
        ).first()
        if row is None:
            raise not_found("listing")
        await officer_of(tx.conn, p, row.district)
        await model.transition(tx, model.LISTING, row, ListingStatus.LIFTED, actor=p.user_id)
        name, _ = await _name(tx, ListSubject(row.subject), row.subject_id)
        row = (
            await tx.conn.execute(
                select(provider_listings).where(provider_listings.c.id == listing_id)
            )
        ).one()
    return out.listing(row, name)


async def published(plat: Platform, district: str) -> list[ListingOut]:
    """The district's lists in force today, red first: public, as the notice board shows them."""
    today = business_date(plat.clock.now())
    async with plat.store.read() as conn:
        rows = (
            await conn.execute(
                select(provider_listings)
                .where(provider_listings.c.district == district, in_force(today))
                .order_by(
                    provider_listings.c.kind.desc(),
                    provider_listings.c.starts_on,
                    provider_listings.c.id,
                )
            )
        ).all()
        t = Tx(conn=conn, now=plat.clock.now())
        return [
            out.listing(r, (await _name(t, ListSubject(r.subject), r.subject_id))[0]) for r in rows
        ]


def sheet(district: str, items: list[ListingOut]) -> Sheet:
    """The published list as one sheet (CSV or XLSX)."""
    heads = ("kind", "subject", "name", "reason", "from", "until")
    return Sheet(
        title=render("providers.sheet.list_title", district=district),
        headers=tuple(render(f"providers.sheet.{h}") for h in heads),
        rows=tuple(
            (
                render(f"providers.kind.{i.kind.value}"),
                render(f"providers.subject.{i.subject.value}"),
                i.subject_name,
                i.reason,
                i.starts_on.isoformat(),
                i.ends_on.isoformat() if i.ends_on else "",
            )
            for i in items
        ),
        money_columns=frozenset(),
        sum_columns=frozenset(),
    )
