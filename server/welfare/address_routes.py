"""Changing an elder's service address under the district's rule set: where the rules carry
`address_limits` (the rural programme: "每户服务的地址…最多可变更2处，且每年变更次数不得超过2
次"), `addresses.check_change` decides over the household's history; every change is kept
and audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web
from sqlalchemy import insert, select, update

from schemas.welfare import ServiceAddressIn
from server.auth.principal import Role
from server.errors import ApiError
from server.geo import CoordSystem, to_store
from server.http import int_param, ok, parse, platform, require
from server.platform import Tx, audit
from server.registry.guards import elder_for
from server.registry.tables import elders
from server.welfare import service
from server.welfare.addresses import AddressLimits, AddressUse, check_change
from server.welfare.flows import WATCHERS
from server.welfare.tables import service_addresses
from server.welfare.workdays import business_date


def household_key(elder: Any) -> str:
    """The limits count per household; an elder without one is a household of one."""
    return str(elder.household_id) if elder.household_id else f"elder:{elder.id}"


async def history(tx: Tx, elder: Any) -> list[Any]:
    """The household's service addresses, oldest first; the file's address is the first one."""
    key = household_key(elder)
    rows = (
        await tx.conn.execute(
            select(service_addresses)
            .where(service_addresses.c.household_key == key)
            .order_by(service_addresses.c.since, service_addresses.c.id)
        )
    ).all()
    if not rows:
        await tx.conn.execute(
            insert(service_addresses).values(
                household_key=key,
                elder_id=elder.id,
                address=elder.address,
                since=business_date(elder.created_at),
                created_at=tx.now,
            )
        )
        return await history(tx, elder)
    return list(rows)


def _out(r: Any) -> dict[str, Any]:
    return {"address": r.address, "since": r.since.isoformat(), "elder_id": r.elder_id}


async def change_address(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    eid = int_param(request, "elder_id")
    body = await parse(request, ServiceAddressIn)
    async with platform(request).tx() as tx:
        elder = await elder_for(tx.conn, p, eid)
        await tx.conn.execute(select(elders.c.id).where(elders.c.id == eid).with_for_update())
        today: date = business_date(tx.now)
        district = await service.district_of(tx.conn, station_id=elder.station_id)
        rs = await service.ruleset_for(tx.conn, district=district, on=today)
        past = await history(tx, elder)
        uses = [AddressUse(r.since, r.address) for r in past]
        if rs is not None and rs.address_limits is not None:
            err = check_change(uses, body.address, today, rs.address_limits)
        else:
            err = check_change(uses, body.address, today, _NO_LIMITS)
        if err is not None:
            raise ApiError(409, err.value, _MESSAGES[err.value], field="address")
        await tx.conn.execute(
            insert(service_addresses).values(
                household_key=household_key(elder),
                elder_id=eid,
                address=body.address,
                since=today,
                created_at=tx.now,
                created_by=p.user_id,
            )
        )
        values: dict[str, Any] = {"address": body.address, "updated_at": tx.now}
        if body.location is not None:
            values["lat"], values["lng"] = to_store(
                body.location.lat, body.location.lng, CoordSystem(body.location.coord_system.value)
            )
        await tx.conn.execute(update(elders).where(elders.c.id == eid).values(**values))
        await audit(
            tx,
            actor=p.user_id,
            action="change_service_address",
            object_type="elder",
            object_id=eid,
            detail={"changes_before": len(past) - 1},
        )
        rows = await history(tx, elder)
    return ok({"elder_id": eid, "history": [_out(r) for r in rows]}, 201)


async def list_addresses(request: web.Request) -> web.Response:
    p = require(request, *WATCHERS)
    eid = int_param(request, "elder_id")
    async with platform(request).tx() as tx:
        elder = await elder_for(tx.conn, p, eid)
        rows = await history(tx, elder)
    return ok({"elder_id": eid, "history": [_out(r) for r in rows]})


_NO_LIMITS = AddressLimits(None, None)  # outside such programmes only "unchanged" is refused
_MESSAGES = {
    "address.too_many_places": "每户服务地址最多2处 / at most 2 service addresses per household",
    "address.too_many_changes": "每年最多变更2次 / at most 2 address changes a year",
    "address.unchanged": "地址未变 / this is already the service address",
}
