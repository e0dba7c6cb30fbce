"""A road-time service is never asked while a transaction holds the store's locks.

The travel model here blocks inside its call until the test lets it go. While it is blocked,
a second writer must get through to the very rows the step works on: so the step computed
its travel time before opening its transaction (and off the event loop). Nothing is timed.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import select, update

from dispatch.osrm import OsrmTravel
from server.incidents.flows.snapshot import TRAVEL_KEY
from server.incidents.tables import incidents, offers
from server.registry.tables import caregivers
from tests.conftest import BACKENDS
from tests.support.api import Api, near

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

ROAD_S = 240  # what the road service says, for every trip
DOOR_S = 120  # the fixed overhead every trip gets on top (parking, stairs, the door)


class HeldRoads:
    """An OSRM-shaped travel model whose requests wait at a gate (open unless closed)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.gave_up = False  # the gate stayed shut for its whole bound: someone was stuck
        self.model = OsrmTravel("http://roads.test", self._fetch)

    def _fetch(self, url: str) -> Any:
        self.entered.set()
        # A bound, not a measure: a step that blocks the writer fails here instead of hanging.
        self.gave_up = self.gave_up or not self.gate.wait(timeout=30)
        sources = len(url.split("sources=")[1].split("&")[0].split(";"))
        return {"code": "Ok", "durations": [[float(ROAD_S)] for _ in range(sources)]}

    def hold(self) -> None:
        self.entered.clear()
        self.gate.clear()


@pytest.fixture
async def roads(api: Api) -> HeldRoads:
    held = HeldRoads()
    api.platform.put(TRAVEL_KEY, held.model)
    return held


async def _write_while_held(api: Api, roads: HeldRoads, step: asyncio.Task[Any], iid: int) -> None:
    """Once the step is inside the travel model, another writer updates the incident and the
    caregivers; it must finish while the step is still waiting for its road times."""
    await asyncio.to_thread(roads.entered.wait, 30)
    async with api.platform.tx() as tx:
        await tx.conn.execute(update(incidents).where(incidents.c.id == iid).values(notes="x"))
        await tx.conn.execute(update(caregivers).values(on_duty=True))
    assert not step.done()  # the step still waits on the road service, holding nothing
    roads.gate.set()
    await step
    assert not roads.gave_up  # the writer got through while the road service was held


async def test_a_manual_assignment_asks_for_travel_before_its_transaction(
    api: Api, roads: HeldRoads
) -> None:
    iid = (await api.press(expect=201))["id"]
    await api.pump()
    roads.hold()
    step = asyncio.create_task(
        api.call(
            "POST",
            f"/api/v1/incidents/{iid}/assign",
            "operator",
            json={"caregiver_id": api.ids["cg_b"], "reason": "熟悉老人"},
            expect=201,
        )
    )
    await _write_while_held(api, roads, step, iid)
    answer = step.result()
    async with api.platform.store.read() as conn:
        offer = (await conn.execute(select(offers).where(offers.c.id == answer["offer_id"]))).one()
    assert (offer.caregiver_id, offer.eta_s) == (api.ids["cg_b"], ROAD_S + DOOR_S)


async def test_a_location_update_asks_for_travel_before_its_transaction(
    api: Api, roads: HeldRoads
) -> None:
    iid = (await api.press(expect=201))["id"]
    await api.pump()
    [offer] = await api.call("GET", "/api/v1/offers", "cg_a", expect=200)
    await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200)
    roads.hold()
    lat, lng = near(150, 100)
    step = asyncio.create_task(
        api.call(
            "POST",
            "/api/v1/caregivers/me/location",
            "cg_a",
            json={"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}},
            expect=200,
        )
    )
    await _write_while_held(api, roads, step, iid)
    seen = await api.call("GET", f"/api/v1/incidents/{iid}", "family", expect=200)
    assert seen["eta_minutes"] == (ROAD_S + DOOR_S) // 60
