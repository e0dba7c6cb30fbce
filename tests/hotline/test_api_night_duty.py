"""Night duty through the real app: the head is called only when no operator acknowledges,
the roster is read at each step, and alarms outside the chain reach the duty operator and
then the head."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from server.incidents.tables import alarms
from tests.conftest import BACKENDS
from tests.hotline.support import alarm_kinds, fired, no_caregiver_accepts, settle
from tests.support.api import Api, near
from tests.support.hotline_fakes import FakeProvider

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

DUTY_PHONE, HEAD_PHONE, LATE_HEAD_PHONE = "13600000001", "13600000003", "13600000005"
EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]


def slot(role: str, name: str, phone: str, start: str = "00:00", end: str = "00:00") -> Any:
    return {
        "role": role,
        "name": name,
        "phone": phone,
        "weekdays": EVERY_DAY,
        "start": start,
        "end": end,
    }


async def roster(api: Api, *slots: Any) -> None:
    await api.call(
        "PUT", "/api/v1/hotline/roster", "operator", json={"slots": list(slots)}, expect=200
    )


async def open_alarm(api: Api, kind: str) -> int:
    async with api.platform.store.read() as conn:
        return int(
            (
                await conn.execute(
                    select(alarms.c.id).where(
                        alarms.c.kind == kind, alarms.c.acknowledged_at.is_(None)
                    )
                )
            ).scalar_one()
        )


async def test_console_acknowledgement_stops_the_head_alarm(
    api: Api, provider: FakeProvider
) -> None:
    await roster(api, slot("head", "赵站长", HEAD_PHONE))
    inc = await no_caregiver_accepts(api)
    await settle(api, provider)
    await api.advance(10)
    alarm_id = await open_alarm(api, "no_caregiver")
    await api.call("POST", f"/api/v1/alarms/{alarm_id}/ack", "operator", expect=200)
    await settle(api, provider)
    await api.advance(400)
    await settle(api, provider)
    steps = await fired(api, inc["id"])
    assert "neighbour_call:0" in steps and "family_call:1" in steps  # help is still sought
    assert not any(s.startswith("head_alarm") for s in steps)
    assert provider.to(HEAD_PHONE) == []
    chain = await api.call(
        "GET", f"/api/v1/hotline/incidents/{inc['id']}/chain", "operator", expect=200
    )
    assert chain["status"] == "finished"


async def test_without_acknowledgement_the_head_is_called(api: Api, provider: FakeProvider) -> None:
    await roster(api, slot("head", "赵站长", HEAD_PHONE))
    inc = await no_caregiver_accepts(api)
    await api.advance(300)
    await settle(api, provider)
    assert any(s.startswith("head_alarm") for s in await fired(api, inc["id"]))
    assert provider.to(HEAD_PHONE)


async def test_duty_operator_pressing_1_stops_the_head_but_not_the_neighbour(
    api: Api, provider: FakeProvider
) -> None:
    await roster(api, slot("operator", "刘值班", DUTY_PHONE), slot("head", "赵站长", HEAD_PHONE))
    provider.behave("voice", "press:1")
    inc = await no_caregiver_accepts(api)
    await settle(api, provider)
    assert [m.to for m in provider.sent] == [DUTY_PHONE]
    provider.behave("voice", "ok")
    await api.advance(400)
    await settle(api, provider)
    steps = await fired(api, inc["id"])
    assert "neighbour_call:0" in steps  # the duty operator knowing is not someone on the way
    assert provider.to(HEAD_PHONE) == []
    full = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "operator", expect=200)
    assert "operator_acknowledged" in [e["kind"] for e in full["timeline"]]


async def test_shift_change_in_the_middle_of_a_chain_calls_whoever_is_on_duty_then(
    api: Api, provider: FakeProvider
) -> None:
    """The chain starts at 10:00; the head's shift changes at 10:02; the head step is at 10:03:30."""
    await roster(
        api,
        slot("head", "早班站长", HEAD_PHONE, "00:00", "10:02"),
        slot("head", "晚班站长", LATE_HEAD_PHONE, "10:02", "00:00"),
    )
    inc = await no_caregiver_accepts(api)
    await api.advance(300)
    await settle(api, provider)
    assert provider.to(HEAD_PHONE) == []
    assert provider.to(LATE_HEAD_PHONE)
    chain = await api.call(
        "GET", f"/api/v1/hotline/incidents/{inc['id']}/chain", "operator", expect=200
    )
    assert [a["name"] for a in chain["alerts"] if a["person"].startswith("head:")] == ["晚班站长"]


async def overdue_complaint(api: Api) -> None:
    await api.call(
        "POST",
        "/api/v1/hotline/complaints",
        "operator",
        json={"elder_id": api.ids["elder"], "text": "送餐晚了一小时", "deadline_hours": 1},
        expect=201,
    )
    await api.advance(3601)


async def test_overdue_complaint_reaches_the_duty_operator_then_the_head(
    api: Api, provider: FakeProvider
) -> None:
    await roster(api, slot("operator", "刘值班", DUTY_PHONE), slot("head", "赵站长", HEAD_PHONE))
    await overdue_complaint(api)
    await settle(api, provider)
    assert "complaint_overdue" in await alarm_kinds(api, None)
    [call] = provider.to(DUTY_PHONE)
    assert "投诉" in call.body["tts"]
    assert provider.to(HEAD_PHONE) == []
    await api.advance(300)
    await settle(api, provider)
    assert provider.to(HEAD_PHONE)


async def test_duty_operator_acknowledges_an_alarm_by_pressing_1(
    api: Api, provider: FakeProvider
) -> None:
    await roster(api, slot("operator", "刘值班", DUTY_PHONE), slot("head", "赵站长", HEAD_PHONE))
    provider.behave("voice", "press:1")
    await overdue_complaint(api)
    await settle(api, provider)
    async with api.platform.store.read() as conn:
        alarm = (
            await conn.execute(select(alarms).where(alarms.c.kind == "complaint_overdue"))
        ).one()
    assert alarm.acknowledged_at is not None
    await api.advance(300)
    await settle(api, provider)
    assert provider.to(HEAD_PHONE) == []


async def test_call_from_outside_the_circle_reaches_the_duty_operator(
    api: Api, provider: FakeProvider
) -> None:
    await roster(api, slot("operator", "刘值班", DUTY_PHONE))
    lat, lng = near(9000, 0)
    await api.press(
        call_type="service",
        location={"lat": lat, "lng": lng, "coord_system": "gcj02"},
        expect=201,
    )
    await settle(api, provider)
    [call] = provider.to(DUTY_PHONE)
    assert "服务圈" in call.body["tts"]
