"""Welfare steps that must leave an audit row: a hospital stay recorded, a step gone overdue."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.store.tables import audit_log
from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.test_api_welfare import setup

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def audit_rows(api: Api, action: str) -> list[tuple[str, str]]:
    async with api.platform.store.read() as conn:
        rows = (await conn.execute(select(audit_log).where(audit_log.c.action == action))).all()
    return [(r.object_type, r.object_id) for r in rows]


async def test_recording_a_hospital_stay_is_audited(api: Api) -> None:
    await setup(api)
    eid = api.ids["elder"]
    body = {"admitted_at": "2026-11-20T08:00:00+08:00", "hospital": "朝阳医院"}
    await api.call(
        "POST", f"/api/v1/elders/{eid}/hospital-stays", "operator", json=body, expect=201
    )
    assert await audit_rows(api, "record_hospital_stay") == [("elder", str(eid))]


async def test_an_overdue_step_is_audited(api: Api) -> None:
    await setup(api)
    a = await api.call(
        "POST",
        f"/api/v1/elders/{api.ids['elder']}/applications",
        "family",
        json={"rule_id": "dibao"},
        expect=201,
    )
    await api.advance(15 * 24 * 3600)  # community step due 7 Dec; overdue from the 8th
    assert await audit_rows(api, "application_overdue") == [("application", str(a["id"]))]
