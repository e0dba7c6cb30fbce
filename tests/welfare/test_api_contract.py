"""The welfare answers are what the OpenAPI document says they are: each handler declares the
schema it answers with, and a real answer of each validates against it."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator

from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.test_api_welfare import DISTRICT, assign, book, done, setup
from tests.welfare.test_officers import officers

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


class Contract:
    """Calls that check their answer against the document."""

    def __init__(self, api: Api, doc: dict[str, Any]) -> None:
        self.api, self.doc, self.checked = api, doc, 0

    async def call(
        self, method: str, path: str, url: str, who: str, expect: int = 200, **kw: Any
    ) -> Any:
        answer = await self.api.call(method, url, who, expect=expect, **kw)
        op = self.doc["paths"][path][method.lower()]
        schema = op["responses"][str(expect)]["content"]["application/json"]["schema"]
        OAS31Validator({**schema, "components": self.doc["components"]}).validate(answer)
        self.checked += 1
        return answer


async def test_welfare_answers_match_their_documented_schemas(api: Api) -> None:
    await setup(api)
    await officers(api)
    doc = await api.call("GET", "/api/openapi.json", None, expect=200)
    c = Contract(api, doc)
    eid, sid = api.ids["elder"], api.ids["station"]
    elder = "/api/v1/elders/{elder_id}"
    await c.call("GET", "/api/v1/welfare/rulesets", "/api/v1/welfare/rulesets", "operator")
    await c.call("GET", f"{elder}/eligibility", f"/api/v1/elders/{eid}/eligibility", "family")
    await c.call(
        "PUT",
        f"{elder}/welfare-profile",
        f"/api/v1/elders/{eid}/welfare-profile",
        "operator",
        json={"hukou": "urban"},
    )
    await c.call("GET", f"{elder}/visit-code", f"/api/v1/elders/{eid}/visit-code", "elder")
    await c.call("GET", f"{elder}/door-card", f"/api/v1/elders/{eid}/door-card", "operator")
    b = await book(api, "2026-11-24T09:00:00+08:00", "2026-11-24T11:00:00+08:00")
    await assign(api, b)
    api.clock.advance(hours=30)
    r = await api.call(
        "POST",
        f"/api/v1/bookings/{b['id']}/complete",
        "cg_b",
        json=done("2026-11-24T09:00:00+08:00", "2026-11-24T10:30:00+08:00"),
        expect=201,
    )
    await c.call(
        "POST",
        "/api/v1/service-records/{record_id}/review",
        f"/api/v1/service-records/{r['id']}/review",
        "operator",
        json={"decision": "passed"},
    )
    await c.call(
        "GET", f"{elder}/service-records", f"/api/v1/elders/{eid}/service-records", "family"
    )
    await c.call("GET", f"{elder}/ledger", f"/api/v1/elders/{eid}/ledger", "family")
    await c.call(
        "GET",
        "/api/v1/stations/{station_id}/fraud-signals",
        f"/api/v1/stations/{sid}/fraud-signals",
        "operator",
    )
    a = await c.call(
        "POST",
        f"{elder}/applications",
        f"/api/v1/elders/{eid}/applications",
        "family",
        expect=201,
        json={"rule_id": "dibao"},
    )
    await c.call(
        "POST",
        "/api/v1/applications/{application_id}/decision",
        f"/api/v1/applications/{a['id']}/decision",
        "operator",
        json={"decision": "pass"},
    )
    await c.call("GET", "/api/v1/welfare/review-queue", "/api/v1/welfare/review-queue", "admin")
    await c.call(
        "GET",
        "/api/v1/stations/{station_id}/applications",
        f"/api/v1/stations/{sid}/applications",
        "operator",
    )
    await c.call("GET", "/api/v1/welfare/officers", "/api/v1/welfare/officers", "admin")
    await c.call("GET", "/api/v1/welfare/calendars", "/api/v1/welfare/calendars", "operator")
    await c.call(
        "PUT",
        "/api/v1/welfare/calendars/{year}",
        "/api/v1/welfare/calendars/2027",
        "admin",
        expect=201,
        json={"holidays": ["2027-01-01"]},
    )
    await c.call(
        "GET", f"{elder}/service-addresses", f"/api/v1/elders/{eid}/service-addresses", "family"
    )
    await c.call(
        "POST",
        f"{elder}/hospital-stays",
        f"/api/v1/elders/{eid}/hospital-stays",
        "operator",
        expect=201,
        json={"admitted_at": "2026-11-20T08:00:00+08:00"},
    )
    api.clock.set(api.clock.now().replace(month=12, day=1, hour=3))
    await c.call(
        "POST",
        "/api/v1/districts/{district}/close",
        f"/api/v1/districts/{DISTRICT}/close",
        "admin",
        json={"period": "2026-11"},
    )
    assert c.checked == 19
