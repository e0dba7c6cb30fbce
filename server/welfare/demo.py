"""Demo data for the welfare and services domains: one call from the platform's demo seeder."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.platform import Tx
from server.registry.tables import stations
from server.services.flows import recurring
from server.services.flows.menu import seed_menu_rows
from server.welfare.flows.rulesets import schedule_close
from server.welfare.tables import welfare_rulesets
from server.welfare.workdays import business_date


async def seed_welfare_demo(
    conn: AsyncConnection, *, station_id: int, now: datetime
) -> dict[str, Any]:
    """Seed the station's service menu and, if its district has no rule set yet, publish the
    A/B/C template (illustrative amounts) under the district's name so eligibility works."""
    added = await seed_menu_rows(conn, station_id=station_id, now=now)
    district = (
        await conn.execute(select(stations.c.district).where(stations.c.id == station_id))
    ).scalar_one()
    published = False
    if (
        await conn.execute(
            select(welfare_rulesets.c.id).where(welfare_rulesets.c.district == district)
        )
    ).first() is None:
        text = resources.files("server.welfare").joinpath("rulesets", "template-abc.json")
        body = json.loads(text.read_text("utf-8"))
        body.update(district=district, title=f"{body['title']}（演示 / demo）")
        await conn.execute(
            insert(welfare_rulesets).values(
                district=district,
                version=1,
                effective_from=datetime.fromisoformat(body["effective_from"]).date(),
                body=body,
                created_at=now,
            )
        )
        published = True
    # the district's settlement periods close by themselves (the timer re-arms itself)
    tx = Tx(conn=conn, now=now)
    await schedule_close(tx, district=district, day=business_date(now))
    await recurring.ensure_timer(tx, station_id=station_id)  # recurring rules book themselves
    return {"menu_items_added": added, "ruleset_published": published, "district": district}
