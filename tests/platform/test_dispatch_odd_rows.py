"""One odd caregiver row cannot stop dispatch for the whole station."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select

from server.incidents.tables import incidents
from server.registry.tables import caregivers
from server.store.tables import outbox
from server.tasks.tables import tasks
from tests.conftest import BACKENDS
from tests.support.api import Api, near

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

# What older versions, imports and hand edits have left in caregiver rows.
ODD_ROWS: list[dict[str, Any]] = [
    {"skills": None, "shifts": None},  # JSON null
    {"skills": "first_aid", "shifts": "mon-fri"},  # a bare string
    {"skills": {"first_aid": True}, "shifts": {}},  # an object
    {"skills": [1, None, "nursing"], "travel_mode": "rocket"},
    {"skills": [], "lng": None},  # half a location
    {"skills": [], "lat": 999.0},  # off the map
]


async def _add_odd_caregivers(api: Api) -> list[int]:
    ids = []
    now = api.clock.now()
    async with api.platform.store.begin() as conn:
        for i, odd in enumerate(ODD_ROWS):
            uid = await api._user(conn, "caregiver", f"odd{i}", api.ids["station"], now)
            lat, lng = near(150 + 10 * i)  # closer to the elder than anyone else
            row = {
                "user_id": uid,
                "station_id": api.ids["station"],
                "name": f"怪{i}",
                "phone": f"1370000{i:04d}",
                "certificates": [],
                "travel_mode": "ebike",
                "on_duty": True,
                "lat": lat,
                "lng": lng,
                "located_at": now,
                "created_at": now,
                "shifts": [],
                **odd,
            }
            ids.append(
                int(
                    (
                        await conn.execute(
                            insert(caregivers).values(**row).returning(caregivers.c.id)
                        )
                    ).scalar_one()
                )
            )
        # and a task in progress with holes in it
        await conn.execute(
            insert(tasks).values(
                station_id=api.ids["station"],
                elder_id=api.ids["elder_other"],
                caregiver_id=ids[0],
                kind="visit",
                title="",
                status="in_progress",
                priority=3,
                interruptible=True,
                required_skills=[],
                duration_s=600,
                started_at=now,
                lat=None,
                lng=None,
                source="test",
                source_ref="odd-task-1",
                created_at=now,
            )
        )
    return ids


async def test_dispatch_goes_on_past_odd_rows(api: Api) -> None:
    odd = await _add_odd_caregivers(api)
    inc = await api.press(expect=201)
    await api.pump()
    async with api.platform.store.read() as conn:
        row = (await conn.execute(select(incidents).where(incidents.c.id == inc["id"]))).one()
        failing = (await conn.execute(select(outbox).where(outbox.c.last_error.is_not(None)))).all()
    assert row.status == "offered", row.status
    assert failing == []
    ranked = {c["caregiver_id"] for c in row.last_ranking["candidates"]}
    excluded = {e["caregiver_id"] for e in row.last_ranking["excluded"]}
    assert api.ids["cg_a"] in ranked
    # Rows with a usable location are candidates; the ones without are excluded, not crashes.
    assert set(odd[:4]) <= ranked and {odd[4], odd[5]} <= excluded


async def test_operator_can_assign_a_caregiver_with_odd_data(api: Api) -> None:
    odd = await _add_odd_caregivers(api)
    inc = await api.press(expect=201)
    for cid in (odd[3], odd[4]):  # unknown travel mode; half a location
        out = await api.call(
            "POST",
            f"/api/v1/incidents/{inc['id']}/assign",
            "operator",
            json={"caregiver_id": cid, "reason": "熟悉老人"},
            expect=201,
        )
        assert out["status"] == "offered"


async def test_odd_rows_still_read_in_the_registry(api: Api) -> None:
    odd = await _add_odd_caregivers(api)
    page = await api.call("GET", "/api/v1/caregivers?page_size=100", "operator", expect=200)
    by_id = {c["id"]: c for c in page["items"]}
    assert by_id[odd[0]]["skills"] == [] and by_id[odd[0]]["shifts"] == []
    assert by_id[odd[1]]["skills"] == ["first_aid"]
    assert by_id[odd[3]]["skills"] == ["nursing"]
