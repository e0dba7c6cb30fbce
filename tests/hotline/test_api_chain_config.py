"""The chain as data through the API: overrides checked against what they apply to, steps
given by the station, a chain that always starts, and delays that cannot overflow."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.store.tables import outbox
from tests.conftest import BACKENDS
from tests.hotline.support import alarm_kinds, fired, no_caregiver_accepts, settle
from tests.support.api import Api
from tests.support.hotline_fakes import FakeProvider

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def test_elder_override_is_checked_against_the_station_chain(api: Api) -> None:
    """The audit's repro: the station dropped the neighbour, the elder retimes it."""
    await api.call(
        "PUT",
        "/api/v1/hotline/chain",
        "operator",
        json={"disabled": ["neighbour_call"]},
        expect=200,
    )
    status, body = await api.call(
        "PUT",
        f"/api/v1/hotline/chain/elders/{api.ids['elder']}",
        "operator",
        json={"delays_s": {"neighbour_call": 60}},
    )
    assert status == 422 and body["code"] == "bad_override"
    assert "neighbour_call" in body["title"]


async def test_override_that_no_longer_fits_falls_back_and_the_chain_starts(
    api: Api, provider: FakeProvider
) -> None:
    """The elder's override was valid; then the station dropped the step it retimes. The
    emergency still gets the station's chain, the operator is told, nothing retries forever."""
    elder = api.ids["elder"]
    await api.call(
        "PUT",
        f"/api/v1/hotline/chain/elders/{elder}",
        "operator",
        json={"delays_s": {"neighbour_call": 60}},
        expect=200,
    )
    changed = await api.call(
        "PUT",
        "/api/v1/hotline/chain",
        "operator",
        json={"disabled": ["neighbour_call"]},
        expect=200,
    )
    assert changed["elders_falling_back"] == [elder]
    seen = await api.call("GET", f"/api/v1/hotline/chain/elders/{elder}", "operator", expect=200)
    assert seen["problems"] and "neighbour_call" not in [s["key"] for s in seen["effective"]]

    inc = await no_caregiver_accepts(api)
    await settle(api, provider)
    assert await fired(api, inc["id"]) == ["operator_alarm:0"]  # started, and escalated
    assert "chain_fallback" in await alarm_kinds(api, inc["id"])
    async with api.platform.store.read() as conn:
        stuck = (
            await conn.execute(select(outbox.c.topic).where(outbox.c.published_at.is_(None)))
        ).all()
    assert stuck == []
    await api.advance(600)
    assert not any(f.startswith("neighbour") for f in await fired(api, inc["id"]))


FAST = [
    {"key": "alarm", "kind": "operator_alarm", "delay_s": 30, "channels": ["console"]},
    {
        "key": "daughter",
        "kind": "family_call",
        "delay_s": 45,
        "channels": ["sms", "voice"],
        "target_interval_s": 30,
    },
    {
        "key": "head",
        "kind": "head_alarm",
        "delay_s": 20,
        "anchor": "previous",
        "channels": ["voice"],
    },
]


async def test_station_gives_the_steps_themselves(api: Api, provider: FakeProvider) -> None:
    out = await api.call(
        "PUT", "/api/v1/hotline/chain", "operator", json={"steps": FAST}, expect=200
    )
    assert [s["key"] for s in out["effective"]] == ["alarm", "daughter", "head"]
    inc = await api.press(expect=201)
    iid = inc["id"]
    await api.advance(29)
    assert await fired(api, iid) == []
    await api.advance(1)
    await settle(api, provider)
    assert await fired(api, iid) == ["alarm:0"]
    await api.advance(15)
    await settle(api, provider)
    assert await fired(api, iid) == ["alarm:0", "daughter:0"]
    await api.advance(20)  # head: 20 s after the daughter's step (65 s)
    await settle(api, provider)
    assert (await fired(api, iid))[-1] == "head:0"


@pytest.mark.parametrize(
    ("steps", "why"),
    [
        ([FAST[1]], "operator_alarm"),
        ([FAST[0], FAST[0]], "unique"),
        ([{**FAST[0], "anchor": "previous"}], "first step"),
        (
            [FAST[0], {"key": "a120", "kind": "advise_120", "delay_s": 0, "channels": ["voice"]}],
            "console only",
        ),
        ([FAST[0], {**FAST[1], "channels": ["console"]}], "reaches a person"),
    ],
)
async def test_bad_steps_are_refused(api: Api, steps: list[dict[str, object]], why: str) -> None:
    status, body = await api.call("PUT", "/api/v1/hotline/chain", "operator", json={"steps": steps})
    assert status == 422 and body["code"] == "bad_override" and why in body["title"]


@pytest.mark.parametrize(
    "body",
    [
        {"delays_s": {"operator_alarm": 1e300}},
        {"delays_s": {"operator_alarm": -1}},
        {"steps": [{**FAST[0], "delay_s": 1e300}]},
        {"steps": FAST, "disabled": ["head"]},
    ],
)
async def test_impossible_delays_are_422_not_500(api: Api, body: dict[str, object]) -> None:
    status, problem = await api.call("PUT", "/api/v1/hotline/chain", "operator", json=body)
    assert status == 422, problem


async def test_previous_anchors_cannot_add_up_beyond_a_day(api: Api) -> None:
    steps = [FAST[0]] + [
        {
            "key": f"h{i}",
            "kind": "head_alarm",
            "delay_s": 80_000,
            "anchor": "previous",
            "channels": ["voice"],
        }
        for i in range(3)
    ]
    status, body = await api.call("PUT", "/api/v1/hotline/chain", "operator", json={"steps": steps})
    assert status == 422 and body["code"] == "bad_override"


async def test_upgraded_service_request_starts_the_chain_clock_at_the_upgrade(
    api: Api, provider: FakeProvider
) -> None:
    """A service request, then 30 minutes later an emergency press: the chain counts from the
    press, not from the service request, so its steps keep their normal delays."""
    first = await api.press(call_type="service", expect=201)
    await api.advance(30 * 60)
    joined = await api.press(call_type="emergency", expect=200)
    assert joined["id"] == first["id"]
    await settle(api, provider)
    iid = first["id"]
    assert await fired(api, iid) == []
    await api.advance(89)
    assert await fired(api, iid) == []
    await api.advance(1)
    await settle(api, provider)
    assert await fired(api, iid) == ["operator_alarm:0"]
    await api.advance(90)
    await settle(api, provider)
    assert await fired(api, iid) == ["operator_alarm:0", "neighbour_call:0", "family_call:0"]
