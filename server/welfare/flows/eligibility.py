"""Who qualifies: an elder's file as the rules see it (the registry's file plus the welfare
profile), the rules for which they hold an approved application, and the evaluation of the
district's rule set in force. The pure rules decide (server/welfare/rules.py); this loads."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.welfare import (
    LIVING_WORDS,
    ApplicationStatus,
    LivingWord,
    WelfareProfileIn,
    WelfareProfileOut,
)
from server.auth.principal import Principal
from server.platform import Platform, audit
from server.registry.guards import elder_for
from server.registry.tables import elders, stations
from server.welfare.flows.rulesets import district_of, ruleset_for
from server.welfare.rules import CareLevel, ElderFacts, Eligibility, RuleSet, evaluate
from server.welfare.tables import applications, welfare_profiles


async def facts_for(conn: AsyncConnection, *, elder: Any) -> ElderFacts:
    """An elder's file, as the rules see it."""
    profile = (
        await conn.execute(select(welfare_profiles).where(welfare_profiles.c.elder_id == elder.id))
    ).first()
    extra = set(profile.extra_categories) if profile is not None else set()
    return ElderFacts(
        elder_id=str(elder.id),
        birth_date=date.fromisoformat(elder.birth_date),
        categories=frozenset(elder.categories or ()) | frozenset(extra),
        care_level=CareLevel(elder.care_level),
        living=LIVING_WORDS.get(elder.living, LivingWord.WITH_FAMILY).value,
        household_id=elder.household_id,
        hukou=profile.hukou if profile is not None else "urban",
        hukou_in_district=bool(elder.hukou_in_district),
        residence_in_district=bool(elder.residence_in_district),
        monthly_pension_fen=profile.monthly_pension_fen if profile is not None else None,
        hospital_certificate=bool(profile.hospital_certificate) if profile is not None else False,
        capability_level=getattr(elder, "capability_level", None),
    )


async def approved_rules(conn: AsyncConnection, *, elder_id: int) -> list[str]:
    """Rules for which the elder holds an approved application."""
    rows = await conn.execute(
        select(applications.c.rule_id).where(
            applications.c.elder_id == elder_id,
            applications.c.status == ApplicationStatus.APPROVED.value,
        )
    )
    return [r.rule_id for r in rows]


async def eligibility_for(
    conn: AsyncConnection, *, elder: Any, on: date
) -> tuple[Eligibility | None, RuleSet | None]:
    """The elder's class and quota today (None when the district has no rule set)."""
    district = await district_of(conn, station_id=elder.station_id)
    rs = await ruleset_for(conn, district=district, on=on)
    if rs is None:
        return None, None
    facts = await facts_for(conn, elder=elder)
    approved = await approved_rules(conn, elder_id=elder.id)
    return evaluate(rs, facts, on, approved_rules=approved), rs


async def district_elders(conn: AsyncConnection, *, district: str, **where: Any) -> list[Any]:
    """Active elders of every station of a district (optionally one household)."""
    conds = [
        elders.c.active.is_(True),
        elders.c.station_id.in_(select(stations.c.id).where(stations.c.district == district)),
    ]
    if "household_id" in where:
        conds.append(elders.c.household_id == where["household_id"])
    return list((await conn.execute(select(elders).where(*conds).order_by(elders.c.id))).all())


async def put_profile(
    plat: Platform, p: Principal, *, elder_id: int, body: WelfareProfileIn
) -> WelfareProfileOut:
    """The facts the rules need beyond the registry's file (audited, the fields named)."""
    values = body.model_dump()
    async with plat.tx() as tx:
        await elder_for(tx.conn, p, elder_id)
        mine = welfare_profiles.c.elder_id == elder_id
        if (await tx.conn.execute(select(welfare_profiles.c.elder_id).where(mine))).first():
            await tx.conn.execute(
                update(welfare_profiles).where(mine).values(**values, updated_at=tx.now)
            )
        else:
            await tx.conn.execute(
                insert(welfare_profiles).values(elder_id=elder_id, **values, updated_at=tx.now)
            )
        await audit(
            tx,
            actor=p.user_id,
            action="update",
            object_type="welfare_profile",
            object_id=elder_id,
            detail={"fields": sorted(values)},
        )
    return WelfareProfileOut(elder_id=elder_id, **values)
