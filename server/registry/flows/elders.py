"""Elders: their files, who may read them in full, and the link code for their WeChat."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.registry import ElderIn, ElderPatch, PageQuery
from server.auth.principal import Principal, Role
from server.errors import ApiError
from server.identity import birth_date_from_id, normalize_id_number, sex_from_id
from server.platform import Platform, Tx, audit, rate_limited
from server.registry.flows.common import (
    guard_number_search,
    landline,
    mobile,
    paged,
    people,
    station_exists,
    stored,
    text_search,
)
from server.registry.guards import assigned_incident, elder_for, station_scope
from server.registry.tables import caregivers, elders

CONTACT_FIELDS: Final = ["phone", "landline", "contacts", "neighbours"]


def _values(body: ElderIn | ElderPatch, *, create: bool) -> dict[str, Any]:
    """Column values from a request: every field (with its default) on create, only the
    fields sent on a PATCH. Dropping defaults on create left NOT NULL columns empty."""
    values = body.model_dump(
        exclude_unset=not create, exclude={"location", "contacts", "neighbours"}
    )
    if "phone" in values:
        values["phone"] = mobile(values["phone"], "phone")
    if "landline" in values:
        values["landline"] = landline(values["landline"])
    if body.location is not None:
        values["lat"], values["lng"] = stored(body.location)
        values["location_pending"] = False  # an imported elder's location, set by hand
    if body.contacts is not None:
        values["contacts"] = people(body.contacts, "contacts")
    if body.neighbours is not None:
        values["neighbours"] = people(body.neighbours, "neighbours")
    for key in ("living", "care_level"):
        if values.get(key) is not None:
            values[key] = str(getattr(body, key).value)
    return values


async def _check_preferred_caregiver(tx: Tx, station_id: int, values: dict[str, Any]) -> None:
    """A preferred caregiver must exist at the elder's station: a clear 422, not a FK error."""
    cid = values.get("preferred_caregiver_id")
    if cid is None:
        return
    found = (
        await tx.conn.execute(
            select(caregivers.c.id).where(
                caregivers.c.id == cid, caregivers.c.station_id == station_id
            )
        )
    ).first()
    if found is None:
        raise ApiError(
            422,
            "caregiver_not_found",
            "no such caregiver at this station",
            field="preferred_caregiver_id",
        )


async def _id_number_taken(conn: AsyncConnection, station_id: int, id_number: str) -> bool:
    """Whether this station already has a file for the number (another station's is not
    this operator's business: the answer is the same as for a number nobody has)."""
    found = select(elders.c.id).where(
        elders.c.id_number == id_number, elders.c.station_id == station_id
    )
    return (await conn.execute(found)).first() is not None


ELDER_CREATES_PER_HOUR = 120
REVEALS_PER_HOUR = 120


def _new_values(body: ElderIn) -> dict[str, Any]:
    """A new elder's columns; sex and birth date come from the (normalised) ID number."""
    try:
        id_number = normalize_id_number(body.id_number)
    except ValueError as exc:
        raise ApiError(422, "invalid_id_number", str(exc), field="id_number") from exc
    values = _values(body, create=True)
    values.update(
        id_number=id_number, birth_date=birth_date_from_id(id_number), sex=sex_from_id(id_number)
    )
    return values


async def create(platform: Platform, p: Principal, body: ElderIn) -> Row[Any]:
    """Register an elder; one file per ID number (409 for a second)."""
    station_scope(p, body.station_id)
    values = _new_values(body)
    duplicate = ApiError(
        409, "elder_exists", "an elder with this ID number is already registered", field="id_number"
    )
    # Every attempt counts (a guess at a masked ID costs one, whatever it finds).
    await rate_limited(
        platform, f"elder_create:{p.user_id}", limit=ELDER_CREATES_PER_HOUR, window_s=3600
    )
    try:
        async with platform.tx() as tx:
            await station_exists(tx, body.station_id)
            if await _id_number_taken(tx.conn, body.station_id, values["id_number"]):
                raise duplicate
            await _elsewhere(tx, p, body.station_id, values["id_number"])
            await _check_preferred_caregiver(tx, body.station_id, values)
            eid = (
                await tx.conn.execute(
                    insert(elders)
                    .values(**values, created_at=tx.now, updated_at=tx.now)
                    .returning(elders.c.id)
                )
            ).scalar_one()
            await audit(tx, actor=p.user_id, action="create", object_type="elder", object_id=eid)
            return (await tx.conn.execute(select(elders).where(elders.c.id == eid))).one()
    except IntegrityError:
        # Only a concurrent registration of the same number is a duplicate; anything else
        # is a real bug and must not be dressed up as one.
        async with platform.store.read() as conn:
            if await _id_number_taken(conn, body.station_id, values["id_number"]):
                raise duplicate from None
        raise


async def _elsewhere(tx: Tx, p: Principal, station_id: int, id_number: str) -> None:
    """Another station has a file for this number: the operator is not told (the answer is
    the one for a new number); the audit log keeps it for the district to reconcile."""
    others = (
        await tx.conn.execute(
            select(elders.c.id, elders.c.station_id).where(
                elders.c.id_number == id_number, elders.c.station_id != station_id
            )
        )
    ).all()
    for other in others:
        await audit(
            tx,
            actor=p.user_id,
            action="id_number_elsewhere",
            object_type="elder",
            object_id=other.id,
            detail={"station_id": station_id, "other_station_id": other.station_id},
        )


async def page(platform: Platform, p: Principal, q: PageQuery) -> tuple[Sequence[Row[Any]], int]:
    """One page of the caller's station's elders (an administrator's: any station), searched
    and filtered, and how many match."""
    conds: list[Any] = []
    if p.role is not Role.ADMIN:
        conds.append(elders.c.station_id == p.station_id)
    elif q.station_id:
        conds.append(elders.c.station_id == q.station_id)
    if q.q:
        await guard_number_search(platform, p, q.q, "elder")
        conds.append(text_search(q.q, elders.c.phone, elders.c.name, elders.c.address))
    if q.active is not None:
        conds.append(elders.c.active.is_(q.active))
    if q.high_risk is not None:
        conds.append(elders.c.high_risk.is_(q.high_risk))
    if q.living:
        conds.append(elders.c.living == q.living)
    if q.location_pending is not None:
        conds.append(elders.c.location_pending.is_(q.location_pending))
    return await paged(platform, elders, conds, q)


async def get(
    platform: Platform, p: Principal, elder_id: int, *, reveal: bool
) -> tuple[Row[Any], bool]:
    """The elder's row, and whether the caller sees the phones because they are on the way
    to a help call for this elder. Every revealed read is audited."""
    if reveal:  # each full read costs one of the caller's REVEALS_PER_HOUR
        await rate_limited(platform, f"reveal:{p.user_id}", limit=REVEALS_PER_HOUR, window_s=3600)
    async with platform.tx() as tx:
        row = await elder_for(tx.conn, p, elder_id)
        if reveal:
            await _revealed(tx, p, elder_id, {"fields": ["id_number", "phone", "contacts"]})
        on_the_way = await reveal_for_incident(tx, p, elder_id)
    return row, on_the_way is not None


async def reveal_for_incident(tx: Tx, p: Principal, elder_id: int) -> int | None:
    """A caregiver on an active incident for this elder sees the phones (to call on the
    way); each such read is audited with the incident it was for."""
    iid = await assigned_incident(tx.conn, p, elder_id)
    if iid is not None:
        why = {"fields": CONTACT_FIELDS, "incident_id": iid, "why": "assigned_incident"}
        await _revealed(tx, p, elder_id, why)
    return iid


async def _revealed(tx: Tx, p: Principal, elder_id: int, detail: dict[str, Any]) -> None:
    """The audit row of a revealed read: who saw which fields, never the values themselves."""
    await audit(
        tx, actor=p.user_id, action="reveal", object_type="elder", object_id=elder_id, detail=detail
    )


async def patch(platform: Platform, p: Principal, *, elder_id: int, body: ElderPatch) -> Row[Any]:
    """Update an elder's file with the fields sent."""
    values = _values(body, create=False)
    async with platform.tx() as tx:
        elder = await elder_for(tx.conn, p, elder_id)
        await _check_preferred_caregiver(tx, elder.station_id, values)
        await tx.conn.execute(
            update(elders).where(elders.c.id == elder_id).values(**values, updated_at=tx.now)
        )
        await audit(
            tx,
            actor=p.user_id,
            action="update",
            object_type="elder",
            object_id=elder_id,
            detail={"fields": sorted(values)},
        )
        return (await tx.conn.execute(select(elders).where(elders.c.id == elder_id))).one()


async def deactivate(platform: Platform, p: Principal, elder_id: int) -> None:
    """No more help calls accepted for this elder (in hospital, moved away); the file stays."""
    async with platform.tx() as tx:
        await elder_for(tx.conn, p, elder_id)
        await tx.conn.execute(
            update(elders).where(elders.c.id == elder_id).values(active=False, updated_at=tx.now)
        )
        await audit(
            tx, actor=p.user_id, action="deactivate", object_type="elder", object_id=elder_id
        )


async def reactivate(platform: Platform, p: Principal, elder_id: int) -> None:
    """Undo a deactivation (an elder back from hospital or from living with their children):
    help calls are accepted again."""
    async with platform.tx() as tx:
        row = await elder_for(tx.conn, p, elder_id)
        if row.active:
            return
        await tx.conn.execute(
            update(elders).where(elders.c.id == elder_id).values(active=True, updated_at=tx.now)
        )
        await audit(
            tx, actor=p.user_id, action="reactivate", object_type="elder", object_id=elder_id
        )


LINK_CODE_TTL: Final = timedelta(hours=24)


def new_link_code() -> str:
    """A one-time code the station gives the elder to link their WeChat: 64 random bits
    (16 hex characters), so it cannot be guessed within its day."""
    return secrets.token_hex(8).upper()


async def issue_link_code(platform: Platform, p: Principal, elder_id: int) -> tuple[str, datetime]:
    """A new one-time link code for the elder's WeChat (the old one stops working); it
    expires after ``LINK_CODE_TTL``."""
    code = new_link_code()
    async with platform.tx() as tx:
        await elder_for(tx.conn, p, elder_id)
        expires = tx.now + LINK_CODE_TTL
        await tx.conn.execute(
            update(elders)
            .where(elders.c.id == elder_id)
            .values(link_code=code, link_code_expires_at=expires)
        )
        await audit(
            tx, actor=p.user_id, action="link_code", object_type="elder", object_id=elder_id
        )
    return code, expires
