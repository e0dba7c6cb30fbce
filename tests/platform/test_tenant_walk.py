"""Every operation in the OpenAPI document, called by each role of station 1 against station
2's objects, is refused (issue 12): a new endpoint without a tenant guard fails here. A 404
for another station's object uses the same code as for a missing one."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.conftest import BACKENDS
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

ROLES = ("operator", "cg_a", "elder", "family")
MISSING = "987654"
PLAIN = {  # path parameters that are not objects: a plausible value
    "day": "2026-12-07",
    "month": "2026-11",
    "quarter": "2026Q4",
    "code": "bath",
    "year": "2026",
    "district": "朝阳区",
    "token": "1.forged",
    "path": "x.js",
}
# Operations any signed-in or anonymous caller may use whatever the station, and why.
OPEN = {
    ("post", "/api/v1/hotline/respond/{token}"),  # the token is the credential
    ("get", "/api/v1/hotline/respond/{token}"),
    # The district's red and black lists are published (the seeds: 公示), to anyone.
    ("get", "/api/v1/districts/{district}/provider-lists"),
}


async def _station_two(api: Api) -> dict[str, str]:
    """Objects of station 2: its station, elder, a caregiver, an incident, an alarm and a
    pending binding."""
    cg = await api.call(
        "POST",
        "/api/v1/caregivers",
        "operator2",
        expect=201,
        json={
            "station_id": api.ids["station2"],
            "name": "赵敏",
            "phone": "13700009999",
            "password": "Harbour-light-93",
            "skills": ["first_aid"],
        },
    )
    inc = await api.call(
        "POST",
        "/api/v1/incidents",
        "operator2",
        json={"elder_id": api.ids["elder_s2"], "call_type": "emergency"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    await api.pump()
    board = await api.call("GET", "/api/v1/alarms", "operator2")
    alarm = next((a["id"] for a in (board[1] if isinstance(board[1], list) else [])), MISSING)
    binding = await api.call(
        "POST",
        "/api/v1/bindings",
        "family2",
        expect=201,
        json={"elder_name": "张玉兰", "elder_phone_or_id_last4": "13500000003", "relation": "儿子"},
    )
    return {
        "station_id": str(api.ids["station2"]),
        "elder_id": str(api.ids["elder_s2"]),
        "caregiver_id": str(cg["id"]),
        "incident_id": str(inc[1]["id"])
        if isinstance(inc[1], dict) and "id" in inc[1]
        else MISSING,
        "alarm_id": str(alarm),
        "binding_id": str(binding["id"]),
    }


def _fill(path: str, objects: dict[str, str], missing: bool) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in PLAIN:
            return PLAIN[name]
        return MISSING if missing else objects.get(name, MISSING)

    return re.sub(r"\{(\w+)\}", one, path)


async def test_every_operation_refuses_another_stations_objects(api: Api) -> None:
    doc = await api.call("GET", "/api/openapi.json", expect=200)
    objects = await _station_two(api)
    assert MISSING not in (objects["incident_id"], objects["caregiver_id"]), objects
    walked, leaks, codes = 0, [], []
    for path, ops in sorted(doc["paths"].items()):
        if "{" not in path:
            continue  # nothing of another station named: scoped by the caller's own station
        for method in sorted(ops):
            if method not in ("get", "post", "put", "patch", "delete") or (method, path) in OPEN:
                continue
            for who in ROLES:
                await api.login(who)  # a sign-out walked before must not end the walk
                answers = []
                for missing in (False, True):
                    url = _fill(path, objects, missing)
                    r = await api.client.request(
                        method.upper(),
                        url,
                        json={},
                        headers={**api.h(who), "Idempotency-Key": uuid.uuid4().hex},
                    )
                    body = await r.json(content_type=None) if r.content_length else None
                    answers.append((r.status, body.get("code") if isinstance(body, dict) else None))
                walked += 1
                (theirs, their_code), (gone, gone_code) = answers
                if theirs < 400 or theirs >= 500:
                    leaks.append(f"{who} {method.upper()} {path}: {theirs}")
                elif theirs == 404 and gone == 404 and their_code != gone_code:
                    codes.append(f"{who} {method.upper()} {path}: {their_code} vs {gone_code}")
    assert leaks == []
    assert codes == []
    assert walked > 200
