"""The escalation chain through the real app, with the fake SMS/voice provider and a moved clock."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from hotline.channels import OutboundMessage, SendResult
from schemas.hotline import Channel
from server.app import create_app
from server.clock import FakeClock
from server.hotline.adapters import channels, use_channels
from server.hotline.flows.delivery import drain
from server.hotline.tables import alert_attempts, alerts, chain_events, escalation_chains
from server.jobs import fire_due_timers, relay_once
from server.keys import PLATFORM
from server.platform import Platform
from server.settings import Settings
from server.store.tables import audit_log
from tests.conftest import BACKENDS
from tests.hotline.support import (
    alarm_kinds,
    chain_log,
    fired,
    no_caregiver_accepts,
    pushes,
    settle,
)
from tests.support.api import Api
from tests.support.hotline_fakes import FakeProvider

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def test_every_step_fires_on_time(api: Api, provider: FakeProvider) -> None:
    inc = await api.press(expect=201)
    iid = inc["id"]
    await settle(api, provider)
    assert await fired(api, iid) == []
    await api.advance(89)
    assert await fired(api, iid) == []
    await api.advance(1)
    await settle(api, provider)
    assert await fired(api, iid) == ["operator_alarm:0"]
    assert await alarm_kinds(api, iid) == ["not_accepted"]  # one alarm, not two
    await api.advance(90)
    await settle(api, provider)
    assert await fired(api, iid) == ["operator_alarm:0", "neighbour_call:0", "family_call:0"]
    assert [m.to for m in provider.sent] == ["13722223333", "13911112222"]  # voice to both
    await api.advance(60)
    await settle(api, provider)
    assert (await fired(api, iid))[-1] == "family_call:1"  # the bound daughter's app
    [alert] = await pushes(api, "family", "escalation.alert")
    assert alert["incident_id"] == iid
    await api.advance(60)
    await settle(api, provider)
    assert (await fired(api, iid))[-1] == "head_alarm:0"
    assert "escalation_head" in await alarm_kinds(api, iid)


async def test_caregiver_acceptance_stops_the_chain(api: Api, provider: FakeProvider) -> None:
    inc = await api.press(expect=201)
    await api.pump()
    offers = await api.call("GET", "/api/v1/offers", "cg_a", expect=200)
    await api.call("POST", f"/api/v1/offers/{offers[0]['id']}/accept", "cg_a", expect=200)
    await api.pump()
    await api.advance(600)
    assert await fired(api, inc["id"]) == []
    chain = await api.call(
        "GET", f"/api/v1/hotline/incidents/{inc['id']}/chain", "operator", expect=200
    )
    assert chain["status"] == "paused" and chain["next_at"] is None


async def test_neighbour_presses_1_then_withdraws(api: Api, provider: FakeProvider) -> None:
    inc = await no_caregiver_accepts(api)
    iid = inc["id"]
    provider.behave("voice", "press:1")
    await api.advance(90)
    await settle(api, provider)
    log = await chain_log(api, iid)
    assert ("ack", None, "neighbour:0") in log
    chain = await api.call("GET", f"/api/v1/hotline/incidents/{iid}/chain", "operator", expect=200)
    assert chain["status"] == "paused"
    await api.advance(600)
    assert "family_call:1" not in await fired(api, iid)
    for person in sorted({p for k, _, p in log if k == "ack" and p is not None}):
        await api.call(
            "POST",
            f"/api/v1/hotline/incidents/{iid}/responsibility",
            "operator",
            json={"action": "withdraw", "person": person},
            expect=200,
        )
    await settle(api, provider)
    assert (await fired(api, iid))[-1] == "family_call:1"  # at once, not after the old delay


async def test_family_taps_on_my_way_and_then_cannot(api: Api, provider: FakeProvider) -> None:
    inc = await no_caregiver_accepts(api)
    iid = inc["id"]
    provider.behave("voice", "silent")
    await api.call(
        "POST",
        f"/api/v1/hotline/incidents/{iid}/responsibility",
        "family",
        json={"action": "accept"},
        expect=200,
    )
    await api.advance(400)
    assert await fired(api, iid) == ["operator_alarm:0"]  # fired at once, before the tap
    await api.call(
        "POST",
        f"/api/v1/hotline/incidents/{iid}/responsibility",
        "family",
        json={"action": "withdraw"},
        expect=200,
    )
    await settle(api, provider)
    assert await fired(api, iid) == ["operator_alarm:0", "neighbour_call:0", "family_call:0"]


async def test_other_family_cannot_take_responsibility(api: Api, provider: FakeProvider) -> None:
    inc = await no_caregiver_accepts(api)
    await api.call(
        "POST",
        f"/api/v1/hotline/incidents/{inc['id']}/responsibility",
        "family2",
        json={"action": "accept"},
        expect=404,
    )


async def test_failing_sms_falls_back_and_the_chain_keeps_time(
    api: Api, provider: FakeProvider
) -> None:
    """Voice says "sent" but never confirms, SMS is down: the alert ends unreachable, the chain goes on."""
    inc = await no_caregiver_accepts(api)
    iid = inc["id"]
    provider.behave("voice", "silent")
    provider.behave("sms", "fail")
    await api.advance(90)
    await settle(api, provider)
    await api.advance(60)  # family_call:1 is due at 150 s whatever the channels do
    await settle(api, provider)
    assert "family_call:1" in await fired(api, iid)
    await api.advance(90)  # the voice receipt timeout passes: fall back to SMS, which fails twice
    await settle(api, provider)
    async with api.platform.store.read() as conn:
        neighbour = (
            await conn.execute(select(alerts).where(alerts.c.person == "neighbour:0"))
        ).one()
        tries = (
            await conn.execute(
                select(alert_attempts.c.channel, alert_attempts.c.error)
                .where(alert_attempts.c.alert_id == neighbour.id)
                .order_by(alert_attempts.c.number)
            )
        ).all()
    assert [t.channel for t in tries] == ["voice", "sms", "sms"]
    assert tries[0].error is None and tries[1].error is not None
    assert neighbour.status == "exhausted"
    assert "unreachable:neighbour:0" in await alarm_kinds(api, iid)


async def test_delivered_receipt_proves_the_alert(api: Api, provider: FakeProvider) -> None:
    inc = await no_caregiver_accepts(api)
    await api.advance(90)
    await settle(api, provider)
    chain = await api.call(
        "GET", f"/api/v1/hotline/incidents/{inc['id']}/chain", "operator", expect=200
    )
    statuses = {a["person"]: a["status"] for a in chain["alerts"]}
    assert statuses == {"neighbour:0": "delivered", "family:0": "delivered"}


async def test_no_caregiver_in_time_escalates_at_once(api: Api, provider: FakeProvider) -> None:
    inc = await no_caregiver_accepts(api)
    await settle(api, provider)
    assert "operator_alarm:0" in await fired(api, inc["id"])


async def test_resolution_closes_the_chain(api: Api, provider: FakeProvider) -> None:
    inc = await no_caregiver_accepts(api)
    await api.call(
        "POST",
        f"/api/v1/incidents/{inc['id']}/close",
        "operator",
        json={"resolution": "false_alarm", "notes": "回电确认误按"},
        expect=200,
    )
    await api.pump()
    await api.advance(3600)
    assert await fired(api, inc["id"]) == ["operator_alarm:0"]  # only what fired before closing
    assert (await chain_log(api, inc["id"]))[-1][0] == "closed"


async def test_medical_call_advises_120_at_once_and_care_record_is_logged(
    api: Api, provider: FakeProvider
) -> None:
    from tests.hotline.support import cti, send_cti

    await send_cti(api, cti("e1", "ringing", "c-1"))
    made = await api.call(
        "POST",
        "/api/v1/hotline/calls/c-1/incident",
        "operator",
        json={"elder_id": api.ids["elder"], "call_type": "emergency", "medical": True},
        expect=201,
    )
    iid = made["incident_id"]
    await api.pump()
    assert "advise_120" in await alarm_kinds(api, iid)
    record = await api.call(
        "POST",
        f"/api/v1/hotline/incidents/{iid}/care-record",
        "operator",
        json={"recipient": "120"},
        expect=200,
    )
    assert record["text"].startswith("地址：北京市朝阳区红庙北里3号楼2单元401")
    assert "王秀英" in record["text"] and "王小红（女儿）13911112222" in record["text"]
    async with api.platform.store.read() as conn:
        [entry] = (
            await conn.execute(select(audit_log).where(audit_log.c.action == "disclose_120"))
        ).all()
    assert entry.actor_user_id == api.ids["operator"] and entry.detail["recipient"] == "120"
    await api.call(
        "POST",
        f"/api/v1/hotline/incidents/{iid}/care-record",
        "operator2",
        json={"recipient": "120"},
        expect=404,
    )
    await api.call(
        "POST",
        f"/api/v1/hotline/incidents/{iid}/called-120",
        "operator",
        json={"note": "120已派车"},
        expect=200,
    )


async def restarted(settings: Settings, clock: FakeClock, aiohttp_client: Any) -> Platform:
    app = create_app(settings, clock=clock, run_background=False, create_schema=False)
    client = await aiohttp_client(app)
    platform: Platform = client.app[PLATFORM]
    return platform


async def pump(platform: Platform) -> None:
    for _ in range(20):
        if not await relay_once(platform) + await fire_due_timers(platform):
            return


async def test_restart_in_the_middle_continues_where_it_was(
    api: Api, provider: FakeProvider, settings: Settings, aiohttp_client: Any
) -> None:
    """The first process handles 0–60 s; a new process on the same store takes it from there."""
    inc = await no_caregiver_accepts(api)
    iid = inc["id"]
    await api.advance(60)
    await settle(api, provider)
    assert await fired(api, iid) == ["operator_alarm:0"]
    clock = FakeClock(api.clock.now())
    second = await restarted(settings, clock, aiohttp_client)
    use_channels(second, channels(api.platform))
    clock.advance(40)  # 100 s after the press
    await pump(second)
    await drain(second)
    await provider.settle()
    await pump(second)
    async with second.store.read() as conn:
        cid = (
            await conn.execute(
                select(escalation_chains.c.id).where(escalation_chains.c.incident_id == iid)
            )
        ).scalar_one()
        steps = (
            (
                await conn.execute(
                    select(chain_events.c.firing)
                    .where(chain_events.c.chain_id == cid, chain_events.c.kind == "fired")
                    .order_by(chain_events.c.id)
                )
            )
            .scalars()
            .all()
        )
    assert steps == ["operator_alarm:0", "neighbour_call:0", "family_call:0"]
    await pump(api.platform)  # the first process waking up again fires nothing twice
    assert await fired(api, iid) == steps


async def test_elder_override_changes_the_timing(api: Api, provider: FakeProvider) -> None:
    """The daughter lives downstairs: call her at 60 s, skip the neighbour."""
    await api.call(
        "PUT",
        f"/api/v1/hotline/chain/elders/{api.ids['elder']}",
        "operator",
        json={"delays_s": {"family_call": 60}, "disabled": ["neighbour_call"]},
        expect=200,
    )
    inc = await no_caregiver_accepts(api)
    await api.advance(60)
    await settle(api, provider)
    assert (await fired(api, inc["id"]))[0] == "family_call:0"
    await api.advance(600)
    assert not any(f.startswith("neighbour") for f in await fired(api, inc["id"]))


async def test_bad_override_is_refused(api: Api) -> None:
    status, body = await api.call(
        "PUT", "/api/v1/hotline/chain", "operator", json={"disabled": ["drone_call"]}
    )
    assert status == 422 and body["code"] == "bad_override"


ROSTER = {
    "slots": [
        {
            "role": "operator",
            "name": "刘值班",
            "phone": "13600000001",
            "weekdays": [0, 1, 2, 3, 4, 5, 6],
            "start": "00:00",
            "end": "00:00",
        },
        {
            "role": "head",
            "name": "赵站长",
            "phone": "13600000003",
            "weekdays": [0, 1, 2, 3, 4, 5, 6],
            "start": "00:00",
            "end": "00:00",
        },
        {
            "role": "operator",
            "name": "周末班",
            "phone": "13600000004",
            "weekdays": [5, 6],
            "start": "09:00",
            "end": "17:00",
        },
    ]
}


async def test_roster_says_who_is_on_duty(api: Api) -> None:
    got = await api.call("PUT", "/api/v1/hotline/roster", "operator", json=ROSTER, expect=200)
    assert [(s["name"], s["on_duty_now"]) for s in got["slots"]] == [
        ("刘值班", True),
        ("赵站长", True),
        ("周末班", False),
    ]  # Monday 10:00 in Shanghai
    assert (await api.call("GET", "/api/v1/hotline/roster", "operator2", expect=200))["slots"] == []
    status, _ = await api.call(
        "PUT",
        "/api/v1/hotline/roster",
        "operator",
        json={"slots": [{**ROSTER["slots"][0], "phone": "12345"}]},
    )
    assert status == 422


async def test_operator_on_duty_and_head_are_called(api: Api, provider: FakeProvider) -> None:
    await api.call("PUT", "/api/v1/hotline/roster", "operator", json=ROSTER, expect=200)
    inc = await no_caregiver_accepts(api)
    await settle(api, provider)
    assert [m.to for m in provider.sent] == ["13600000001"]  # the console alarm, and a call
    assert "请按1" in provider.sent[0].body["tts"]
    await api.advance(210)
    await settle(api, provider)
    assert "13600000003" in [m.to for m in provider.sent]
    assert (await fired(api, inc["id"]))[-1].startswith("head_alarm")


async def test_neighbour_declines_by_pressing_2(api: Api, provider: FakeProvider) -> None:
    inc = await no_caregiver_accepts(api)
    provider.behave("voice", "press:2")
    await api.advance(90)
    await settle(api, provider)
    full = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "operator", expect=200)
    assert "responsibility_declined" in [e["kind"] for e in full["timeline"]]
    chain = await api.call(
        "GET", f"/api/v1/hotline/incidents/{inc['id']}/chain", "operator", expect=200
    )
    assert chain["status"] == "running"


async def test_sms_link_accepts_and_forged_link_is_404(api: Api, provider: FakeProvider) -> None:
    from server.hotline.flows.delivery import respond_token

    inc = await no_caregiver_accepts(api)
    provider.behave("voice", "no_answer")
    await api.advance(90)
    await settle(api, provider)
    async with api.platform.store.read() as conn:
        alert_id = (
            await conn.execute(select(alerts.c.id).where(alerts.c.person == "neighbour:0"))
        ).scalar_one()
    sms = [m for m in provider.sent if m.channel == "sms" and m.to == "13722223333"]
    token = respond_token(api.platform, alert_id)
    assert sms and token in sms[0].body["text"]
    await api.call(
        "POST", f"/api/v1/hotline/respond/{alert_id}.forged", json={"answer": "accept"}, expect=404
    )
    await api.call(
        "POST", f"/api/v1/hotline/respond/{token}", json={"answer": "accept"}, expect=200
    )
    chain = await api.call(
        "GET", f"/api/v1/hotline/incidents/{inc['id']}/chain", "operator", expect=200
    )
    assert chain["status"] == "paused"


async def test_withdrawal_after_the_last_step_alarms_the_operator(
    api: Api, provider: FakeProvider
) -> None:
    inc = await no_caregiver_accepts(api)
    await api.advance(300)
    await settle(api, provider)
    path = f"/api/v1/hotline/incidents/{inc['id']}/responsibility"
    await api.call("POST", path, "family", json={"action": "accept"}, expect=200)
    await api.call("POST", path, "family", json={"action": "withdraw"}, expect=200)
    assert "escalation_exhausted" in await alarm_kinds(api, inc["id"])


async def test_withdraw_without_accepting_is_409(api: Api, provider: FakeProvider) -> None:
    inc = await no_caregiver_accepts(api)
    status, body = await api.call(
        "POST",
        f"/api/v1/hotline/incidents/{inc['id']}/responsibility",
        "family",
        json={"action": "withdraw"},
    )
    assert status == 409 and body["code"] == "chain_not_changed"


async def test_operator_can_take_responsibility_and_other_station_cannot_see(
    api: Api, provider: FakeProvider
) -> None:
    inc = await no_caregiver_accepts(api)
    path = f"/api/v1/hotline/incidents/{inc['id']}"
    await api.call("GET", f"{path}/chain", "operator2", expect=404)
    await api.call(
        "POST",
        f"{path}/responsibility",
        "operator2",
        json={"action": "accept", "person": "operator:9"},
        expect=404,
    )
    await api.call(
        "POST",
        f"{path}/responsibility",
        "operator",
        json={"action": "accept", "person": f"operator:{api.ids['operator']}"},
        expect=200,
    )
    await api.advance(600)
    assert await fired(api, inc["id"]) == ["operator_alarm:0"]
    status, body = await api.call(
        "POST", f"{path}/responsibility", "operator", json={"action": "accept"}
    )
    assert status == 422 and body["code"] == "person_required"


async def test_only_the_recipient_confirms_an_app_alert(api: Api, provider: FakeProvider) -> None:
    """The daughter's app push is proven only by the daughter's app: an operator tapping
    "seen" is refused and does not count as her receipt."""
    await no_caregiver_accepts(api)
    await api.advance(150)
    await settle(api, provider)
    [pushed] = await pushes(api, "family", "escalation.alert")
    path = f"/api/v1/hotline/alerts/{pushed['alert_id']}/seen"

    async def status() -> str:
        async with api.platform.store.read() as conn:
            return str(
                (
                    await conn.execute(
                        select(alerts.c.status).where(alerts.c.id == pushed["alert_id"])
                    )
                ).scalar_one()
            )

    status_code, body = await api.call("POST", path, "operator")
    assert (status_code, body["code"]) == (403, "not_recipient")
    await api.call("POST", path, "operator2", expect=404)
    await api.call("POST", path, "family2", expect=404)
    await settle(api, provider)
    assert await status() == "sending"
    assert (await api.call("POST", path, "family", expect=200))["seen"] is True
    await settle(api, provider)
    assert await status() == "delivered"


class StuckVoice:
    """A voice provider that takes calls and never answers until released."""

    channel = Channel.VOICE

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls: list[str] = []

    async def send(self, message: OutboundMessage) -> SendResult:
        self.calls.append(message.to)
        await self.release.wait()
        return SendResult(Channel.VOICE, f"voice-{len(self.calls)}")


class QuickSms:
    channel = Channel.SMS

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message.to)
        return SendResult(Channel.SMS, f"sms-{len(self.sent)}")


async def test_a_stuck_provider_does_not_hold_up_the_alerts_behind_it(api: Api) -> None:
    """The neighbour's voice call hangs at the provider; the daughter's SMS, fired in the
    same second, goes out anyway instead of waiting behind it."""
    voice, sms = StuckVoice(), QuickSms()
    use_channels(api.platform, {Channel.VOICE: voice, Channel.SMS: sms})
    await no_caregiver_accepts(api)
    # Before, the relay waited on the hanging call and this never returned.
    await asyncio.wait_for(api.advance(90), timeout=60)
    for _ in range(500):
        if sms.sent:
            break
        await asyncio.sleep(0.01)
    assert voice.calls == ["13722223333"] and sms.sent == ["13911112222"]
    voice.release.set()
    await drain(api.platform)
    async with api.platform.store.read() as conn:
        send_ids = (
            (await conn.execute(select(alert_attempts.c.send_id).order_by(alert_attempts.c.id)))
            .scalars()
            .all()
        )
    assert sorted(send_ids) == ["sms-1", "voice-1"]
