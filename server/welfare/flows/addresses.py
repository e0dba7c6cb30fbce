"""Changing an elder's service address under the district's rule set: where the rules carry
`address_limits` (the rural programme: "每户服务的地址…最多可变更2处，且每年变更次数不得超过2
次"), `addresses.check_change` decides over the household's history; every change is kept
and audited."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import insert, select, update

from schemas.welfare import AddressHistoryOut, ServiceAddressIn
from server.auth.principal import Principal
from server.errors import ApiError
from server.geo import CoordSystem, to_store
from server.platform import Platform, Tx, audit
from server.registry.guards import elder_for
from server.registry.tables import elders
from server.welfare import out
from server.welfare.addresses import AddressLimits, AddressUse, check_change
from server.welfare.flows.rulesets import district_of, ruleset_for
from server.welfare.tables import service_addresses
from server.welfare.workdays import business_date

NO_LIMITS: Final = AddressLimits(None, None)  # outside such programmes only "unchanged" is refused


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


async def _check(tx: Tx, elder: Any, past: list[Any], address: str) -> None:
    """409 if the district's limits refuse the change today."""
    today = business_date(tx.now)
    district = await district_of(tx.conn, station_id=elder.station_id)
    rs = await ruleset_for(tx.conn, district=district, on=today)
    limits = rs.address_limits if rs is not None and rs.address_limits is not None else NO_LIMITS
    err = check_change([AddressUse(r.since, r.address) for r in past], address, today, limits)
    if err is not None:
        message = out.both(f"welfare.problem.{err.value}")
        raise ApiError(409, err.value, message, field="address")


async def change(
    plat: Platform, p: Principal, *, elder_id: int, body: ServiceAddressIn
) -> AddressHistoryOut:
    """Serve the elder's household at a new address from today (the file follows; audited)."""
    async with plat.tx() as tx:
        elder = await elder_for(tx.conn, p, elder_id)
        await tx.conn.execute(select(elders.c.id).where(elders.c.id == elder_id).with_for_update())
        past = await history(tx, elder)
        await _check(tx, elder, past, body.address)
        await tx.conn.execute(
            insert(service_addresses).values(
                household_key=household_key(elder),
                elder_id=elder_id,
                address=body.address,
                since=business_date(tx.now),
                created_at=tx.now,
                created_by=p.user_id,
            )
        )
        values: dict[str, Any] = {"address": body.address, "updated_at": tx.now}
        if body.location is not None:
            where = body.location
            system = CoordSystem(where.coord_system.value)
            values["lat"], values["lng"] = to_store(where.lat, where.lng, system)
        await tx.conn.execute(update(elders).where(elders.c.id == elder_id).values(**values))
        await audit(
            tx,
            actor=p.user_id,
            action="change_service_address",
            object_type="elder",
            object_id=elder_id,
            detail={"changes_before": len(past) - 1},
        )
        return out.address_history(elder_id, await history(tx, elder))


async def listing(plat: Platform, p: Principal, *, elder_id: int) -> AddressHistoryOut:
    """The household's service addresses (the file's address first)."""
    async with plat.tx() as tx:
        elder = await elder_for(tx.conn, p, elder_id)
        return out.address_history(elder_id, await history(tx, elder))
