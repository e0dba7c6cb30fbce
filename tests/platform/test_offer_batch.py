"""A medical emergency where the roads are long: runners-up who could not wait one offer
timeout for the first choice's answer are offered the call at the same time; the first to
accept goes, and the call is offered again only when every offer of the batch has lapsed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from server.registry.tables import caregivers
from server.store.tables import push_messages
from tests.conftest import BACKENDS
from tests.platform.test_help_call import offers_for, the_only_one_on_duty_says_no
from tests.support.api import Api, near

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def put(api: Api, who: str, metres_north_of_elder: float) -> None:
    """Move a caregiver this far north (or south) of the elder (who lives at near(100, 100))."""
    lat, lng = near(100 + metres_north_of_elder, 100)
    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(caregivers).where(caregivers.c.id == api.ids[who]).values(lat=lat, lng=lng)
        )


async def far_apart(api: Api) -> dict[str, Any]:
    """A 3.0 km out by e-bike (about 17.5 min: a minute of slack to spare), B 3.3 km (about
    19 min: under the promise now, over it after a 60 s wait for A's answer)."""
    await put(api, "cg_a", 3000)
    await put(api, "cg_b", -3300)
    inc: dict[str, Any] = await api.press(expect=201)
    await api.pump()
    return inc


async def test_thin_margin_offers_the_runner_up_at_once_first_accept_goes(api: Api) -> None:
    inc = await far_apart(api)
    [offer_a] = await offers_for(api, "cg_a")
    [offer_b] = await offers_for(api, "cg_b")
    assert offer_a["incident_id"] == offer_b["incident_id"] == inc["id"]
    await api.call("POST", f"/api/v1/offers/{offer_b['id']}/accept", "cg_b", expect=200)
    # A's offer is withdrawn: she cannot take the call B has taken
    assert await offers_for(api, "cg_a") == []
    status, body = await api.call("POST", f"/api/v1/offers/{offer_a['id']}/accept", "cg_a")
    assert status == 409 and body["code"] == "offer_gone"
    full = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "operator", expect=200)
    assert full["status"] == "accepted" and full["caregiver_name"] == "刘洋"
    kinds = [e["kind"] for e in full["timeline"]]
    assert kinds == ["opened", "offered", "offered", "accepted"]


async def test_one_no_in_a_batch_keeps_the_call_offered_until_all_have_lapsed(api: Api) -> None:
    inc = await far_apart(api)
    [offer_a] = await offers_for(api, "cg_a")
    await api.call(
        "POST",
        f"/api/v1/offers/{offer_a['id']}/decline",
        "cg_a",
        json={"reason": "在忙"},
        expect=200,
    )
    await api.pump()
    # B's offer still stands, and nobody else is asked meanwhile
    [offer_b] = await offers_for(api, "cg_b")
    seen = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "operator", expect=200)
    assert seen["status"] == "offered"
    await api.advance(61)  # B lets it lapse: now the call opens and is dispatched again
    assert await offers_for(api, "cg_b") == []
    full = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "operator", expect=200)
    kinds = [e["kind"] for e in full["timeline"]]
    assert kinds[:4] == ["opened", "offered", "offered", "offer_declined"]
    assert "offer_expired" in kinds[4:]
    alarms = await api.call("GET", "/api/v1/alarms", "operator", expect=200)
    assert any(a["kind"] == "no_caregiver" and a["incident_id"] == inc["id"] for a in alarms)
    status, _ = await api.call("POST", f"/api/v1/offers/{offer_b['id']}/accept", "cg_b")
    assert status == 409


async def test_with_slack_to_spare_one_offer_at_a_time(api: Api) -> None:
    """B at 2.5 km (about 15 min) can still be asked after A's offer lapses: only A is asked."""
    await put(api, "cg_a", 1000)
    await put(api, "cg_b", -2500)
    await api.press(expect=201)
    await api.pump()
    assert len(await offers_for(api, "cg_a")) == 1
    assert await offers_for(api, "cg_b") == []


async def test_a_sole_caregiver_who_let_it_ring_out_is_rung_again_soon(api: Api) -> None:
    """Nobody else on duty: A lets the offer lapse (asleep on night call, phone in a pocket).
    She is rung again after 90 s, not after the five minutes a caregiver who said no gets."""
    await api.set_duty("cg_b", False)
    inc = await api.press(expect=201)
    await api.pump()
    assert len(await offers_for(api, "cg_a")) == 1
    await api.advance(61)  # rings out: nobody to ask, the operator is alarmed
    assert await offers_for(api, "cg_a") == []
    alarms = await api.call("GET", "/api/v1/alarms", "operator", expect=200)
    assert any(a["kind"] == "no_caregiver" and a["incident_id"] == inc["id"] for a in alarms)
    for _ in range(3):  # the dispatcher retries every 30 s
        await api.advance(31)
    assert len(await offers_for(api, "cg_a")) == 1


async def test_with_someone_else_to_ask_the_one_who_let_it_ring_out_waits(api: Api) -> None:
    """A lets the offer lapse and B (declining) is the only other: after B's no, A is not
    rung again at once, only once her 90 s have passed."""
    inc = await api.press(expect=201)
    await api.pump()
    await api.advance(61)  # A rings out; B is asked
    [offer_b] = await offers_for(api, "cg_b")
    await api.call("POST", f"/api/v1/offers/{offer_b['id']}/decline", "cg_b", json={}, expect=200)
    await api.pump()
    assert await offers_for(api, "cg_a") == []
    for _ in range(3):
        await api.advance(31)
    assert len(await offers_for(api, "cg_a")) == 1
    assert await offers_for(api, "cg_b") == []  # one offer at a time with slack to spare
    assert inc["id"] > 0


async def test_a_first_choice_who_rang_out_is_rung_again_beside_a_late_runner_up(
    api: Api,
) -> None:
    """A (2 km, about 12 min) lets the offer ring out; B (3.8 km) is over the promise. A is
    rung again at once, her offer saying nobody else can be there in time, and B is asked
    beside her: the first to accept goes."""
    await put(api, "cg_a", 2000)
    await put(api, "cg_b", -3800)
    inc = await api.press(expect=201)
    await api.pump()
    assert len(await offers_for(api, "cg_a")) == 1
    assert await offers_for(api, "cg_b") == []
    await api.advance(61)  # A's offer rings out
    [again] = await offers_for(api, "cg_a")
    [offer_b] = await offers_for(api, "cg_b")
    assert again["nobody_else"] is True and offer_b["nobody_else"] is False
    # ...and so do the offers pushed to their phones, which the card shows at once
    pushed = await offered_pushes(api)
    assert pushed[again["id"]] is True and pushed[offer_b["id"]] is False
    await api.call("POST", f"/api/v1/offers/{again['id']}/accept", "cg_a", expect=200)
    assert await offers_for(api, "cg_b") == []  # withdrawn
    full = await api.call("GET", f"/api/v1/incidents/{inc['id']}", "operator", expect=200)
    assert full["status"] == "accepted" and full["caregiver_name"] == "王芳"
    kinds = [e["kind"] for e in full["timeline"]]
    assert kinds == ["opened", "offered", "offer_expired", "offered", "offered", "accepted"]
    asked_again = full["timeline"][3]
    assert asked_again["data"]["reason"].endswith("无其他人能及时赶到")


async def test_a_decliner_is_asked_again_after_90_s_beside_a_late_runner_up(api: Api) -> None:
    """A (2 km) says no; nobody else is on duty, then B (3.8 km, over the promise) comes on.
    Ninety seconds after her no, A is asked again beside B instead of waiting five minutes
    while only B, who cannot make it, is asked."""
    await put(api, "cg_a", 2000)
    await put(api, "cg_b", -3800)
    await the_only_one_on_duty_says_no(api)
    await api.advance(31)  # the dispatcher retries every 30 s; nobody to ask yet
    await api.advance(31)
    assert await offers_for(api, "cg_a") == []
    await api.set_duty("cg_b", True)
    await api.advance(31)
    [again] = await offers_for(api, "cg_a")
    [offer_b] = await offers_for(api, "cg_b")
    assert again["nobody_else"] is True and offer_b["nobody_else"] is False


async def offered_pushes(api: Api) -> dict[int, bool]:
    """Each task.offered push stored for the phones: offer id -> its nobody_else."""
    async with api.platform.store.read() as conn:
        rows = (await conn.execute(select(push_messages))).all()
    return {
        int(r.payload["offer_id"]): r.payload.get("nobody_else", False)
        for r in rows
        if r.type == "task.offered"
    }
