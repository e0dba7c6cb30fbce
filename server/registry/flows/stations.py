"""Stations and their operators."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row

from dispatch.travel import TravelMode, TravelParams, service_circle_radius_m
from schemas.registry import Kitchen, OperatorIn, OperatorOut, StationIn, StationPatch
from server.auth.principal import Principal, Role
from server.errors import ApiError, not_found
from server.platform import Platform, audit
from server.registry.flows.common import (
    insert_user,
    mobile,
    station_exists,
    station_phone,
    stored,
)
from server.registry.guards import station_scope
from server.registry.tables import stations


def _radius(minutes: int) -> float:
    """The service circle: how far an e-bike gets in the station's minutes."""
    return service_circle_radius_m(TravelParams(), TravelMode.EBIKE, minutes)


def kitchen_json(k: Kitchen, lat: float, lng: float) -> dict[str, Any]:
    """The kitchen as stored: where it is, and its box capacity and hot-food limit (read by
    the lunch routing, ``server/planning/flows/meals.py``)."""
    return {
        "name": k.name,
        "lat": lat,
        "lng": lng,
        "box_capacity": k.box_capacity,
        "max_minutes_to_door": k.max_minutes_to_door,
    }


async def create(platform: Platform, p: Principal, body: StationIn) -> Row[Any]:
    """A new station (administrators only), its service circle computed from its minutes."""
    lat, lng = stored(body.location)
    kitchen = None
    if body.kitchen:
        klat, klng = stored(body.kitchen.location)
        kitchen = kitchen_json(body.kitchen, klat, klng)
    async with platform.tx() as tx:
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
                    circle_radius_m=_radius(body.circle_minutes),
                    opening_hours=body.opening_hours.model_dump(),
                    kitchen=kitchen,
                    phone=station_phone(body.phone),
                    created_at=tx.now,
                )
                .returning(stations.c.id)
            )
        ).scalar_one()
        await audit(tx, actor=p.user_id, action="create", object_type="station", object_id=sid)
        return (await tx.conn.execute(select(stations).where(stations.c.id == sid))).one()


async def visible(platform: Platform, p: Principal) -> Sequence[Row[Any]]:
    """Every station for an administrator; an operator's own for everyone else."""
    stmt = select(stations).order_by(stations.c.id)
    if p.role is not Role.ADMIN:
        stmt = stmt.where(stations.c.id == p.station_id)
    async with platform.store.read() as conn:
        return (await conn.execute(stmt)).all()


async def get(platform: Platform, p: Principal, station_id: int) -> Row[Any]:
    """One station, if the caller's scope holds it (404 otherwise)."""
    if p.role is not Role.ADMIN and p.station_id != station_id:
        raise not_found("station")
    async with platform.store.read() as conn:
        row = (await conn.execute(select(stations).where(stations.c.id == station_id))).first()
    if row is None:
        raise not_found("station")
    return row


def _patch_values(p: Principal, body: StationPatch) -> dict[str, Any]:
    """Column values of a station PATCH: only the fields sent, read at the edge."""
    values: dict[str, Any] = body.model_dump(
        exclude_unset=True, exclude={"location", "kitchen", "opening_hours"}
    )
    if body.location is not None:
        values["lat"], values["lng"] = stored(body.location)
    if body.circle_minutes is not None:
        values["circle_radius_m"] = _radius(body.circle_minutes)
    if body.opening_hours is not None:
        values["opening_hours"] = body.opening_hours.model_dump()
    if body.kitchen is not None:
        klat, klng = stored(body.kitchen.location)
        values["kitchen"] = kitchen_json(body.kitchen, klat, klng)
    if "phone" in values:
        values["phone"] = station_phone(values["phone"])
    if "active" in values and p.role is not Role.ADMIN:
        raise ApiError(403, "forbidden", "only an administrator opens or closes a station")
    return values


async def patch(
    platform: Platform, p: Principal, *, station_id: int, body: StationPatch
) -> Row[Any]:
    """Update a station; the service circle is recomputed from its minutes."""
    station_scope(p, station_id)  # the handler checked before reading the body; so do we
    values = _patch_values(p, body)
    async with platform.tx() as tx:
        found = select(stations.c.id).where(stations.c.id == station_id)
        if (await tx.conn.execute(found)).first() is None:
            raise not_found("station")
        if values:
            await tx.conn.execute(
                update(stations).where(stations.c.id == station_id).values(**values)
            )
        await audit(
            tx,
            actor=p.user_id,
            action="update",
            object_type="station",
            object_id=station_id,
            detail={"fields": sorted(values)},
        )
        return (await tx.conn.execute(select(stations).where(stations.c.id == station_id))).one()


async def create_operator(platform: Platform, p: Principal, body: OperatorIn) -> OperatorOut:
    """A station operator's sign-in account."""
    async with platform.tx() as tx:
        await station_exists(tx, body.station_id)
        uid = await insert_user(
            tx,
            role=Role.OPERATOR,
            username=body.username,
            phone=mobile(body.phone, "phone"),
            name=body.display_name,
            password=body.password,
            station_id=body.station_id,
        )
        await audit(tx, actor=p.user_id, action="create", object_type="operator", object_id=uid)
    return OperatorOut(user_id=uid, station_id=body.station_id)
