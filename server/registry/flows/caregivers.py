"""Caregivers: their records and sign-in accounts, and what they report (duty, location)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.common import Location
from schemas.registry import (
    CaregiverDuty,
    CaregiverIn,
    CaregiverLocation,
    CaregiverPatch,
    PageQuery,
)
from server.auth.principal import Principal, Role
from server.auth.service import end_sessions
from server.auth.service import reset_password as auth_reset_password
from server.auth.tables import users
from server.errors import ApiError, not_found
from server.platform import URGENT, Platform, Tx, audit, emit
from server.registry.flows.common import (
    guard_number_search,
    insert_user,
    mobile,
    paged,
    station_exists,
    stored,
    tell_station,
    text_search,
)
from server.registry.guards import station_scope
from server.registry.tables import caregivers


async def create(platform: Platform, p: Principal, body: CaregiverIn) -> Row[Any]:
    """A caregiver and their sign-in account (by phone, or a username)."""
    station_scope(p, body.station_id)
    phone = mobile(body.phone, "phone")
    home = stored(body.home) if body.home else (None, None)
    async with platform.tx() as tx:
        await station_exists(tx, body.station_id)
        uid = await insert_user(
            tx,
            role=Role.CAREGIVER,
            username=body.username,
            phone=phone,
            name=body.name,
            password=body.password,
            station_id=body.station_id,
        )
        cid = (
            await tx.conn.execute(
                insert(caregivers)
                .values(
                    user_id=uid,
                    station_id=body.station_id,
                    name=body.name,
                    phone=phone,
                    skills=body.skills,
                    certificates=[c.model_dump() for c in body.certificates],
                    travel_mode=body.travel_mode,
                    shifts=[s.model_dump() for s in body.shifts],
                    home_lat=home[0],
                    home_lng=home[1],
                    created_at=tx.now,
                )
                .returning(caregivers.c.id)
            )
        ).scalar_one()
        await audit(tx, actor=p.user_id, action="create", object_type="caregiver", object_id=cid)
        return (await tx.conn.execute(select(caregivers).where(caregivers.c.id == cid))).one()


async def caregiver_for(conn: AsyncConnection, p: Principal, caregiver_id: int) -> Row[Any]:
    """The caregiver's row if this caller may see it (staff of the station, or themselves)."""
    row = (await conn.execute(select(caregivers).where(caregivers.c.id == caregiver_id))).first()
    visible = row is not None and (
        p.role is Role.ADMIN
        or (p.role is Role.OPERATOR and row.station_id == p.station_id)
        or (p.role is Role.CAREGIVER and p.caregiver_id == caregiver_id)
    )
    if row is None or not visible:
        raise not_found("caregiver")
    return row


async def page(platform: Platform, p: Principal, q: PageQuery) -> tuple[Sequence[Row[Any]], int]:
    """One page of the caller's station's caregivers, searched, and how many match."""
    conds = [] if p.role is Role.ADMIN else [caregivers.c.station_id == p.station_id]
    if q.q:
        await guard_number_search(platform, p, q.q, "caregiver")
        conds.append(text_search(q.q, caregivers.c.phone, caregivers.c.name))
    if q.active is not None:
        conds.append(caregivers.c.active.is_(q.active))
    return await paged(platform, caregivers, conds, q)


async def get(platform: Platform, p: Principal, caregiver_id: int, *, reveal: bool) -> Row[Any]:
    """One caregiver; a revealed phone is audited (who saw it, never the number)."""
    async with platform.tx() as tx:
        row = await caregiver_for(tx.conn, p, caregiver_id)
        if reveal:
            await audit(
                tx,
                actor=p.user_id,
                action="reveal",
                object_type="caregiver",
                object_id=caregiver_id,
                detail={"fields": ["phone"]},
            )
    return row


def _phone_taken() -> ApiError:
    return ApiError(
        409, "phone_taken", "another account already signs in with this phone", field="phone"
    )


async def patch(
    platform: Platform, p: Principal, *, caregiver_id: int, body: CaregiverPatch
) -> Row[Any]:
    """Update a caregiver's record, and their sign-in account's phone and name with it."""
    values: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "phone" in values:
        values["phone"] = mobile(values["phone"], "phone")
    try:
        async with platform.tx() as tx:
            row = await caregiver_for(tx.conn, p, caregiver_id)
            if values:
                await tx.conn.execute(
                    update(caregivers).where(caregivers.c.id == caregiver_id).values(**values)
                )
            await _sync_login(tx, row.user_id, values)
            await audit(
                tx,
                actor=p.user_id,
                action="update",
                object_type="caregiver",
                object_id=caregiver_id,
                detail={"fields": sorted(values)},
            )
            stmt = select(caregivers).where(caregivers.c.id == caregiver_id)
            return (await tx.conn.execute(stmt)).one()
    except IntegrityError as exc:
        # Another account took the number between our check and the write.
        raise _phone_taken() from exc


async def _sync_login(tx: Tx, user_id: int, values: dict[str, Any]) -> None:
    """The caregiver signs in with their phone: keep ``users.phone`` the same number, and
    refuse one that another account signs in with (it would sign in as either)."""
    login: dict[str, Any] = {}
    if "phone" in values:
        taken = (
            await tx.conn.execute(
                select(users.c.id).where(users.c.phone == values["phone"], users.c.id != user_id)
            )
        ).first()
        if taken is not None:
            raise _phone_taken()
        login["phone"] = values["phone"]
    if "name" in values:
        login["display_name"] = values["name"]
    if login:
        await tx.conn.execute(update(users).where(users.c.id == user_id).values(**login))


async def deactivate(platform: Platform, p: Principal, caregiver_id: int) -> None:
    """Off the rota and unable to sign in; their history stays."""
    async with platform.tx() as tx:
        row = await caregiver_for(tx.conn, p, caregiver_id)
        await tx.conn.execute(
            update(caregivers)
            .where(caregivers.c.id == caregiver_id)
            .values(active=False, on_duty=False)
        )
        await tx.conn.execute(update(users).where(users.c.id == row.user_id).values(active=False))
        # Her sessions end now (HTTP and sockets), and her calls go back (incidents' handler).
        await end_sessions(tx, int(row.user_id))
        await emit(
            tx,
            "caregiver.deactivated",
            {"caregiver_id": caregiver_id, "user_id": int(row.user_id)},
            priority=URGENT,
        )
        await audit(
            tx,
            actor=p.user_id,
            action="deactivate",
            object_type="caregiver",
            object_id=caregiver_id,
        )


async def reset_password(platform: Platform, p: Principal, caregiver_id: int, new: str) -> None:
    """The station sets a caregiver's password (she forgot it, or it leaked): an audit row
    names who did it; her sessions end."""
    async with platform.tx() as tx:
        row = await caregiver_for(tx.conn, p, caregiver_id)
        await auth_reset_password(tx, p.user_id, int(row.user_id), new)


async def reactivate(platform: Platform, p: Principal, caregiver_id: int) -> None:
    """Undo a deactivation: the caregiver can sign in again; duty stays off until they
    switch it on themselves."""
    async with platform.tx() as tx:
        row = await caregiver_for(tx.conn, p, caregiver_id)
        if row.active:
            return
        await tx.conn.execute(
            update(caregivers).where(caregivers.c.id == caregiver_id).values(active=True)
        )
        await tx.conn.execute(
            update(users)
            .where(users.c.id == row.user_id)
            .values(active=True, failed_logins=0, locked_until=None)
        )
        await audit(
            tx,
            actor=p.user_id,
            action="reactivate",
            object_type="caregiver",
            object_id=caregiver_id,
        )


def own_caregiver(p: Principal) -> int:
    """The caller's own caregiver record (an administrator has none)."""
    if p.caregiver_id is None:
        raise ApiError(
            403, "not_a_caregiver", "only a caregiver reports their own duty and location"
        )
    return p.caregiver_id


async def set_duty(platform: Platform, p: Principal, on_duty: bool) -> int:
    """The caregiver goes on or off duty; the station's consoles hear of it."""
    cid = own_caregiver(p)
    async with platform.tx() as tx:
        await tx.conn.execute(
            update(caregivers).where(caregivers.c.id == cid).values(on_duty=on_duty)
        )
        if p.station_id is not None:
            await tell_station(
                tx, CaregiverDuty(station_id=p.station_id, caregiver_id=cid, on_duty=on_duty)
            )
    return cid


async def set_location(platform: Platform, p: Principal, at: Location) -> tuple[int, float, float]:
    """Where the caregiver is now; the consoles hear of it, and a help call they are on moves
    its ETA (``server.incidents.flows.moved``)."""
    from server.incidents.flows import moved, travel_after_move

    cid = own_caregiver(p)
    lat, lng = stored(at)
    # The new ETA's travel time, before the transaction: no road-service call holds a lock.
    eta = await travel_after_move(platform, cid, lat, lng)
    async with platform.tx() as tx:
        await tx.conn.execute(
            update(caregivers)
            .where(caregivers.c.id == cid)
            .values(lat=lat, lng=lng, located_at=tx.now)
        )
        if p.station_id is not None:
            await tell_station(
                tx, CaregiverLocation(station_id=p.station_id, caregiver_id=cid, lat=lat, lng=lng)
            )
        await moved(platform, tx, cid, lat, lng, eta=eta)
    return cid, lat, lng
