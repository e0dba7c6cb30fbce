"""Night on-call (夜间值班): a help call at 23:00 is offered to the caregiver on night call,
from home, though their duty switch is off; outside the slot (or with no slot) nobody off duty
is offered; a nonsense slot is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from dispatch.oncall import on_call_at
from server.clock import SHANGHAI
from server.registry.tables import caregivers
from tests.conftest import BACKENDS
from tests.support.api import Api, near
from tests.welfare.support import long_tokens

MONDAY_NIGHT = [{"weekday": 0, "start": "22:00", "end": "08:00"}]


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=SHANGHAI)  # 23 November 2026 is a Monday


def test_an_overnight_slot_runs_into_the_next_morning() -> None:
    assert on_call_at(MONDAY_NIGHT, at(23, 22))
    assert on_call_at(MONDAY_NIGHT, at(24, 7, 59))
    assert not on_call_at(MONDAY_NIGHT, at(24, 8))
    assert not on_call_at(MONDAY_NIGHT, at(23, 21, 59))
    assert not on_call_at(MONDAY_NIGHT, at(24, 23))  # Tuesday night is not Monday's
    sunday = [{"weekday": 6, "start": "20:00", "end": "06:00"}]
    assert on_call_at(sunday, at(23, 5, 30))  # Sunday's slot covers early Monday
    assert not on_call_at([{"weekday": 9, "start": "x"}, "junk"], at(23, 23))  # type: ignore[list-item]


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_a_night_help_call_goes_to_the_on_call_caregiver(api: Api) -> None:
    long_tokens(api)
    api.clock.set(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))  # Monday 23:00 in Shanghai
    for key in ("cg_a", "cg_b"):
        await api.set_duty(key, False)
    home = near(300, 300)
    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(caregivers)
            .where(caregivers.c.id == api.ids["cg_b"])
            .values(home_lat=home[0], home_lng=home[1], lat=None, lng=None)
        )
    cg = api.ids["cg_b"]
    status, problem = await api.call(
        "PATCH",
        f"/api/v1/caregivers/{cg}",
        "operator",
        json={"on_call": [{"weekday": 0, "start": "22:00", "end": "22:00"}]},
    )
    assert status == 422, problem
    out = await api.call(
        "PATCH", f"/api/v1/caregivers/{cg}", "operator", json={"on_call": MONDAY_NIGHT}, expect=200
    )
    assert out["on_call"] == MONDAY_NIGHT
    inc = await api.press(expect=201)
    await api.pump()
    offers = await api.call("GET", "/api/v1/offers", "cg_b", expect=200)
    assert [o["incident_id"] for o in offers] == [inc["id"]]
    assert await api.call("GET", "/api/v1/offers", "cg_a", expect=200) == []  # off, no slot
