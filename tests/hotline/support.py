"""Helpers for the hotline API tests: signed requests, pushes read from the store, the fake provider."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update

from hotline.cti import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from server.hotline.flows.delivery import drain
from server.hotline.tables import chain_events, escalation_chains
from server.incidents.tables import alarms
from server.registry.tables import stations
from server.store.tables import push_messages
from tests.support.api import Api
from tests.support.hotline_fakes import FakeProvider

STATION_PHONE = "01065001234"


def signed_headers(
    api: Api, body: bytes, *, secret: str | None = None, skew: float = 0
) -> dict[str, str]:
    ts = str(int(api.clock.now().timestamp() + skew))
    key = (secret or api.platform.settings.cti_secret).encode()
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: ts,
        SIGNATURE_HEADER: sign(key, ts, body),
    }


async def post_signed(api: Api, path: str, payload: dict[str, Any], **kw: Any) -> tuple[int, Any]:
    body = json.dumps(payload).encode()
    r = await api.client.post(path, data=body, headers=signed_headers(api, body, **kw))
    return r.status, await r.json(content_type=None)


async def device(api: Api, device_id: str = "BTN-0001") -> None:
    """Register a one-button device to the test's elder (as the station's operator)."""
    await api.call(
        "POST",
        "/api/v1/hotline/devices",
        "operator",
        json={"device_id": device_id, "elder_id": api.ids["elder"]},
        expect=201,
    )


def cti(
    event_id: str,
    kind: str,
    call_id: str,
    *,
    caller: str = "13500000001",
    at: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": kind,
        "call_id": call_id,
        "caller": caller,
        "called": STATION_PHONE,
        "at": at or "2026-11-23T02:00:00Z",
        **extra,
    }


async def send_cti(api: Api, payload: dict[str, Any], **kw: Any) -> tuple[int, Any]:
    return await post_signed(api, "/api/v1/hotline/cti/events", payload, **kw)


async def set_station_phone(api: Api) -> None:
    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(stations).where(stations.c.id == api.ids["station"]).values(phone=STATION_PHONE)
        )


async def pushes(api: Api, who: str, type_: str) -> list[dict[str, Any]]:
    async with api.platform.store.read() as conn:
        rows = (
            (
                await conn.execute(
                    select(push_messages.c.payload)
                    .where(
                        push_messages.c.recipient == f"user:{api.ids[who]}",
                        push_messages.c.type == type_,
                    )
                    .order_by(push_messages.c.seq)
                )
            )
            .scalars()
            .all()
        )
    return [dict(r) for r in rows]


async def settle(api: Api, fake: FakeProvider) -> None:
    """Let sends happen, receipts arrive, and their consequences run."""
    for _ in range(4):
        await api.pump()
        await drain(api.platform)
        await fake.settle()
    await api.pump()


async def chain_log(api: Api, incident_id: int) -> list[tuple[str, str | None, str | None]]:
    async with api.platform.store.read() as conn:
        cid = (
            await conn.execute(
                select(escalation_chains.c.id).where(escalation_chains.c.incident_id == incident_id)
            )
        ).scalar_one()
        rows = (
            await conn.execute(
                select(chain_events)
                .where(chain_events.c.chain_id == cid)
                .order_by(chain_events.c.id)
            )
        ).all()
    return [(r.kind, r.firing, r.person) for r in rows]


async def fired(api: Api, incident_id: int) -> list[str]:
    return [f for k, f, _ in await chain_log(api, incident_id) if k == "fired" and f]


async def alarm_kinds(api: Api, incident_id: int | None) -> list[str]:
    async with api.platform.store.read() as conn:
        return list(
            (
                await conn.execute(
                    select(alarms.c.kind)
                    .where(
                        alarms.c.incident_id == incident_id
                        if incident_id is not None
                        else alarms.c.incident_id.is_(None)
                    )
                    .order_by(alarms.c.id)
                )
            )
            .scalars()
            .all()
        )


async def no_caregiver_accepts(api: Api) -> dict[str, Any]:
    """A press with no caregiver on duty: the chain skips the wait (operator alarm at once),
    then neighbour and family:0 at 90 s, family:1 at 150 s, the head at 210 s."""
    await api.set_duty("cg_a", False)
    await api.set_duty("cg_b", False)
    inc = await api.press(expect=201)
    await api.pump()
    return dict(inc)


async def chain_volunteer(api: Api, phone: str) -> dict[str, Any]:
    """A volunteer with a watch agreement, linked to the test's elder's chain."""
    v: dict[str, Any] = await api.call(
        "POST",
        f"/api/v1/stations/{api.ids['station']}/volunteers",
        "operator",
        json={"name": "陈志远", "phone": phone, "agreement_no": "KH09"},
        expect=201,
    )
    link = f"/api/v1/elders/{api.ids['elder']}/chain-volunteers"
    await api.call("POST", link, "operator", json={"volunteer_id": v["id"]}, expect=201)
    return v
