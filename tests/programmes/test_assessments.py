"""Capability assessment (GB/T 42195-2022 as a scale file): a draft while items are missing
(not scored, the elder's file unchanged), bad answers refused with nothing written, a scored
result that sets the capability and care level with history, changes the subsidy class a
rule set gives by the assessed level, suggests a plan accepted into recurring bookings, and
schedules the re-assessment (yearly, and a week after a fall)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from server.assessments.scale import scales
from server.assessments.tables import assessments
from server.registry.tables import elders
from server.services.tables import recurrence_rules
from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.support import long_tokens

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

SCALE = scales()["GB/T 42195-2022"]
# the district gives class A (300 yuan a month) to elders assessed severely impaired or worse
RULESET: dict[str, Any] = {
    "district": "朝阳区",
    "version": 1,
    "effective_from": "2026-01-01",
    "classes": {"A": "subsidised", "P": "paid"},
    "default_class": "P",
    "settlement": "monthly",
    "quarter_close": "clear",
    "rules": [
        {
            "id": "severe",
            "class": "A",
            "monthly_quota_fen": 30000,
            "automatic": True,
            "when": {"capability_levels": [3, 4]},
        }
    ],
}


def answers(value: int) -> dict[str, int]:
    """Every item at ``value`` (capped at its maximum)."""
    return {i.code: min(value, i.max) for i in SCALE.items}


async def eligibility(api: Api) -> Any:
    return await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/eligibility", "operator", expect=200
    )


async def test_a_draft_is_not_scored_and_bad_answers_write_nothing(api: Api) -> None:
    long_tokens(api)
    eid = api.ids["elder"]
    partial = dict(list(answers(4).items())[:10])
    draft = await api.call(
        "POST",
        f"/api/v1/elders/{eid}/assessments",
        "cg_a",
        json={"answers": partial, "submit": True},
        expect=201,
    )
    assert (draft["status"], draft["total"], draft["level"]) == ("draft", None, None)
    assert len(draft["missing"]) == len(SCALE.items) - 10
    cap = await api.call("GET", f"/api/v1/elders/{eid}/capability", "operator", expect=200)
    assert (cap["level"], cap["care_level"], cap["history"]) == (None, "半失能", [])
    # out of range, unknown item, unknown flag, unknown scale: 422 and nothing written
    for body, code in (
        ({"answers": {"eating": 5}}, "assessment.bad_answers"),
        ({"answers": {"flying": 1}}, "assessment.bad_answers"),
        ({"flags": ["grumpy"]}, "assessment.unknown_flag"),
        ({"scale": "nope"}, "assessment.unknown_scale"),
        ({"answers": {"eating": 1.5}}, "validation_error"),
    ):
        status, problem = await api.call(
            "POST", f"/api/v1/elders/{eid}/assessments", "operator", json=body
        )
        assert (status, problem["code"]) == (422, code), problem
    async with api.platform.store.read() as conn:
        n = (await conn.execute(select(func.count()).select_from(assessments))).scalar_one()
    assert n == 1
    # the rest of the items, submitted: scored
    done = await api.call(
        "PATCH",
        f"/api/v1/assessments/{draft['id']}",
        "cg_a",
        json={"answers": answers(4), "submit": True},
        expect=200,
    )
    assert (done["status"], done["total"], done["level"]) == ("scored", SCALE.total, 0)
    assert done["care_level"] == "自理" and done["missing"] == []
    status, problem = await api.call(
        "PATCH", f"/api/v1/assessments/{draft['id']}", "cg_a", json={"answers": {"eating": 0}}
    )
    assert (status, problem["code"]) == (409, "assessment_state_conflict")
    # another station cannot see it
    status, _ = await api.call("GET", f"/api/v1/assessments/{draft['id']}", "operator2")
    assert status == 404


async def test_the_assessed_level_changes_the_subsidy_class_and_the_plan(api: Api) -> None:
    long_tokens(api)
    eid, s = api.ids["elder"], api.ids["station"]
    await api.call("POST", "/api/v1/welfare/rulesets", "admin", json=RULESET, expect=201)
    await api.call("POST", f"/api/v1/stations/{s}/service-items/seed", "operator", expect=200)
    assert (await eligibility(api))["funding_class"] == "P"  # never assessed
    able = await api.call(
        "POST",
        f"/api/v1/elders/{eid}/assessments",
        "operator",
        json={"answers": answers(4), "submit": True},
        expect=201,
    )
    assert able["level"] == 0 and (await eligibility(api))["funding_class"] == "P"
    # a year on... no: a fall, and the re-assessment finds her severely impaired
    await api.call(
        "POST",
        f"/api/v1/elders/{eid}/reassessments",
        "operator",
        json={"reason": "fall", "on": "2026-11-23"},
        expect=201,
    )
    low = await api.call(
        "POST",
        f"/api/v1/elders/{eid}/assessments",
        "operator",
        json={"kind": "after_fall", "answers": answers(1), "submit": True},
        expect=201,
    )
    assert (low["level"], low["care_level"]) == (4, "失能")
    assert low["plan"] and all(ln["item_code"] for ln in low["plan"])
    el = await eligibility(api)
    assert (el["funding_class"], el["monthly_quota_fen"]) == ("A", 30000)
    cap = await api.call("GET", f"/api/v1/elders/{eid}/capability", "family", expect=200)
    assert [(h["previous_level"], h["level"]) for h in cap["history"]] == [(None, 0), (0, 4)]
    assert [(r["reason"], r["status"]) for r in cap["reassessments"]] == [
        ("fall", "done"),
        ("yearly", "done"),
        ("yearly", "due"),
    ]
    async with api.platform.store.read() as conn:
        care = (await conn.execute(select(elders.c.care_level).where(elders.c.id == eid))).scalar()
    assert care == "失能"
    # the operator edits the plan and accepts it: recurring rules, weekly and monthly
    plan: dict[str, list[dict[str, Any]]] = {
        "rules": [
            {
                "item_code": "bath-help",
                "weekdays": [1, 4],
                "start": "09:00",
                "end": "11:00",
                "starts_on": "2026-11-24",
            },
            {
                "item_code": "clinic-visit",
                "frequency": "monthly",
                "month_day": 5,
                "start": "09:00",
                "end": "10:00",
                "starts_on": "2026-11-24",
            },
        ]
    }
    bad = {"rules": [plan["rules"][0], {**plan["rules"][1], "item_code": "nothing-such"}]}
    status, _ = await api.call(
        "POST", f"/api/v1/assessments/{able['id']}/plan/accept", "operator", json=bad
    )
    assert status == 404  # an unknown item: nothing written
    async with api.platform.store.read() as conn:
        n = (await conn.execute(select(func.count()).select_from(recurrence_rules))).scalar_one()
    assert n == 0
    acc = await api.call(
        "POST", f"/api/v1/assessments/{low['id']}/plan/accept", "operator", json=plan, expect=201
    )
    assert len(acc["rule_ids"]) == 2
    status, problem = await api.call(
        "POST", f"/api/v1/assessments/{low['id']}/plan/accept", "operator", json=plan
    )
    assert (status, problem["code"]) == (409, "assessment.plan_accepted")
