"""停发补贴: an officer stops an elder's subsidy as a fraud decision (from a held record, or on
its own), from a day on; her services are then charged all to self-pay until the stop is
lifted. What was charged before stays as it is (reversing a record is the hold's decision).
Audited both ways; one stop in force per elder."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.providers import SubsidyStopIn, SubsidyStopOut, SubsidyStopStatus
from server.auth.principal import Principal
from server.errors import ApiError, not_found
from server.platform import Platform, Tx, audit
from server.providers import model, out
from server.providers.flows.common import officer_of
from server.providers.tables import fraud_holds, subsidy_stops
from server.registry.tables import elders, stations
from server.texts import zh_en
from server.welfare.workdays import business_date


async def _district_of_elder(conn: AsyncConnection, elder_id: int) -> str:
    got = (
        await conn.execute(
            select(stations.c.district)
            .join(elders, elders.c.station_id == stations.c.id)
            .where(elders.c.id == elder_id)
        )
    ).scalar()
    if got is None:
        raise not_found("elder")
    return str(got)


async def _active(tx: Tx, elder_id: int) -> Any:
    s = subsidy_stops.c
    cond = (s.elder_id == elder_id) & (s.status == SubsidyStopStatus.ACTIVE.value)
    return (await tx.conn.execute(select(subsidy_stops).where(cond))).first()


async def create(
    plat: Platform, p: Principal, elder_id: int, body: SubsidyStopIn
) -> SubsidyStopOut:
    """Stop the elder's subsidy (audited); 409 if one is already in force."""
    async with plat.tx() as tx:
        district = await _district_of_elder(tx.conn, elder_id)
        await officer_of(tx.conn, p, district)
        if body.hold_id is not None:
            fh = fraud_holds.c
            held = (await tx.conn.execute(select(fh.id).where(fh.id == body.hold_id))).first()
            if held is None:
                raise ApiError(422, "unknown_hold", "no such fraud hold", field="hold_id")
        if await _active(tx, elder_id) is not None:
            message = zh_en("providers.problem.subsidy_stopped")
            raise ApiError(409, "subsidy.already_stopped", message, elder_id=elder_id)
        starts = body.starts_on or business_date(tx.now)
        sid = (
            await tx.conn.execute(
                subsidy_stops.insert()
                .values(
                    elder_id=elder_id,
                    district=district,
                    starts_on=starts,
                    reason=body.reason,
                    hold_id=body.hold_id,
                    status=SubsidyStopStatus.ACTIVE.value,
                    created_at=tx.now,
                    created_by=p.user_id,
                )
                .returning(subsidy_stops.c.id)
            )
        ).scalar_one()
        detail = {"stop_id": sid, "hold_id": body.hold_id, "from": starts.isoformat()}
        await audit(
            tx,
            actor=p.user_id,
            action="subsidy_stopped",
            object_type="elder",
            object_id=elder_id,
            detail=detail,
        )
        return out.subsidy_stop(
            (await tx.conn.execute(select(subsidy_stops).where(subsidy_stops.c.id == sid))).one()
        )


async def lift(plat: Platform, p: Principal, stop_id: int) -> SubsidyStopOut:
    async with plat.tx() as tx:
        by_id = subsidy_stops.c.id == stop_id
        row = (await tx.conn.execute(select(subsidy_stops).where(by_id))).first()
        if row is None:
            raise not_found("subsidy_stop")
        await officer_of(tx.conn, p, row.district)
        await model.transition(tx, model.STOP, row, SubsidyStopStatus.LIFTED, actor=p.user_id)
        return out.subsidy_stop((await tx.conn.execute(select(subsidy_stops).where(by_id))).one())


async def of_district(plat: Platform, p: Principal, district: str) -> list[SubsidyStopOut]:
    """The district's stops, those in force first."""
    async with plat.store.read() as conn:
        await officer_of(conn, p, district)
        s = subsidy_stops.c
        rows = (
            await conn.execute(
                select(subsidy_stops)
                .where(s.district == district)
                .order_by(s.status != SubsidyStopStatus.ACTIVE.value, s.id)
            )
        ).all()
    return [out.subsidy_stop(r) for r in rows]
