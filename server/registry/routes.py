"""Registry endpoints: stations, operators, caregivers, elders, family bindings."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from dispatch.travel import TravelMode, TravelParams, service_circle_radius_m
from schemas.common import Location, Model, Patch
from schemas.registry import (
    ActiveOut,
    BindingOut,
    BindingRequest,
    CaregiverIn,
    CaregiverLocationOut,
    CaregiverPage,
    CaregiverPatch,
    DutyIn,
    DutyOut,
    ElderIn,
    ElderPage,
    ElderPatch,
    Kitchen,
    LinkCodeOut,
    LocationIn,
    OpeningHours,
    OperatorOut,
    StationIn,
)
from server.auth.passwords import hash_password
from server.auth.principal import Principal, Role
from server.auth.service import new_link_code
from server.auth.tables import users
from server.errors import ApiError, not_found
from server.geo import CoordSystem, to_store
from server.http import caller, int_param, ok, parse, parse_query, platform, require
from server.identity import birth_date_from_id, normalize_id_number, normalize_mobile, sex_from_id
from server.platform import Tx, audit, queue_push
from server.registry.guards import assigned_incident, elder_for, station_scope
from server.registry.tables import caregivers, elders, family_bindings, stations
from server.registry.views import caregiver_out, elder_out, station_out

STAFF = (Role.OPERATOR, Role.ADMIN)


class PageQuery(Model):
    q: str | None = Field(default=None, max_length=50)
    page: int = Field(default=1, ge=1, le=100000)
    page_size: int = Field(default=20, ge=1, le=100)
    active: bool | None = None
    station_id: int | None = None
    high_risk: bool | None = None
    living: str | None = None


def stored(loc: Location) -> tuple[float, float]:
    if not (-90 <= loc.lat <= 90 and -180 <= loc.lng <= 180):
        raise ApiError(422, "bad_location", "coordinates out of range")
    return to_store(loc.lat, loc.lng, CoordSystem(loc.coord_system.value))


def mobile(raw: str | None, field: str) -> str | None:
    if raw is None:
        return None
    try:
        return normalize_mobile(raw)
    except ValueError as exc:
        raise ApiError(422, "invalid_phone", f"{field}: {exc}", field=field) from exc


def _people(items: list[Any], field: str) -> list[dict[str, Any]]:
    out = []
    for i, item in enumerate(sorted(items, key=lambda c: getattr(c, "order", 0))):
        data = item.model_dump()
        data["phone"] = mobile(data["phone"], f"{field}[{i}].phone")
        out.append(data)
    return out


def _offset(q: PageQuery) -> int:
    return (q.page - 1) * q.page_size


def phone_match(column: Any, q: str) -> Any | None:
    """Search by phone without uncovering masked digits: a whole mobile (normalised) must
    match exactly, and 4 digits match the last 4 (which every masked view shows anyway).
    A substring search would let anyone recover the hidden middle digits one by one."""
    try:
        return column == normalize_mobile(q)
    except ValueError:
        pass
    if len(q) == 4 and q.isdigit():
        return column.endswith(q, autoescape=True)
    return None


def text_search(q: str, phone: Any, *columns: Any) -> Any:
    """Names and addresses by substring (``%`` and ``_`` are literal), phones as above."""
    conds = [c.contains(q, autoescape=True) for c in columns]
    by_phone = phone_match(phone, q)
    if by_phone is not None:
        conds.append(by_phone)
    return or_(*conds)


# ----- stations ---------------------------------------------------------------------------


async def create_station(request: web.Request) -> web.Response:
    p = require(request, Role.ADMIN)
    body = await parse(request, StationIn)
    lat, lng = stored(body.location)
    radius = service_circle_radius_m(TravelParams(), TravelMode.EBIKE, body.circle_minutes)
    kitchen = None
    if body.kitchen:
        klat, klng = stored(body.kitchen.location)
        kitchen = {"name": body.kitchen.name, "lat": klat, "lng": klng}
    async with platform(request).tx() as tx:
        sid = (
            await tx.conn.execute(
                insert(stations)
                .values(
                    name=body.name,
                    district=body.district,
                    street=body.street,
                    address=body.address,
                    lat=lat,
                    lng=lng,
                    circle_minutes=body.circle_minutes,
                    circle_radius_m=radius,
                    opening_hours=body.opening_hours.model_dump(),
                    kitchen=kitchen,
                    phone=mobile(body.phone, "phone") if body.phone else None,
                    created_at=tx.now,
                )
                .returning(stations.c.id)
            )
        ).scalar_one()
        await audit(tx, actor=p.user_id, action="create", object_type="station", object_id=sid)
        row = (await tx.conn.execute(select(stations).where(stations.c.id == sid))).one()
    return ok(station_out(row), 201)


async def list_stations(request: web.Request) -> web.Response:
    p = caller(request)
    stmt = select(stations).order_by(stations.c.id)
    if p.role is not Role.ADMIN:
        stmt = stmt.where(stations.c.id == p.station_id)
    async with platform(request).store.read() as conn:
        rows = (await conn.execute(stmt)).all()
    return ok([station_out(r) for r in rows])


async def get_station(request: web.Request) -> web.Response:
    p = caller(request)
    sid = int_param(request, "station_id")
    if p.role is not Role.ADMIN and p.station_id != sid:
        raise not_found("station")
    async with platform(request).store.read() as conn:
        row = (await conn.execute(select(stations).where(stations.c.id == sid))).first()
    if row is None:
        raise not_found("station")
    return ok(station_out(row))


class OperatorIn(Model):
    station_id: int
    display_name: str = Field(min_length=1, max_length=50)
    username: str = Field(min_length=3, max_length=64)
    phone: str | None = None
    password: str = Field(min_length=8, max_length=200)


async def create_operator(request: web.Request) -> web.Response:
    p = require(request, Role.ADMIN)
    body = await parse(request, OperatorIn)
    async with platform(request).tx() as tx:
        await _station_exists(tx, body.station_id)
        uid = await _insert_user(
            tx,
            role=Role.OPERATOR,
            username=body.username,
            phone=mobile(body.phone, "phone"),
            name=body.display_name,
            password=body.password,
            station_id=body.station_id,
        )
        await audit(tx, actor=p.user_id, action="create", object_type="operator", object_id=uid)
    return ok(OperatorOut(user_id=uid, station_id=body.station_id), 201)


async def _station_exists(tx: Tx, station_id: int) -> Any:
    row = (await tx.conn.execute(select(stations).where(stations.c.id == station_id))).first()
    if row is None:
        raise ApiError(422, "station_not_found", "no such station", field="station_id")
    return row


async def _insert_user(
    tx: Tx,
    *,
    role: Role,
    username: str | None,
    phone: str | None,
    name: str,
    password: str | None,
    station_id: int | None,
) -> int:
    clauses = [
        c
        for c in (
            users.c.username == username if username else None,
            users.c.phone == phone if phone else None,
        )
        if c is not None
    ]
    taken = (
        (await tx.conn.execute(select(users.c.id).where(or_(*clauses)))).first()
        if clauses
        else None
    )
    if taken is not None:
        raise ApiError(409, "login_taken", "this username or phone already has an account")
    return int(
        (
            await tx.conn.execute(
                insert(users)
                .values(
                    role=role.value,
                    username=username,
                    phone=phone,
                    display_name=name,
                    password_hash=hash_password(password) if password else None,
                    station_id=station_id,
                    created_at=tx.now,
                )
                .returning(users.c.id)
            )
        ).scalar_one()
    )


# ----- caregivers -------------------------------------------------------------------------


async def create_caregiver(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    body = await parse(request, CaregiverIn)
    station_scope(p, body.station_id)
    phone = mobile(body.phone, "phone")
    home = stored(body.home) if body.home else (None, None)
    async with platform(request).tx() as tx:
        await _station_exists(tx, body.station_id)
        uid = await _insert_user(
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
        row = (await tx.conn.execute(select(caregivers).where(caregivers.c.id == cid))).one()
    return ok(caregiver_out(row, reveal=True), 201)


async def _caregiver_for(conn: Any, p: Principal, cid: int) -> Any:
    row = (await conn.execute(select(caregivers).where(caregivers.c.id == cid))).first()
    visible = row is not None and (
        p.role is Role.ADMIN
        or (p.role is Role.OPERATOR and row.station_id == p.station_id)
        or (p.role is Role.CAREGIVER and p.caregiver_id == cid)
    )
    if not visible:
        raise not_found("caregiver")
    return row


async def list_caregivers(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    q = parse_query(request, PageQuery)
    conds = [] if p.role is Role.ADMIN else [caregivers.c.station_id == p.station_id]
    if q.q:
        conds.append(text_search(q.q, caregivers.c.phone, caregivers.c.name))
    if q.active is not None:
        conds.append(caregivers.c.active.is_(q.active))
    async with platform(request).store.read() as conn:
        total = (
            await conn.execute(select(func.count()).select_from(caregivers).where(*conds))
        ).scalar_one()
        rows = (
            await conn.execute(
                select(caregivers)
                .where(*conds)
                .order_by(caregivers.c.id)
                .offset(_offset(q))
                .limit(q.page_size)
            )
        ).all()
    return ok(
        CaregiverPage(
            items=[caregiver_out(r, reveal=False) for r in rows],
            total=total,
            page=q.page,
            page_size=q.page_size,
        )
    )


async def get_caregiver(request: web.Request) -> web.Response:
    p = caller(request)
    cid = int_param(request, "caregiver_id")
    reveal = request.query.get("reveal") in ("1", "true") and p.is_staff()
    async with platform(request).tx() as tx:
        row = await _caregiver_for(tx.conn, p, cid)
        if reveal:
            await audit(
                tx,
                actor=p.user_id,
                action="reveal",
                object_type="caregiver",
                object_id=cid,
                detail={"fields": ["phone"]},
            )
    return ok(caregiver_out(row, reveal=reveal or p.caregiver_id == row.id))


class StationPatch(Patch):
    nullable = frozenset({"phone"})

    name: str | None = Field(default=None, min_length=1, max_length=100)
    address: str | None = Field(default=None, max_length=200)
    location: Location | None = None
    circle_minutes: int | None = Field(default=None, ge=5, le=60)
    opening_hours: OpeningHours | None = None
    kitchen: Kitchen | None = None
    phone: str | None = None
    active: bool | None = None


async def patch_station(request: web.Request) -> web.Response:
    """Update a station; the service circle is recomputed from its minutes."""
    p = require(request, *STAFF)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    body = await parse(request, StationPatch)
    values: dict[str, Any] = body.model_dump(
        exclude_unset=True, exclude={"location", "kitchen", "opening_hours"}
    )
    if body.location is not None:
        values["lat"], values["lng"] = stored(body.location)
    if body.circle_minutes is not None:
        values["circle_radius_m"] = service_circle_radius_m(
            TravelParams(), TravelMode.EBIKE, body.circle_minutes
        )
    if body.opening_hours is not None:
        values["opening_hours"] = body.opening_hours.model_dump()
    if body.kitchen is not None:
        klat, klng = stored(body.kitchen.location)
        values["kitchen"] = {"name": body.kitchen.name, "lat": klat, "lng": klng}
    if "phone" in values:
        values["phone"] = mobile(values["phone"], "phone")
    if "active" in values and p.role is not Role.ADMIN:
        raise ApiError(403, "forbidden", "only an administrator opens or closes a station")
    async with platform(request).tx() as tx:
        if (
            await tx.conn.execute(select(stations.c.id).where(stations.c.id == sid))
        ).first() is None:
            raise not_found("station")
        if values:
            await tx.conn.execute(update(stations).where(stations.c.id == sid).values(**values))
        await audit(
            tx,
            actor=p.user_id,
            action="update",
            object_type="station",
            object_id=sid,
            detail={"fields": sorted(values)},
        )
        row = (await tx.conn.execute(select(stations).where(stations.c.id == sid))).one()
    return ok(station_out(row))


async def patch_caregiver(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    cid = int_param(request, "caregiver_id")
    body = await parse(request, CaregiverPatch)
    values: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "phone" in values:
        values["phone"] = mobile(values["phone"], "phone")
    if body.skills is not None:
        values["skills"] = CaregiverIn.known_skills(body.skills)
    try:
        async with platform(request).tx() as tx:
            row = await _caregiver_for(tx.conn, p, cid)
            if values:
                await tx.conn.execute(
                    update(caregivers).where(caregivers.c.id == cid).values(**values)
                )
            await _sync_login(tx, row.user_id, values)
            await audit(
                tx,
                actor=p.user_id,
                action="update",
                object_type="caregiver",
                object_id=cid,
                detail={"fields": sorted(values)},
            )
            row = (await tx.conn.execute(select(caregivers).where(caregivers.c.id == cid))).one()
    except IntegrityError as exc:
        # Another account took the number between our check and the write.
        raise _phone_taken() from exc
    return ok(caregiver_out(row, reveal=False))


def _phone_taken() -> ApiError:
    return ApiError(
        409, "phone_taken", "another account already signs in with this phone", field="phone"
    )


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


async def deactivate_caregiver(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    cid = int_param(request, "caregiver_id")
    async with platform(request).tx() as tx:
        row = await _caregiver_for(tx.conn, p, cid)
        await tx.conn.execute(
            update(caregivers).where(caregivers.c.id == cid).values(active=False, on_duty=False)
        )
        await tx.conn.execute(update(users).where(users.c.id == row.user_id).values(active=False))
        await audit(
            tx, actor=p.user_id, action="deactivate", object_type="caregiver", object_id=cid
        )
    return ok(ActiveOut(id=cid, active=False))


async def reactivate_caregiver(request: web.Request) -> web.Response:
    """Undo a deactivation: the caregiver can sign in again; duty stays off until they
    switch it on themselves."""
    p = require(request, *STAFF)
    cid = int_param(request, "caregiver_id")
    async with platform(request).tx() as tx:
        row = await _caregiver_for(tx.conn, p, cid)
        if not row.active:
            await tx.conn.execute(
                update(caregivers).where(caregivers.c.id == cid).values(active=True)
            )
            await tx.conn.execute(
                update(users)
                .where(users.c.id == row.user_id)
                .values(active=True, failed_logins=0, locked_until=None)
            )
            await audit(
                tx, actor=p.user_id, action="reactivate", object_type="caregiver", object_id=cid
            )
    return ok(ActiveOut(id=cid, active=True))


def _own_caregiver(p: Principal) -> int:
    """The caller's own caregiver record (an administrator has none)."""
    if p.caregiver_id is None:
        raise ApiError(
            403, "not_a_caregiver", "only a caregiver reports their own duty and location"
        )
    return p.caregiver_id


async def set_duty(request: web.Request) -> web.Response:
    p = require(request, Role.CAREGIVER)
    cid = _own_caregiver(p)
    body = await parse(request, DutyIn)
    async with platform(request).tx() as tx:
        await tx.conn.execute(
            update(caregivers).where(caregivers.c.id == p.caregiver_id).values(on_duty=body.on_duty)
        )
        await _tell_station(
            tx, p, "caregiver.duty", {"caregiver_id": p.caregiver_id, "on_duty": body.on_duty}
        )
    return ok(DutyOut(caregiver_id=cid, on_duty=body.on_duty))


async def set_location(request: web.Request) -> web.Response:
    p = require(request, Role.CAREGIVER)
    cid = _own_caregiver(p)
    body = await parse(request, LocationIn)
    lat, lng = stored(body.location)
    from server.incidents.flows import moved, travel_after_move

    # The new ETA's travel time, before the transaction: no road-service call holds a lock.
    eta = await travel_after_move(platform(request), cid, lat, lng)
    async with platform(request).tx() as tx:
        await tx.conn.execute(
            update(caregivers)
            .where(caregivers.c.id == p.caregiver_id)
            .values(lat=lat, lng=lng, located_at=tx.now)
        )
        await _tell_station(
            tx, p, "caregiver.location", {"caregiver_id": p.caregiver_id, "lat": lat, "lng": lng}
        )
        await moved(platform(request), tx, cid, lat, lng, eta=eta)
    return ok(CaregiverLocationOut(caregiver_id=cid, lat=lat, lng=lng))


async def _tell_station(tx: Tx, p: Principal, type_: str, payload: dict[str, Any]) -> None:
    from server.incidents.notify import to_operators

    if p.station_id is not None:
        await to_operators(tx, p.station_id, type_, payload)


# ----- elders -----------------------------------------------------------------------------


def _elder_values(body: ElderIn | ElderPatch, *, create: bool) -> dict[str, Any]:
    """Column values from a request: every field (with its default) on create, only the
    fields sent on a PATCH. Dropping defaults on create left NOT NULL columns empty."""
    values = body.model_dump(
        exclude_unset=not create, exclude={"location", "contacts", "neighbours"}
    )
    if "phone" in values:
        values["phone"] = mobile(values["phone"], "phone")
    if body.location is not None:
        values["lat"], values["lng"] = stored(body.location)
    if body.contacts is not None:
        values["contacts"] = _people(body.contacts, "contacts")
    if body.neighbours is not None:
        values["neighbours"] = _people(body.neighbours, "neighbours")
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


async def _id_number_taken(conn: Any, id_number: str) -> bool:
    return (
        await conn.execute(select(elders.c.id).where(elders.c.id_number == id_number))
    ).first() is not None


async def create_elder(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    body = await parse(request, ElderIn)
    station_scope(p, body.station_id)
    try:
        id_number = normalize_id_number(body.id_number)
    except ValueError as exc:
        raise ApiError(422, "invalid_id_number", str(exc), field="id_number") from exc
    values = _elder_values(body, create=True)
    values.update(
        id_number=id_number, birth_date=birth_date_from_id(id_number), sex=sex_from_id(id_number)
    )
    duplicate = ApiError(
        409, "elder_exists", "an elder with this ID number is already registered", field="id_number"
    )
    pf = platform(request)
    try:
        async with pf.tx() as tx:
            await _station_exists(tx, body.station_id)
            if await _id_number_taken(tx.conn, id_number):
                raise duplicate
            await _check_preferred_caregiver(tx, body.station_id, values)
            eid = (
                await tx.conn.execute(
                    insert(elders)
                    .values(**values, created_at=tx.now, updated_at=tx.now)
                    .returning(elders.c.id)
                )
            ).scalar_one()
            await audit(tx, actor=p.user_id, action="create", object_type="elder", object_id=eid)
            row = (await tx.conn.execute(select(elders).where(elders.c.id == eid))).one()
    except IntegrityError:
        # Only a concurrent registration of the same number is a duplicate; anything else
        # is a real bug and must not be dressed up as one.
        async with pf.store.read() as conn:
            if await _id_number_taken(conn, id_number):
                raise duplicate from None
        raise
    return ok(elder_out(row, reveal=False), 201)


async def list_elders(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    q = parse_query(request, PageQuery)
    conds: list[Any] = []
    if p.role is not Role.ADMIN:
        conds.append(elders.c.station_id == p.station_id)
    elif q.station_id:
        conds.append(elders.c.station_id == q.station_id)
    if q.q:
        conds.append(text_search(q.q, elders.c.phone, elders.c.name, elders.c.address))
    if q.active is not None:
        conds.append(elders.c.active.is_(q.active))
    if q.high_risk is not None:
        conds.append(elders.c.high_risk.is_(q.high_risk))
    if q.living:
        conds.append(elders.c.living == q.living)
    async with platform(request).store.read() as conn:
        total = (
            await conn.execute(select(func.count()).select_from(elders).where(*conds))
        ).scalar_one()
        rows = (
            await conn.execute(
                select(elders)
                .where(*conds)
                .order_by(elders.c.id)
                .offset(_offset(q))
                .limit(q.page_size)
            )
        ).all()
    return ok(
        ElderPage(
            items=[elder_out(r, reveal=False) for r in rows],
            total=total,
            page=q.page,
            page_size=q.page_size,
        )
    )


async def get_elder(request: web.Request) -> web.Response:
    p = caller(request)
    eid = int_param(request, "elder_id")
    reveal = request.query.get("reveal") in ("1", "true") and p.is_staff()
    async with platform(request).tx() as tx:
        row = await elder_for(tx.conn, p, eid)
        if reveal:
            # The audit row names who saw what, never the values themselves.
            await audit(
                tx,
                actor=p.user_id,
                action="reveal",
                object_type="elder",
                object_id=eid,
                detail={"fields": ["id_number", "phone", "contacts"]},
            )
        on_the_way = await reveal_for_incident(tx, p, eid)
    return ok(elder_out(row, reveal=reveal, reveal_contact=on_the_way is not None))


async def reveal_for_incident(tx: Tx, p: Principal, elder_id: int) -> int | None:
    """A caregiver on an active incident for this elder sees the phones (to call on the
    way); each such read is audited with the incident it was for."""
    iid = await assigned_incident(tx.conn, p, elder_id)
    if iid is not None:
        await audit(
            tx,
            actor=p.user_id,
            action="reveal",
            object_type="elder",
            object_id=elder_id,
            detail={"fields": CONTACT_FIELDS, "incident_id": iid, "why": "assigned_incident"},
        )
    return iid


CONTACT_FIELDS = ["phone", "contacts", "neighbours"]


async def patch_elder(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    eid = int_param(request, "elder_id")
    body = await parse(request, ElderPatch)
    values = _elder_values(body, create=False)
    async with platform(request).tx() as tx:
        elder = await elder_for(tx.conn, p, eid)
        await _check_preferred_caregiver(tx, elder.station_id, values)
        await tx.conn.execute(
            update(elders).where(elders.c.id == eid).values(**values, updated_at=tx.now)
        )
        await audit(
            tx,
            actor=p.user_id,
            action="update",
            object_type="elder",
            object_id=eid,
            detail={"fields": sorted(values)},
        )
        row = (await tx.conn.execute(select(elders).where(elders.c.id == eid))).one()
    return ok(elder_out(row, reveal=False))


async def deactivate_elder(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    eid = int_param(request, "elder_id")
    async with platform(request).tx() as tx:
        await elder_for(tx.conn, p, eid)
        await tx.conn.execute(
            update(elders).where(elders.c.id == eid).values(active=False, updated_at=tx.now)
        )
        await audit(tx, actor=p.user_id, action="deactivate", object_type="elder", object_id=eid)
    return ok(ActiveOut(id=eid, active=False))


async def reactivate_elder(request: web.Request) -> web.Response:
    """Undo a deactivation (an elder back from hospital or from living with their children):
    help calls are accepted again."""
    p = require(request, *STAFF)
    eid = int_param(request, "elder_id")
    async with platform(request).tx() as tx:
        row = await elder_for(tx.conn, p, eid)
        if not row.active:
            await tx.conn.execute(
                update(elders).where(elders.c.id == eid).values(active=True, updated_at=tx.now)
            )
            await audit(
                tx, actor=p.user_id, action="reactivate", object_type="elder", object_id=eid
            )
    return ok(ActiveOut(id=eid, active=True))


async def link_code(request: web.Request) -> web.Response:
    p = require(request, *STAFF)
    eid = int_param(request, "elder_id")
    code = new_link_code()
    async with platform(request).tx() as tx:
        await elder_for(tx.conn, p, eid)
        await tx.conn.execute(update(elders).where(elders.c.id == eid).values(link_code=code))
        await audit(tx, actor=p.user_id, action="link_code", object_type="elder", object_id=eid)
    return ok(LinkCodeOut(link_code=code), 201)


# ----- family bindings --------------------------------------------------------------------


def _binding_out(row: Any, elder_name: str) -> BindingOut:
    return BindingOut(
        id=row.id,
        family_user_id=row.family_user_id,
        elder_id=row.elder_id,
        elder_name=elder_name,
        relation=row.relation,
        status=row.status,
        requested_at=row.requested_at,
        confirmed_at=row.confirmed_at,
    )


async def request_binding(request: web.Request) -> web.Response:
    """A family member asks to be bound; the elder or the station confirms."""
    p = require(request, Role.FAMILY)
    body = await parse(request, BindingRequest)
    proof = body.elder_phone_or_id_last4.strip().upper()
    async with platform(request).tx() as tx:
        candidates = (
            await tx.conn.execute(
                select(elders).where(elders.c.name == body.elder_name, elders.c.active.is_(True))
            )
        ).all()
        match = [e for e in candidates if proof in (e.phone, e.id_number[-4:])]
        if len(match) != 1:
            raise ApiError(404, "elder_not_found", "no elder matches this name and number")
        elder = match[0]
        existing = (
            await tx.conn.execute(
                select(family_bindings).where(
                    family_bindings.c.family_user_id == p.user_id,
                    family_bindings.c.elder_id == elder.id,
                )
            )
        ).first()
        if existing is not None and existing.status != "revoked":
            return ok(_binding_out(existing, elder.name))
        if existing is not None:
            await tx.conn.execute(
                update(family_bindings)
                .where(family_bindings.c.id == existing.id)
                .values(status="pending", requested_at=tx.now, relation=body.relation)
            )
            bid = existing.id
        else:
            bid = (
                await tx.conn.execute(
                    insert(family_bindings)
                    .values(
                        family_user_id=p.user_id,
                        elder_id=elder.id,
                        relation=body.relation,
                        status="pending",
                        requested_at=tx.now,
                    )
                    .returning(family_bindings.c.id)
                )
            ).scalar_one()
        from server.incidents.notify import to_operators

        await to_operators(
            tx,
            elder.station_id,
            "binding.requested",
            {"binding_id": bid, "elder_id": elder.id, "relation": body.relation},
        )
        if elder.user_id:
            queue_push(tx, f"user:{elder.user_id}", "binding.requested", {"binding_id": bid})
        row = (
            await tx.conn.execute(select(family_bindings).where(family_bindings.c.id == bid))
        ).one()
    return ok(_binding_out(row, elder.name), 201)


async def confirm_binding(request: web.Request) -> web.Response:
    p = caller(request)
    bid = int_param(request, "binding_id")
    async with platform(request).tx() as tx:
        row = (
            await tx.conn.execute(select(family_bindings).where(family_bindings.c.id == bid))
        ).first()
        if row is None:
            raise not_found("binding")
        elder = (await tx.conn.execute(select(elders).where(elders.c.id == row.elder_id))).one()
        allowed = (p.role is Role.ELDER and p.elder_id == elder.id) or (
            p.is_staff() and (p.role is Role.ADMIN or p.station_id == elder.station_id)
        )
        if not allowed:
            raise not_found("binding")
        if row.status == "pending":
            await tx.conn.execute(
                update(family_bindings)
                .where(family_bindings.c.id == bid)
                .values(status="confirmed", confirmed_at=tx.now, confirmed_by=p.user_id)
            )
            await audit(
                tx, actor=p.user_id, action="confirm_binding", object_type="binding", object_id=bid
            )
            queue_push(
                tx,
                f"user:{row.family_user_id}",
                "binding.confirmed",
                {"binding_id": bid, "elder_id": elder.id},
            )
        row = (
            await tx.conn.execute(select(family_bindings).where(family_bindings.c.id == bid))
        ).one()
    return ok(_binding_out(row, elder.name))


async def list_bindings(request: web.Request) -> web.Response:
    p = caller(request)
    stmt = select(family_bindings, elders.c.name.label("elder_name")).join(
        elders, elders.c.id == family_bindings.c.elder_id
    )
    if p.role is Role.FAMILY:
        stmt = stmt.where(family_bindings.c.family_user_id == p.user_id)
    elif p.role is Role.ELDER:
        stmt = stmt.where(family_bindings.c.elder_id == p.elder_id)
    elif p.role is Role.OPERATOR:
        stmt = stmt.where(elders.c.station_id == p.station_id)
    elif p.role is not Role.ADMIN:
        raise ApiError(403, "forbidden", "your role may not do this")
    async with platform(request).store.read() as conn:
        rows = (await conn.execute(stmt.order_by(family_bindings.c.id))).all()
    return ok([_binding_out(r, r.elder_name) for r in rows])


async def my_elders(request: web.Request) -> web.Response:
    p = require(request, Role.FAMILY, Role.ELDER)
    async with platform(request).store.read() as conn:
        if p.role is Role.ELDER:
            rows = (await conn.execute(select(elders).where(elders.c.id == p.elder_id))).all()
        else:
            rows = (
                await conn.execute(
                    select(elders)
                    .join(family_bindings, family_bindings.c.elder_id == elders.c.id)
                    .where(
                        family_bindings.c.family_user_id == p.user_id,
                        family_bindings.c.status == "confirmed",
                    )
                )
            ).all()
    return ok([elder_out(r, reveal=False) for r in rows])


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api/v1/stations", create_station),
        web.get("/api/v1/stations", list_stations),
        web.get("/api/v1/stations/{station_id}", get_station),
        web.patch("/api/v1/stations/{station_id}", patch_station),
        web.post("/api/v1/operators", create_operator),
        web.post("/api/v1/caregivers", create_caregiver),
        web.get("/api/v1/caregivers", list_caregivers),
        web.post("/api/v1/caregivers/me/duty", set_duty),
        web.post("/api/v1/caregivers/me/location", set_location),
        web.get("/api/v1/caregivers/{caregiver_id}", get_caregiver),
        web.patch("/api/v1/caregivers/{caregiver_id}", patch_caregiver),
        web.post("/api/v1/caregivers/{caregiver_id}/deactivate", deactivate_caregiver),
        web.post("/api/v1/caregivers/{caregiver_id}/reactivate", reactivate_caregiver),
        web.post("/api/v1/elders", create_elder),
        web.get("/api/v1/elders", list_elders),
        web.get("/api/v1/elders/{elder_id}", get_elder),
        web.patch("/api/v1/elders/{elder_id}", patch_elder),
        web.post("/api/v1/elders/{elder_id}/deactivate", deactivate_elder),
        web.post("/api/v1/elders/{elder_id}/reactivate", reactivate_elder),
        web.post("/api/v1/elders/{elder_id}/link-code", link_code),
        web.post("/api/v1/bindings", request_binding),
        web.get("/api/v1/bindings", list_bindings),
        web.post("/api/v1/bindings/{binding_id}/confirm", confirm_binding),
        web.get("/api/v1/me/elders", my_elders),
    ]
