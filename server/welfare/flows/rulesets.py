"""A district's rule sets (eligibility as data): the stored versions, the one in force on a day,
publishing a new version, and the timer that closes the district's settlement periods."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.welfare import RulesetOut, RulesetPublishedOut
from server.auth.principal import Principal
from server.errors import ApiError
from server.platform import Platform, Tx, audit, schedule
from server.registry.tables import stations
from server.welfare import ledger, out
from server.welfare.rules import (
    PACKAGED,
    RuleError,
    RuleSet,
    Targets,
    in_force,
    load_packaged,
    parse_ruleset,
)
from server.welfare.tables import welfare_rulesets
from server.welfare.workdays import SHANGHAI, business_date

CLOSE_TIMER = "welfare.period_close"


async def rulesets_for(conn: AsyncConnection, *, district: str) -> list[RuleSet]:
    """Every stored version for a district, plus the packaged examples of the same name."""
    rows = (
        await conn.execute(
            select(welfare_rulesets.c.body).where(welfare_rulesets.c.district == district)
        )
    ).all()
    found = [parse_ruleset(r.body) for r in rows]
    if not found:
        found = [rs for rs in (load_packaged(n) for n in PACKAGED) if rs.district == district]
    return found


async def targets_for(conn: AsyncConnection, *, district: str, on: date) -> Targets:
    """The district's targets in the rule set in force (the seeds' without one)."""
    rs = await ruleset_for(conn, district=district, on=on)
    return rs.targets if rs is not None else Targets()


async def ruleset_for(conn: AsyncConnection, *, district: str, on: date) -> RuleSet | None:
    """The rule set in force in a district on a date, or None if the district has none."""
    versions = await rulesets_for(conn, district=district)
    if not versions:
        return None
    try:
        return in_force(versions, district, on)
    except LookupError:
        return None


async def district_of(conn: AsyncConnection, *, station_id: int) -> str:
    """The district a station belongs to (its rule set's key)."""
    return str(
        (
            await conn.execute(select(stations.c.district).where(stations.c.id == station_id))
        ).scalar_one()
    )


async def listing(plat: Platform) -> list[RulesetOut]:
    """The stored versions, then the packaged examples."""
    async with plat.store.read() as conn:
        rows = (
            await conn.execute(
                select(welfare_rulesets).order_by(
                    welfare_rulesets.c.district, welfare_rulesets.c.version
                )
            )
        ).all()
    packaged = [(name, load_packaged(name)) for name in PACKAGED]
    return [out.stored_ruleset(r) for r in rows] + [
        out.packaged_ruleset(name, rs) for name, rs in packaged
    ]


def read_ruleset(body: bytes) -> tuple[Any, RuleSet]:
    """A rule set's JSON and its meaning, or 422 naming what is wrong."""
    try:
        raw = json.loads(body)
        return raw, parse_ruleset(raw)
    except (ValueError, RuleError, TypeError, AttributeError) as exc:
        raise ApiError(422, "ruleset.invalid", f"rule set is not valid: {exc}") from exc


async def publish(plat: Platform, p: Principal, body: bytes) -> RulesetPublishedOut:
    """District staff publish a new version of a district's rules (audited); from then on the
    district's periods close by themselves. A version is never edited: a second one is 409."""
    raw, rs = read_ruleset(body)
    try:
        async with plat.tx() as tx:
            await tx.conn.execute(
                insert(welfare_rulesets).values(
                    district=rs.district,
                    version=rs.version,
                    effective_from=rs.effective_from,
                    body=raw,
                    created_at=tx.now,
                    created_by=p.user_id,
                )
            )
            await audit(
                tx,
                actor=p.user_id,
                action="publish_ruleset",
                object_type="ruleset",
                object_id=f"{rs.district}:v{rs.version}",
            )
            day = max(business_date(tx.now), rs.effective_from)
            await schedule_close(tx, district=rs.district, day=day)  # it re-arms itself
    except IntegrityError as exc:
        raise ApiError(409, "ruleset.version_exists", "this version already exists") from exc
    return RulesetPublishedOut(
        district=rs.district,
        version=rs.version,
        effective_from=rs.effective_from,
        rules=len(rs.rules),
    )


def close_due(period: str) -> datetime:
    """When a period closes by itself: 00:30 Shanghai the day after its last day (records of
    the last evening are in by then)."""
    _, last = ledger.period_bounds(period)
    return datetime.combine(last + timedelta(days=1), time(0, 30), SHANGHAI)


async def schedule_close(tx: Tx, *, district: str, day: date) -> None:
    """Make sure the settlement period holding `day` closes by itself after it ends."""
    rs = await ruleset_for(tx.conn, district=district, on=day)
    if rs is None:
        return
    period = ledger.settlement_period(day, rs.settlement)
    await schedule(
        tx,
        CLOSE_TIMER,
        f"welfare.close:{district}:{period}",
        close_due(period),
        {"district": district, "period": period},
    )
